// The otlp_grpc and otlp_http exporters over the real wire, decoded by an
// independent protobuf implementation with the official .proto files
// (test/e2e/support/otlp-sink.ts). No root needed: loopback only.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { ConsumerComponent, ExporterFactory } from '../../src/component/component.ts';
import type { Problem } from '../../src/config/schema.ts';
import { otlpGrpcExporterFactory } from '../../src/exporter/otlp_grpc/factory.ts';
import { otlpHttpExporterFactory } from '../../src/exporter/otlp_http/factory.ts';
import { syntheticReceiverFactory } from '../../src/receiver/synthetic/factory.ts';
import { generateInterval } from '../../src/receiver/synthetic/generate.ts';
import { COUNTER_COLUMNS, type CounterColumn } from '../../src/pdata/flow-batch.ts';
import { createLogger } from '../../src/service/logger.ts';
import { SelfTelemetry } from '../../src/service/telemetry/self-telemetry.ts';
import { SAMPLE_BYTES, SERIES, sampleBatch } from '../exporter/support/sample-flows.ts';
import { testSettings } from '../support/test-settings.ts';
import { OtlpSink, type HistogramValue, type Point, type ReceivedRequest } from './support/otlp-sink.ts';

const sink = new OtlpSink();
t.before(() => sink.start());
t.teardown(() => sink.stop());

function build<C>(f: ExporterFactory<C>, id: string, raw: Record<string, unknown>, telemetry = new SelfTelemetry(), logLines: string[] = []): ConsumerComponent {
  const problems: Problem[] = [];
  const config = f.configSchema.decodeOrDefault(raw, ['exporters', id], problems)!;
  problems.push(...(f.validate?.(config) ?? []));
  if (problems.length) throw new Error(problems.map((p) => `${p.path.join('::')}: ${p.message}`).join('\n'));
  const logger = createLogger({ level: 'debug', write: (l) => logLines.push(l) });
  return f.create({ ...testSettings(id, { telemetry }), logger }, config);
}

const pointsOf = (r: ReceivedRequest, metric: string, attrs?: Record<string, unknown>): Point[] =>
  r.points.filter((p) => p.metric === metric && (!attrs || Object.entries(attrs).every(([k, v]) => p.attributes[k] === v)));
const total = (r: ReceivedRequest, metric: string) => pointsOf(r, metric).reduce((s, p) => s + (p.value as number), 0);
const hasBytes = (r: ReceivedRequest) => r.points.some((p) => p.metric === 'network.flow.bytes');

t.test('otlp_grpc: cumulative sums and histograms, attributes, resource, headers, final flush', async (t) => {
  const telemetry = new SelfTelemetry();
  const before = sink.requests.length;
  const e = build(otlpGrpcExporterFactory, 'otlp_grpc', {
    endpoint: `127.0.0.1:${sink.grpcPort}`, tls: { insecure: true }, headers: { 'x-tenant': 'team-a' },
    export_interval: '300ms', compression: 'gzip',
  }, telemetry);
  await e.start();
  await e.consume(sampleBatch());
  await sink.waitFor((r) => r.transport === 'grpc' && sink.requests.indexOf(r) >= before && hasBytes(r));
  await e.consume(sampleBatch());
  await e.shutdown();
  const last = sink.requests.filter((r) => r.transport === 'grpc').at(-1)!;
  t.equal(last.headers['x-tenant'], 'team-a', 'headers travel as gRPC metadata');
  t.equal(total(last, 'network.flow.bytes'), 2 * SAMPLE_BYTES, 'final flush on shutdown carries both batches');
  const shopBytes = pointsOf(last, 'network.flow.bytes', SERIES.shop);
  t.equal(shopBytes.length, 1);
  t.same(shopBytes[0]!.attributes, SERIES.shop, 'exactly the documented attributes');
  t.match(shopBytes[0], { unit: 'By', kind: 'sum', temporality: 'cumulative', monotonic: true, value: 3000, scope: 'podflow' });
  t.match(shopBytes[0]!.resource, { 'service.name': 'podflow', 'service.version': '0.0.0-test', 'host.name': 'test-host', 'k8s.node.name': 'test-node' });
  t.same(pointsOf(last, 'network.flow.bytes', SERIES.nat)[0]!.attributes, SERIES.nat);
  t.equal(pointsOf(last, 'network.flow.packets', SERIES.shop)[0]!.unit, '{packet}');
  t.equal(total(last, 'network.flow.packets'), 2 * 17);
  t.equal(pointsOf(last, 'network.flow.tcp.retransmits').length, 1, 'no retransmit series for UDP');
  t.equal(total(last, 'network.flow.tcp.retransmits'), 4);
  t.equal(pointsOf(last, 'network.flow.connections.opened')[0]!.unit, '{connection}');
  t.equal(total(last, 'network.flow.connections.opened'), 4);
  t.equal(total(last, 'network.flow.connections.closed'), 2);
  const rtt = pointsOf(last, 'network.flow.tcp.rtt', SERIES.shop)[0]!;
  t.match(rtt, { unit: 's', kind: 'histogram', temporality: 'cumulative' });
  const h = rtt.value as HistogramValue;
  t.equal(h.count, 4);
  t.ok(Math.abs(h.sum - 0.008) < 1e-12, 'sum in seconds');
  t.equal(h.bucketCounts.length, h.explicitBounds.length + 1);
  t.equal(h.bucketCounts[h.explicitBounds.indexOf(0.0025)], 4);
  t.equal((pointsOf(last, 'network.flow.connection.duration', SERIES.shop)[0]!.value as HistogramValue).sum, 4);
  t.ok(telemetry.counter('podflow_exporter_sent_metric_points_total', '').get({ exporter: 'otlp_grpc' }) > 0, 'sent points counted');
  t.equal(telemetry.counter('podflow_exporter_send_failed_metric_points_total', '').get({ exporter: 'otlp_grpc' }), 0);
});

