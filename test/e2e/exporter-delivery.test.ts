// Delivery guarantees of the OTLP metrics exporters (exporterhelper): a backend
// that is down and comes back, one that throttles with a retry delay, one that
// is slow, and a queue too small for an outage (loss counted exactly). Real
// servers on loopback, requests decoded with the official protos.

import t from 'tap';
import type { ExporterFactory } from '../../src/component/component.ts';
import type { Problem } from '../../src/config/schema.ts';
import type { PeriodicFlowExporter } from '../../src/exporter/internal/otlp/periodic-flow-exporter.ts';
import { otlpGrpcExporterFactory } from '../../src/exporter/otlp_grpc/factory.ts';
import { otlpHttpExporterFactory } from '../../src/exporter/otlp_http/factory.ts';
import { createLogger } from '../../src/service/logger.ts';
import { SelfTelemetry } from '../../src/service/telemetry/self-telemetry.ts';
import { SAMPLE_BYTES, sampleBatch } from '../exporter/support/sample-flows.ts';
import { testSettings } from '../support/test-settings.ts';
import { FlakyOtlpBackend } from './support/flaky-otlp-backend.ts';

const FAST_RETRY = { initial_interval: '100ms', max_interval: '400ms', max_elapsed_time: '60s' };

function build<C>(f: ExporterFactory<C>, id: string, raw: Record<string, unknown>, telemetry: SelfTelemetry, lines: string[] = []): PeriodicFlowExporter {
  const problems: Problem[] = [];
  const config = f.configSchema.decodeOrDefault(raw, ['exporters', id], problems)!;
  problems.push(...(f.validate?.(config) ?? []));
  if (problems.length) throw new Error(problems.map((p) => `${p.path.join('::')}: ${p.message}`).join('\n'));
  const logger = createLogger({ level: 'debug', write: (l) => lines.push(l) });
  return f.create({ ...testSettings(id, { telemetry }), logger }, config) as PeriodicFlowExporter;
}

