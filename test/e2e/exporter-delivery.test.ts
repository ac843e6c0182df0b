// Delivery guarantees of the OTLP exporters (exporterhelper), for metrics and
// for flow logs and connection spans: a backend that is down and comes back,
// one that throttles with a retry delay, one that is slow (metrics), and a
// queue too small for an outage (loss counted exactly). Real servers on
// loopback, requests decoded with the official protos.

import t from 'tap';
import type { ExporterFactory } from '../../src/component/component.ts';
import type { Problem } from '../../src/config/schema.ts';
import type { PeriodicFlowExporter } from '../../src/exporter/internal/otlp/periodic-flow-exporter.ts';
import { otlpGrpcExporterFactory } from '../../src/exporter/otlp_grpc/factory.ts';
import { otlpHttpExporterFactory } from '../../src/exporter/otlp_http/factory.ts';
import { createLogger } from '../../src/service/logger.ts';
import { SelfTelemetry } from '../../src/service/telemetry/self-telemetry.ts';
import type { ConnectionSignalExporter } from '../../src/exporter/internal/flow-connections/connection-signal-exporter.ts';
import { nodeBatch, SERVER } from '../exporter/support/connection-views.ts';
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
      t.ok(counter(tel, 'podflow_exporter_export_errors_total', { exporter: id, data_type: 'metrics' }) > 0, `${temporality}: exports failed while down`);
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

    backend.mode = { kind: 'partial', rejected: 3, message: 'three points too old' };
    const beforePartial = backend.attempts.length;
    await e.consume(sampleBatch());
    await e.flush();
    await backend.waitFor(() => counter(tel, 'podflow_exporter_rejected_metric_points_total', { exporter: id }) === 3);
    await sleep(300);
    t.equal(backend.attempts.length - beforePartial, 1, 'a partial success is counted (3 rejected points) and not retried');
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

// Logs and traces go through the same exporterhelper. Each batch is one
// request; each connection (distinct client port) is one log record and one
// span, so what arrived is checked by port and by its counters.

function buildSignal<C>(f: ExporterFactory<C>, id: string, signal: 'logs' | 'traces', raw: Record<string, unknown>, telemetry: SelfTelemetry): ConnectionSignalExporter<unknown> {
  const problems: Problem[] = [];
  const config = f.configSchema.decodeOrDefault(raw, ['exporters', id], problems)!;
  problems.push(...(f.validate?.(config) ?? []));
  if (problems.length) throw new Error(problems.map((p) => `${p.path.join('::')}: ${p.message}`).join('\n'));
  return f.create(testSettings(id, { telemetry, signal }), config) as ConnectionSignalExporter<unknown>;
}

const T0 = Date.UTC(2026, 0, 1, 12, 0, 30);
/** Batch i: two ended connections, client ports base + 2i and base + 2i + 1, bytes that name them. */
const connBatch = (base: number, i: number) => nodeBatch('client', T0 + i * 1000, [0, 1].map((k) => {
  const port = base + 2 * i + k;
  return { clientPort: port, bytesUp: port, bytesDown: 2 * port };
}));
const ports = (base: number, batches: number) => Array.from({ length: 2 * batches }, (_, j) => base + j);
const logPorts = (b: FlakyOtlpBackend) => b.acceptedLogs.flat().map((l) => Number(l.attributes['client.port'])).sort((x, y) => x - y);
const spanPorts = (b: FlakyOtlpBackend) => b.acceptedSpans.flat().map((s) => Number(s.attributes['client.port'])).sort((x, y) => x - y);