t.test('otlp_grpc: an export larger than a gRPC server takes goes as several requests, each within max_request_size_mib', async (t) => {
  // The sink's gRPC server keeps grpc-js's default limit: a message over 4 MiB is refused (RESOURCE_EXHAUSTED).
  const problems: Problem[] = [];
  const config = syntheticReceiverFactory.configSchema.decodeOrDefault({ seed: 5, flows_per_interval: 6000, connections_per_second: 200, namespaces: 30, workloads_per_namespace: 15 }, ['receivers', 'synthetic'], problems)!;
  t.same(problems, []);
  const batch = generateInterval(config, 0);
  const telemetry = new SelfTelemetry();
  const before = sink.requests.length;
  const e = build(otlpGrpcExporterFactory, 'otlp_grpc/large', { endpoint: `127.0.0.1:${sink.grpcPort}`, tls: { insecure: true }, export_interval: '1h' }, telemetry);
  await e.start();
  await e.consume(batch);
  await e.shutdown();
  const got = sink.requests.slice(before).filter((r) => r.transport === 'grpc');
  const bytes = got.reduce((n, r) => n + r.bytes, 0);
  t.ok(bytes > 4 * 1024 * 1024, `${(bytes / 2 ** 20).toFixed(1)} MiB of requests: more than one message may hold`);
  t.ok(got.length >= 2 && got.every((r) => r.bytes > 0 && r.bytes <= 4 * 1024 * 1024), `${got.length} requests of ${got.map((r) => (r.bytes / 2 ** 20).toFixed(2)).join(', ')} MiB`);
  const sent = telemetry.counter('podflow_exporter_sent_metric_points_total', '').get({ exporter: 'otlp_grpc/large' });
  t.equal(got.reduce((n, r) => n + r.points.length, 0), sent, 'every point counted as sent arrived');
  t.equal(telemetry.counter('podflow_exporter_send_failed_metric_points_total', '').series().reduce((n, x) => n + x.value, 0), 0, 'nothing failed');
  const want = batch.counters.bytes.subarray(0, batch.length).reduce((a, b) => a + b, 0);
  t.equal(got.reduce((n, r) => n + total(r, 'network.flow.bytes'), 0), want, 'the bytes of every flow, once');
  const series = got.flatMap((r) => pointsOf(r, 'network.flow.bytes').map((p) => JSON.stringify(p.attributes)));
  t.equal(new Set(series).size, series.length, 'no series twice');
});

t.test('otlp_http (protobuf): delta temporality restarts every interval', async (t) => {
  const before = sink.requests.length;
  const e = build(otlpHttpExporterFactory, 'otlp_http', {
    endpoint: `http://127.0.0.1:${sink.httpPort}`, temporality: 'delta', export_interval: '300ms',
  });
  await e.start();
  await e.consume(sampleBatch());
  const first = await sink.waitFor((r) => r.transport === 'http-proto' && sink.requests.indexOf(r) >= before && hasBytes(r));
  await e.consume(sampleBatch());
  await e.consume(sampleBatch());
  await e.shutdown();
  const reqs = sink.requests.slice(before).filter((r) => r.transport === 'http-proto' && hasBytes(r));
  t.equal(total(first, 'network.flow.bytes'), SAMPLE_BYTES, 'first interval: one batch');
  t.equal(reqs.reduce((s, r) => s + total(r, 'network.flow.bytes'), 0), 3 * SAMPLE_BYTES, 'deltas add up to everything consumed');
  const p = pointsOf(first, 'network.flow.bytes', SERIES.shop)[0]!;
  t.match(p, { temporality: 'delta', monotonic: true });
  const second = reqs[1]!;
  t.equal(pointsOf(second, 'network.flow.bytes', SERIES.shop)[0]!.startNs, p.timeNs, 'a delta starts where the previous ended');
});

