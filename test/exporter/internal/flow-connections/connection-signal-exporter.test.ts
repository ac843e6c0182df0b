import t from 'tap';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { ConnectionSignalExporter, MAX_IN_FLIGHT, MAX_QUEUED, type ItemExporter } from '../../../../src/exporter/internal/flow-connections/connection-signal-exporter.ts';
import { FlowBatch } from '../../../../src/pdata/flow-batch.ts';
import { SelfTelemetry } from '../../../../src/service/telemetry/self-telemetry.ts';
import { testSettings } from '../../../support/test-settings.ts';

/** An exporter whose exports complete when the test says so. */
class Held implements ItemExporter<number> {
  pending: Array<(r: ExportResult) => void> = [];
  shutdowns = 0;
  export(_items: number[], done: (r: ExportResult) => void): void { this.pending.push(done); }
  async shutdown(): Promise<void> { this.shutdowns++; }
}

t.test('in-flight bound, queue, failures and skips are counted; shutdown drains', async (t) => {
  const telemetry = new SelfTelemetry();
  const inner = new Held();
  const e = new ConnectionSignalExporter<number>(testSettings('otlp', { signal: 'traces', telemetry }), {
    item: 'spans', endpoint: 'test',
    builder: { build: (_b, skip) => { skip('min_bytes'); return [1, 2, 3]; } },
    createExporter: () => inner,
  });
  const c = (name: string, labels: Record<string, string> = {}) => telemetry.counter(name, '').get({ exporter: 'otlp', ...labels });
  await e.consume(new FlowBatch());
  t.equal(c('podflow_exporter_send_failed_spans_total'), 3, 'not started: dropped and counted');
  await e.start();
  const n = MAX_IN_FLIGHT + MAX_QUEUED + 1;
  for (let i = 0; i < n; i++) await e.consume(new FlowBatch());
  t.equal(inner.pending.length, MAX_IN_FLIGHT, 'only MAX_IN_FLIGHT exports run at once');
  t.equal(c('podflow_exporter_send_failed_spans_total'), 6, 'the batch over the queue is dropped');
  inner.pending[0]!({ code: ExportResultCode.FAILED, error: new Error('backend says no') });
  await new Promise((r) => setImmediate(r));
  t.equal(inner.pending.length, MAX_IN_FLIGHT + 1, 'a finished export starts a queued one');
  let stopped = false;
  const stopping = e.shutdown().then(() => { stopped = true; });
  // Complete every export, including those started from the queue while draining.
  for (let i = 1; i < MAX_IN_FLIGHT + MAX_QUEUED; i++) {
    while (inner.pending.length <= i) await new Promise((r) => setImmediate(r));
    t.notOk(stopped, 'shutdown waits for the queue');
    inner.pending[i]!({ code: ExportResultCode.SUCCESS });
  }
  await stopping;
  t.equal(inner.shutdowns, 1);
  t.equal(c('podflow_exporter_sent_spans_total'), 3 * (MAX_IN_FLIGHT + MAX_QUEUED - 1));
  t.equal(c('podflow_exporter_send_failed_spans_total'), 9);
  t.equal(c('podflow_exporter_export_errors_total'), 1);
  t.equal(c('podflow_exporter_connections_skipped_total', { reason: 'min_bytes' }), n + 1, 'one skip per consumed batch');
});