const endpointOf = (b: FlakyOtlpBackend) => `http://127.0.0.1:${b.port}`;
const counter = (tel: SelfTelemetry, name: string, labels: Record<string, string>) => tel.counter(name, '').get(labels);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const transport of ['grpc', 'http'] as const) {
  const factory = transport === 'grpc' ? otlpGrpcExporterFactory : otlpHttpExporterFactory;

  t.test(`${transport}: backend down for 4 s then back; every delta and the cumulative total arrive`, async (t) => {
    for (const temporality of ['delta', 'cumulative'] as const) {
      const backend = new FlakyOtlpBackend(transport);
      await backend.start();
      t.teardown(() => backend.stop());
      const tel = new SelfTelemetry();
      const id = `${transport}/${temporality}`;
      const e = build(factory, id, {
        endpoint: endpointOf(backend), temporality, export_interval: '200ms', timeout: '1s', retry_on_failure: FAST_RETRY,
      }, tel);
      await e.start();
      let consumed = 0;
      const feed = async (ms: number) => {
        for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
          await e.consume(sampleBatch());
          consumed += SAMPLE_BYTES;
        }
      };
      await feed(600);
      await backend.waitFor(() => backend.accepted.length > 0);
      await backend.stop();
      await feed(4000);
      t.ok(counter(tel, 'podflow_exporter_export_errors_total', { exporter: id }) > 0, `${temporality}: exports failed while down`);
      await backend.start();
      await feed(400);
      await e.shutdown();
      if (temporality === 'delta') {
        t.equal(backend.total('network.flow.bytes'), consumed, 'delta: the sum of all delivered deltas is everything consumed');
      } else {
        const last = backend.accepted.at(-1)!;
        t.equal(last.filter((p) => p.metric === 'network.flow.bytes').reduce((n, p) => n + (p.value as number), 0), consumed,
          'cumulative: the last export carries the full total');
      }
      for (const reason of ['queue_full', 'retries_exhausted', 'non_retryable', 'shutdown']) {
        t.equal(counter(tel, 'podflow_exporter_send_failed_metric_points_total', { exporter: id, reason }), 0, `${temporality}: nothing dropped (${reason})`);
      }
    }
  });

  t.test(`${transport}: a queue too small for the outage; the loss is counted exactly`, async (t) => {
    const backend = new FlakyOtlpBackend(transport);
    await backend.start();
    await backend.stop(); // down from the start
    t.teardown(() => backend.stop());
    const tel = new SelfTelemetry();
    const id = `${transport}/small`;
    // A long interval: each flush() below is exactly one collection, one queue item.
    const e = build(factory, id, {
      endpoint: endpointOf(backend), temporality: 'delta', export_interval: '1h', timeout: '1s',
      retry_on_failure: FAST_RETRY, sending_queue: { queue_size: 3 },
    }, tel);
    await e.start();
    const items = 9;
    for (let i = 0; i < items; i++) {
      await e.consume(sampleBatch());
      await e.flush();
      // The first item is taken by the sender at once (in flight, retrying).
      if (i === 0) await sleep(50);
    }
    t.equal(e.pending, 4, 'queue_size items wait, one is in flight');
    await backend.start();
    await backend.waitFor(() => backend.accepted.length === 4);
    // Every item is the same batch, so the same number of points.
    const pointsPerItem = backend.accepted[0]!.length;
    t.ok(pointsPerItem > 0);
    const refused = items - 4;
    t.equal(counter(tel, 'podflow_exporter_enqueue_failed_metric_points_total', { exporter: id }), refused * pointsPerItem, 'enqueue failures: every refused point');
    t.equal(counter(tel, 'podflow_exporter_send_failed_metric_points_total', { exporter: id, reason: 'queue_full' }), refused * pointsPerItem);
    t.equal(backend.total('network.flow.bytes'), 4 * SAMPLE_BYTES, 'what fit in the queue arrives, values intact');
    // The server records a request before the client has read the answer.
    await backend.waitFor(() => counter(tel, 'podflow_exporter_sent_metric_points_total', { exporter: id }) >= 4 * pointsPerItem);
    await sleep(200);
    t.equal(counter(tel, 'podflow_exporter_sent_metric_points_total', { exporter: id }), 4 * pointsPerItem, 'sent: exactly what fit');
    t.equal(backend.accepted.length, 4, 'nothing more was sent');
    await e.shutdown();
  });

  t.test(`${transport}: throttled with a retry delay (${transport === 'grpc' ? 'UNAVAILABLE + RetryInfo' : '503 + Retry-After'}); a permanent error is not retried`, async (t) => {
    const backend = new FlakyOtlpBackend(transport);
    await backend.start();
    t.teardown(() => backend.stop());
    backend.mode = { kind: 'throttle', delayMs: 2000 };
    const tel = new SelfTelemetry();
    const id = `${transport}/throttled`;
    const e = build(factory, id, { endpoint: endpointOf(backend), temporality: 'delta', export_interval: '1h', retry_on_failure: FAST_RETRY }, tel);
    await e.start();
    await e.consume(sampleBatch());
    await e.flush();
    await backend.waitFor(() => backend.attempts.length >= 1);
    await sleep(1000);
    t.equal(backend.attempts.length, 1, 'no retry before the server’s delay (backoff alone would retry after ~100 ms)');
    backend.mode = { kind: 'ok' };
    await backend.waitFor(() => backend.accepted.length === 1);
    const gap = backend.attempts[1]!.at - backend.attempts[0]!.at;
    t.ok(gap >= 1900 && gap < 3500, `retried after the server's delay (${gap} ms)`);
    t.equal(backend.total('network.flow.bytes'), SAMPLE_BYTES);

    backend.mode = { kind: 'reject', httpStatus: 400 };
    const before = backend.attempts.length;
    await e.consume(sampleBatch());
    await e.flush();
    await backend.waitFor(() => counter(tel, 'podflow_exporter_send_failed_metric_points_total', { exporter: id, reason: 'non_retryable' }) > 0);
    await sleep(300);
    t.equal(backend.attempts.length - before, 1, 'a permanent error (INVALID_ARGUMENT / 400) is tried once');
    await e.shutdown();
  });

  t.test(`${transport}: a slow backend (700 ms per request) gets every delta, in order`, async (t) => {
    const backend = new FlakyOtlpBackend(transport);
    await backend.start();
    t.teardown(() => backend.stop());
    backend.mode = { kind: 'slow', delayMs: 700 };
    const tel = new SelfTelemetry();
    const id = `${transport}/slow`;
    const e = build(factory, id, { endpoint: endpointOf(backend), temporality: 'delta', export_interval: '150ms', timeout: '3s', retry_on_failure: FAST_RETRY }, tel);
    await e.start();
    let consumed = 0;
    for (let i = 0; i < 20; i++) {
      await e.consume(sampleBatch());
      consumed += SAMPLE_BYTES;
      await sleep(60);
    }
    t.ok(e.pending > 1, `the queue absorbs the backlog (${e.pending} pending)`);
    await e.shutdown();
    t.equal(backend.total('network.flow.bytes'), consumed, 'shutdown drained the backlog: everything arrived');
    const starts = backend.accepted.map((r) => Math.min(...r.filter((p) => p.metric === 'network.flow.bytes').map((p) => p.startNs)));
    t.same(starts, [...starts].sort((a, b) => a - b), 'deltas arrive in order');
  });
}