t.test('otlp_http (json encoding) and metrics_endpoint', async (t) => {
  const before = sink.requests.length;
  const e = build(otlpHttpExporterFactory, 'otlphttp/json', {
    endpoint: 'http://127.0.0.1:1', metrics_endpoint: `http://127.0.0.1:${sink.httpPort}/v1/metrics`, encoding: 'json', export_interval: '10s',
  });
  await e.start();
  await e.consume(sampleBatch());
  await e.shutdown();
  const r = sink.requests.slice(before).find((x) => x.transport === 'http-json');
  t.ok(r, 'a JSON request arrived at metrics_endpoint');
  t.equal(total(r!, 'network.flow.bytes'), SAMPLE_BYTES);
  t.same(pointsOf(r!, 'network.flow.bytes', SERIES.dns)[0]!.attributes, SERIES.dns);
});

t.test('a failing or absent backend is counted and logged, nothing crashes', async (t) => {
  sink.httpStatus = 400;
  t.teardown(() => { sink.httpStatus = 200; });
  const telemetry = new SelfTelemetry();
  const lines: string[] = [];
  const e = build(otlpHttpExporterFactory, 'otlp_http/bad', { endpoint: `http://127.0.0.1:${sink.httpPort}`, export_interval: '10s' }, telemetry, lines);
  await e.start();
  await e.consume(sampleBatch());
  await e.shutdown();
  t.ok(telemetry.counter('podflow_exporter_send_failed_metric_points_total', '').get({ exporter: 'otlp_http/bad', reason: 'non_retryable' }) > 0, 'a 400 is not retried');
  t.equal(telemetry.counter('podflow_exporter_export_errors_total', '').get({ exporter: 'otlp_http/bad', data_type: 'metrics' }), 1);
  const warn = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.level === 'warn');
  t.match(warn, { msg: 'Exporting failed. Dropping data.', error: /backend says no/ }, 'the backend message is logged');
  t.notMatch(String(warn?.error), /\n\s+at /, 'no stack trace');

  const down = build(otlpGrpcExporterFactory, 'otlp/down', {
    endpoint: 'http://127.0.0.1:1', timeout: '300ms', export_interval: '10s', shutdown_timeout: '1s', retry_on_failure: { initial_interval: '100ms' },
  }, telemetry);
  await down.start();
  await down.consume(sampleBatch());
  await down.shutdown();
  t.ok(telemetry.counter('podflow_exporter_send_failed_metric_points_total', '').get({ exporter: 'otlp/down', reason: 'shutdown' }) > 0,
    'gRPC to a closed port is retried (UNAVAILABLE) until shutdown_timeout, then counted');
});

// Part 2: the whole program. `bin/podflow run` with the synthetic receiver (a
// pure function of its seed) exporting to both servers; the final flush on
// SIGTERM must carry exactly what the receiver generated.
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SYNTHETIC = { seed: 7, interval: '50ms', flows_per_interval: 20, connections_per_second: 40, stop_after: 20 };

function expectedTotals(): { sums: Record<CounterColumn, number>; rtt: number; duration: number; bytesByNamespace: Map<string, number> } {
  const problems: Problem[] = [];
  const c = syntheticReceiverFactory.configSchema.decodeOrDefault(SYNTHETIC, ['receivers', 'synthetic'], problems)!;
  const sums = Object.fromEntries(COUNTER_COLUMNS.map((k) => [k, 0])) as Record<CounterColumn, number>;
  let rtt = 0;
  let duration = 0;
  const bytesByNamespace = new Map<string, number>();
  for (let i = 0; i < SYNTHETIC.stop_after; i++) {
    const b = generateInterval(c, i);
    for (let r = 0; r < b.length; r++) {
      for (const k of COUNTER_COLUMNS) sums[k] += b.counters[k][r]!;
      if (b.counters.rttUs[r]! > 0) rtt++;
      if (b.counters.durationMs[r]! > 0) duration++;
      const ns = b.getAttribute(r, 'source.k8s.namespace.name') ?? '';
      bytesByNamespace.set(ns, (bytesByNamespace.get(ns) ?? 0) + b.counters.bytes[r]!);
    }
  }
  return { sums, rtt, duration, bytesByNamespace };
}

