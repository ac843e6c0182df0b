// The logs/traces exporter on the exporterhelper: batches become serialized
// requests on the bounded queue; every unit is sent or dropped once with its
// reason; retries honour the classification; persistence uses a per-signal
// subdirectory of storage_dir; shutdown drains.

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Problem } from '../../../../src/config/schema.ts';
import { object } from '../../../../src/config/schema.ts';
import { ConnectionSignalExporter, type RequestSender } from '../../../../src/exporter/internal/flow-connections/connection-signal-exporter.ts';
import { deliveryFields, type DeliveryConfig } from '../../../../src/exporter/internal/exporterhelper/delivery-config.ts';
import { ExportError } from '../../../../src/exporter/internal/exporterhelper/export-error.ts';
import { FlowBatch } from '../../../../src/pdata/flow-batch.ts';
import { SelfTelemetry } from '../../../../src/service/telemetry/self-telemetry.ts';
import { testSettings } from '../../../support/test-settings.ts';

function delivery(raw: Record<string, unknown>): DeliveryConfig {
  const problems: Problem[] = [];
  const c = object(deliveryFields).decodeOrDefault(raw, ['exporters', 'x'], problems)!;
  if (problems.length) throw new Error(JSON.stringify(problems));
  return c;
}

/** A transport whose sends complete when the test says so. */
class Held implements RequestSender {
  pending: Array<{ body: Uint8Array; ok: (response?: Uint8Array) => void; fail: (e: unknown) => void }> = [];
  closed = 0;
  send(body: Uint8Array): Promise<Uint8Array> {
    return new Promise((res, fail) => this.pending.push({ body, ok: (r = new Uint8Array()) => res(r), fail }));
  }
  classify(e: unknown) {
    return e instanceof ExportError ? { retryable: e.retryable, retryAfterMs: e.retryAfterMs } : { retryable: false };
  }
  close(): void { this.closed++; }
}

const tick = () => new Promise((r) => setTimeout(r, 5));
async function until(p: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !p(); await tick()) if (Date.now() > end) throw new Error('timeout');
}

t.test('queue bound, retries, drop reasons and skips are counted per data_type; shutdown drains', async (t) => {
  const telemetry = new SelfTelemetry();
  const inner = new Held();
  let n = 0;
  const e = new ConnectionSignalExporter<number>(testSettings('otlp', { signal: 'traces', telemetry }), {
    item: 'spans', endpoint: 'test',
    builder: { build: (_b, skip) => { skip('min_bytes'); return [n++, n++, n++]; } },
    serialize: (items) => Uint8Array.from(items),
    rejected: (r) => ({ count: r[0]!, message: 'test' }),
    delivery: delivery({ retry_on_failure: { initial_interval: '10ms', max_interval: '10ms' }, sending_queue: { num_consumers: 1, queue_size: 2 } }),
    createSender: () => inner,
  });
  const labels = { exporter: 'otlp', data_type: 'traces' };
  const c = (name: string, extra: Record<string, string> = {}) => telemetry.counter(name, '').get({ ...labels, ...extra });
  await e.consume(new FlowBatch());
  t.equal(c('podflow_exporter_send_failed_spans_total', { reason: 'shutdown' }), 3, 'not started: dropped and counted');
  await e.start();
  for (let i = 0; i < 4; i++) await e.consume(new FlowBatch());
  await until(() => inner.pending.length === 1);
  t.equal(e.pending, 3, 'one request in flight, queue_size waiting');
  t.equal(c('podflow_exporter_enqueue_failed_spans_total'), 3, 'the request over the queue is refused');
  t.equal(c('podflow_exporter_send_failed_spans_total', { reason: 'queue_full' }), 3);
  t.equal(telemetry.gauge('podflow_exporter_queue_size', '').get(labels), 2);
  t.equal(telemetry.gauge('podflow_exporter_queue_capacity', '').get(labels), 2);
  t.same([...inner.pending[0]!.body], [3, 4, 5], 'the serialized request is what is sent');
  inner.pending[0]!.fail(new ExportError('HTTP 503', true));
  await until(() => inner.pending.length === 2);
  t.same([...inner.pending[1]!.body], [3, 4, 5], 'a retryable failure sends the same bytes again');
  inner.pending[1]!.ok();
  await until(() => inner.pending.length === 3);
  inner.pending[2]!.fail(new ExportError('HTTP 400', false));
  await until(() => inner.pending.length === 4);
  t.equal(c('podflow_exporter_send_failed_spans_total', { reason: 'non_retryable' }), 3);
  const stopping = e.shutdown();
  inner.pending[3]!.ok(Uint8Array.of(2));
  await stopping;
  t.equal(c('podflow_exporter_rejected_spans_total'), 2, 'a partial success: the rejected units are counted');
  t.equal(inner.closed, 1);
  t.equal(c('podflow_exporter_sent_spans_total'), 6);
  t.equal(c('podflow_exporter_export_errors_total'), 2);
  t.equal(telemetry.counter('podflow_exporter_connections_skipped_total', '').get({ ...labels, reason: 'min_bytes' }), 5, 'one skip per consumed batch');
  await e.consume(new FlowBatch());
  t.equal(c('podflow_exporter_send_failed_spans_total', { reason: 'shutdown' }), 6, 'after shutdown: dropped and counted');
});