for (const transport of ['grpc', 'http'] as const) {
  const factory = (transport === 'grpc' ? otlpGrpcExporterFactory : otlpHttpExporterFactory) as ExporterFactory<unknown>;

  t.test(`${transport}: logs and traces, backend down then back: every log record and span arrives, intact`, async (t) => {
    const backend = new FlakyOtlpBackend(transport);
    await backend.start();
    await backend.stop(); // down from the start
    t.teardown(() => backend.stop());
    const tel = new SelfTelemetry();
    const raw = { endpoint: endpointOf(backend), timeout: '1s', retry_on_failure: FAST_RETRY };
    const logs = buildSignal(factory, transport, 'logs', raw, tel);
    const traces = buildSignal(factory, transport, 'traces', raw, tel);
    await Promise.all([logs.start(), traces.start()]);
    const batches = 12;
    for (let i = 0; i < batches; i++) {
      await logs.consume(connBatch(50_000, i));
      await traces.consume(connBatch(50_000, i));
    }
    await sleep(1500);
    const failed = (dt: string) => counter(tel, 'podflow_exporter_export_errors_total', { exporter: transport, data_type: dt });
    t.ok(failed('logs') > 0 && failed('traces') > 0, 'exports failed while down');
    t.equal(backend.acceptedLogs.length + backend.acceptedSpans.length, 0);
    await backend.start();
    await backend.waitFor(() => logPorts(backend).length === 2 * batches && spanPorts(backend).length === 2 * batches);
    await Promise.all([logs.shutdown(), traces.shutdown()]);
    t.same(logPorts(backend), ports(50_000, batches), 'every log record arrived once');
    t.same(spanPorts(backend), ports(50_000, batches), 'every span arrived once');
    for (const r of [...backend.acceptedLogs.flat(), ...backend.acceptedSpans.flat()]) {
      const p = Number(r.attributes['client.port']);
      if (r.attributes['flow.bytes.client_to_server'] !== p || r.attributes['flow.bytes.server_to_client'] !== 2 * p
        || r.attributes['server.address'] !== SERVER.address || r.attributes['flow.end_reason'] !== 'fin') {
        t.fail(`record for port ${p} is not what was consumed: ${JSON.stringify(r.attributes)}`);
      }
    }
    for (const [dt, unit] of [['logs', 'log_records'], ['traces', 'spans']] as const) {
      t.equal(counter(tel, `podflow_exporter_sent_${unit}_total`, { exporter: transport, data_type: dt }), 2 * batches, `${dt}: sent counted`);
      for (const reason of ['queue_full', 'retries_exhausted', 'non_retryable', 'shutdown']) {
        t.equal(counter(tel, `podflow_exporter_send_failed_${unit}_total`, { exporter: transport, data_type: dt, reason }), 0, `${dt}: nothing dropped (${reason})`);
      }
    }
  });

  t.test(`${transport}: logs and traces, a queue too small for the outage; the loss is counted exactly`, async (t) => {
    const backend = new FlakyOtlpBackend(transport);
    await backend.start();
    await backend.stop();
    t.teardown(() => backend.stop());
    const tel = new SelfTelemetry();
    const raw = { endpoint: endpointOf(backend), timeout: '1s', retry_on_failure: FAST_RETRY, sending_queue: { queue_size: 3, num_consumers: 1 } };
    const logs = buildSignal(factory, transport, 'logs', raw, tel);
    const traces = buildSignal(factory, transport, 'traces', raw, tel);
    await Promise.all([logs.start(), traces.start()]);
    const batches = 9;
    for (let i = 0; i < batches; i++) {
      await logs.consume(connBatch(51_000, i));
      await traces.consume(connBatch(51_000, i));
      // The first request is taken by the sender at once (in flight, retrying).
      if (i === 0) await sleep(50);
    }
    t.equal(logs.pending, 4, 'logs: queue_size requests wait, one is in flight');
    t.equal(traces.pending, 4, 'traces: queue_size requests wait, one is in flight');
    await backend.start();
    await backend.waitFor(() => backend.acceptedLogs.length === 4 && backend.acceptedSpans.length === 4);
    const refused = (batches - 4) * 2;
    for (const [dt, unit] of [['logs', 'log_records'], ['traces', 'spans']] as const) {
      const l = { exporter: transport, data_type: dt };
      t.equal(counter(tel, `podflow_exporter_enqueue_failed_${unit}_total`, l), refused, `${dt}: every refused unit counted`);
      t.equal(counter(tel, `podflow_exporter_send_failed_${unit}_total`, { ...l, reason: 'queue_full' }), refused);
      await backend.waitFor(() => counter(tel, `podflow_exporter_sent_${unit}_total`, l) >= 8);
    }
    t.same(logPorts(backend), ports(51_000, 4), 'the log records that fit arrived');
    t.same(spanPorts(backend), ports(51_000, 4), 'the spans that fit arrived');
    await sleep(200);
    t.equal(backend.acceptedLogs.length + backend.acceptedSpans.length, 8, 'nothing more was sent');
    await Promise.all([logs.shutdown(), traces.shutdown()]);
    t.equal(counter(tel, 'podflow_exporter_sent_log_records_total', { exporter: transport, data_type: 'logs' }) + refused, 2 * batches, 'sent + dropped = consumed');
  });

  t.test(`${transport}: logs and traces throttled (${transport === 'grpc' ? 'UNAVAILABLE + RetryInfo' : '503 + Retry-After'}): retried after the server's delay`, async (t) => {
    const backend = new FlakyOtlpBackend(transport);
    await backend.start();
    t.teardown(() => backend.stop());
    backend.mode = { kind: 'throttle', delayMs: 2000 };
    const tel = new SelfTelemetry();
    const raw = { endpoint: endpointOf(backend), retry_on_failure: FAST_RETRY };
    const logs = buildSignal(factory, transport, 'logs', raw, tel);
    const traces = buildSignal(factory, transport, 'traces', raw, tel);
    await Promise.all([logs.start(), traces.start()]);
    await logs.consume(connBatch(52_000, 0));
    await traces.consume(connBatch(52_000, 0));
    await backend.waitFor(() => backend.attempts.length >= 2);
    await sleep(1000);
    t.equal(backend.attempts.length, 2, 'no retry before the server’s delay (backoff alone would retry after ~100 ms)');
    backend.mode = { kind: 'ok' };
    await backend.waitFor(() => backend.acceptedLogs.length === 1 && backend.acceptedSpans.length === 1);
    for (const signal of ['logs', 'traces'] as const) {
      const a = backend.attempts.filter((x) => x.signal === signal);
      t.equal(a.length, 2, `${signal}: one refused attempt, one accepted`);
      const gap = a[1]!.at - a[0]!.at;
      t.ok(gap >= 1900 && gap < 3500, `${signal}: retried after the server's delay (${gap} ms)`);
    }
    t.same(logPorts(backend), ports(52_000, 1));
    t.same(spanPorts(backend), ports(52_000, 1));

    // A partial success: accepted, not retried, the rejected part counted and logged.
    backend.mode = { kind: 'partial', rejected: 1, message: 'one record too old' };
    await logs.consume(connBatch(52_000, 1));
    await traces.consume(connBatch(52_000, 1));
    await backend.waitFor(() => backend.acceptedLogs.length === 2 && backend.acceptedSpans.length === 2);
    for (const [dt, unit] of [['logs', 'log_records'], ['traces', 'spans']] as const) {
      await backend.waitFor(() => counter(tel, `podflow_exporter_rejected_${unit}_total`, { exporter: transport, data_type: dt }) === 1);
      t.equal(counter(tel, `podflow_exporter_sent_${unit}_total`, { exporter: transport, data_type: dt }), 4, `${dt}: the accepted requests count as sent`);
    }
    await sleep(300);
    t.equal(backend.attempts.length, 6, 'a partial success is not retried');
    await Promise.all([logs.shutdown(), traces.shutdown()]);
  });
}