t.test('bin/podflow run: synthetic flows arrive exactly over gRPC and HTTP', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-exporter-otlp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'podflow.yaml');
  writeFileSync(file, `receivers:
  synthetic: ${JSON.stringify(SYNTHETIC)}
exporters:
  otlp:
    endpoint: 127.0.0.1:${sink.grpcPort}
    tls: { insecure: true }
    export_interval: 200ms
  otlphttp/json:
    endpoint: http://127.0.0.1:${sink.httpPort}
    encoding: json
    export_interval: 200ms
service:
  telemetry: { metrics: { level: none }, logs: { level: warn } }
  pipelines:
    metrics:
      receivers: [synthetic]
      exporters: [otlp, otlphttp/json]
`);
  const want = expectedTotals();
  t.ok(want.sums.bytes > 0 && want.rtt > 0 && want.sums.failed > 0, 'the synthetic run has bytes, RTT samples and failures');
  const before = sink.requests.length;
  const child = spawn(join(REPO, 'bin/podflow'), ['run', '-c', file], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

  const fresh = (transport: ReceivedRequest['transport']) => (r: ReceivedRequest) =>
    r.transport === transport && sink.requests.indexOf(r) >= before && total(r, 'network.flow.bytes') === want.sums.bytes;
  try {
    await sink.waitFor(fresh('grpc'), 30_000);
    await sink.waitFor(fresh('http-json'), 30_000);
  } catch (e) {
    t.comment(stderr);
    throw e;
  }
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exits 0 after SIGTERM');
  t.notMatch(stderr, /Exporting failed|final export failed|\terror\t|"level":"error"/, 'no failed export or error logged');

  for (const transport of ['grpc', 'http-json'] as const) {
    const last = sink.requests.filter((r) => r.transport === transport && sink.requests.indexOf(r) >= before).at(-1)!;
    const metrics: Array<[string, CounterColumn]> = [
      ['network.flow.bytes', 'bytes'], ['network.flow.packets', 'packets'], ['network.flow.tcp.retransmits', 'retransmits'],
      ['network.flow.tcp.resets', 'resets'], ['network.flow.connections.opened', 'opened'],
      ['network.flow.connections.failed', 'failed'], ['network.flow.connections.closed', 'closed'],
    ];
    for (const [name, col] of metrics) t.equal(total(last, name), want.sums[col], `${transport} final flush: ${name}`);
    const histCount = (name: string) => pointsOf(last, name).reduce((n, p) => n + (p.value as HistogramValue).count, 0);
    const histSum = (name: string) => pointsOf(last, name).reduce((n, p) => n + (p.value as HistogramValue).sum, 0);
    t.equal(histCount('network.flow.tcp.rtt'), want.rtt, `${transport}: one RTT observation per row with a sample`);
    t.ok(Math.abs(histSum('network.flow.tcp.rtt') - want.sums.rttUs / 1e6) < 1e-6, `${transport}: RTT sum in seconds`);
    t.equal(histCount('network.flow.connection.duration'), want.duration);
    for (const [ns, bytes] of want.bytesByNamespace) {
      const got = pointsOf(last, 'network.flow.bytes').filter((p) => (p.attributes['source.k8s.namespace.name'] ?? '') === ns)
        .reduce((n, p) => n + (p.value as number), 0);
      t.equal(got, bytes, `${transport}: bytes from namespace "${ns}"`);
    }
    // Only the server's port is an attribute: destination.port on client → server series,
    // source.port on the replies; the synthetic clients' ports (32768+) never appear.
    const portPoints = pointsOf(last, 'network.flow.bytes');
    t.ok(portPoints.every((p) => ('source.port' in p.attributes) !== ('destination.port' in p.attributes)), 'exactly one port attribute per series');
    t.ok(portPoints.every((p) => Number(p.attributes['source.port'] ?? p.attributes['destination.port']) < 32768), 'never an ephemeral client port');
    t.ok(portPoints.some((p) => 'source.port' in p.attributes), 'reply series carry the server port as source.port');
    t.ok(pointsOf(last, 'network.flow.bytes').some((p) => typeof p.attributes['destination.original.address'] === 'string'), 'NATed series carry the original destination');
    t.equal(pointsOf(last, 'network.flow.bytes')[0]!.resource['service.name'], 'podflow');
  }
});