t.test('a request the serializer cannot encode is dropped as non_retryable', async (t) => {
  const telemetry = new SelfTelemetry();
  const e = new ConnectionSignalExporter<number>(testSettings('otlp_http', { signal: 'logs', telemetry }), {
    item: 'log_records', endpoint: 'test',
    builder: { build: () => [1, 2] },
    serialize: () => { throw new Error('bad'); },
    rejected: () => undefined,
    delivery: delivery({}),
    createSender: () => new Held(),
  });
  await e.start();
  await e.consume(new FlowBatch());
  await e.shutdown();
  t.equal(telemetry.counter('podflow_exporter_send_failed_log_records_total', '').get({ exporter: 'otlp_http', data_type: 'logs', reason: 'non_retryable' }), 2);
});

t.test('storage_dir: each signal persists in its own subdirectory and the next instance sends it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-signal-queue-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const make = (sender: RequestSender, telemetry = new SelfTelemetry()) => new ConnectionSignalExporter<number>(testSettings('otlp', { signal: 'logs', telemetry }), {
    item: 'log_records', endpoint: 'test',
    builder: { build: () => [7, 8] },
    serialize: (items) => Uint8Array.from(items),
    rejected: (r) => ({ count: r[0]!, message: 'test' }),
    delivery: delivery({ sending_queue: { storage_dir: dir }, shutdown_timeout: '50ms' }),
    createSender: () => sender,
  });
  const down = new Held();
  const first = make(down);
  await first.start();
  await first.consume(new FlowBatch());
  await first.consume(new FlowBatch());
  await until(() => down.pending.length >= 1);
  t.equal(readdirSync(join(dir, 'logs')).length, 2, 'two items on disk under storage_dir/logs');
  await first.shutdown();
  t.equal(readdirSync(join(dir, 'logs')).length, 2, 'kept on disk after a shutdown that could not drain');
  writeFileSync(join(dir, 'logs', 'item-9000000000000000.json'), '{"v":1,"count":'); // a corrupt file
  const up = new Held();
  const telemetry = new SelfTelemetry();
  const second = make(up, telemetry);
  await second.start();
  await until(() => up.pending.length === 2);
  t.same(up.pending.map((p) => [...p.body]), [[7, 8], [7, 8]], 'the next run sends the stored bytes');
  for (const p of up.pending) p.ok();
  await second.shutdown();
  t.equal(telemetry.counter('podflow_exporter_sent_log_records_total', '').get({ exporter: 'otlp', data_type: 'logs' }), 4);
  t.equal(telemetry.counter('podflow_exporter_persisted_items_discarded_total', '').get({ exporter: 'otlp', data_type: 'logs' }), 1, 'the unreadable item is removed and counted');
  t.same(readdirSync(join(dir, 'logs')), [], 'delivered items are removed');
});
