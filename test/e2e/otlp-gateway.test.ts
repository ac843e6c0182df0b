// Gateway mode over the real wire: a node agent's otlp exporter → the otlp
// receiver of a gateway → the gateway's exporter gives the same network.flow.*
// sums as the agent exporting straight to the backend; malformed OTLP gets the
// protocol's error status, is counted, and the receiver keeps serving.
// Loopback only, no root.

import { credentials, Client, Metadata, type ServiceError } from '@grpc/grpc-js';
import t from 'tap';
import type { ConsumerComponent, ExporterFactory } from '../../src/component/component.ts';
import type { Problem } from '../../src/config/schema.ts';
import { otlpGrpcExporterFactory } from '../../src/exporter/otlp_grpc/factory.ts';
import { otlpHttpExporterFactory } from '../../src/exporter/otlp_http/factory.ts';
import { appendFlow } from '../../src/pdata/flow-record.ts';
import { otlpReceiverFactory } from '../../src/receiver/otlp/factory.ts';
import type { OtlpReceiver } from '../../src/receiver/otlp/otlp-receiver.ts';
import { RpcStatus } from '../../src/receiver/otlp/otlp-schema.ts';
import { SelfTelemetry } from '../../src/service/telemetry/self-telemetry.ts';
import { sampleBatch } from '../exporter/support/sample-flows.ts';
import { testSettings } from '../support/test-settings.ts';
import { OtlpSink, type Point } from './support/otlp-sink.ts';
import { OtlpSignalSink } from './support/otlp-signal-sink.ts';
import { nodeBatch } from '../exporter/support/connection-views.ts';

const sink = new OtlpSink();
t.before(() => sink.start());
t.teardown(() => sink.stop());

function decode<C>(f: { configSchema: ExporterFactory<C>['configSchema']; validate?: (c: C) => Problem[] }, id: string, raw: Record<string, unknown>): C {
  const problems: Problem[] = [];
  const config = f.configSchema.decodeOrDefault(raw, ['x', id], problems)!;
  problems.push(...(f.validate?.(config) ?? []));
  if (problems.length) throw new Error(problems.map((p) => `${p.path.join('::')}: ${p.message}`).join('\n'));
  return config;
}
const exporter = <C>(f: ExporterFactory<C>, id: string, raw: Record<string, unknown>): ConsumerComponent => f.create(testSettings(id), decode(f, id, raw));

function receiver(next: ConsumerComponent, telemetry = new SelfTelemetry()): OtlpReceiver {
  const c = decode(otlpReceiverFactory, 'otlp', { protocols: { grpc: { endpoint: '127.0.0.1:0' }, http: { endpoint: '127.0.0.1:0' } } });
  return otlpReceiverFactory.create(testSettings('otlp', { telemetry }), c, next) as OtlpReceiver;
}

/** Two intervals, with a reply (server → client) row added to the sample. */
function batches() {
  const one = sampleBatch();
  appendFlow(one, {
    transport: 'tcp', sourceAddress: '10.0.0.2', sourcePort: 8080, destinationAddress: '10.0.0.1', destinationPort: 40001,
    observer: 'destination', counters: { bytes: 7000, packets: 7 }, attributes: { 'source.k8s.namespace.name': 'shop' },
  });
  const two = sampleBatch();
  two.startTimeMs += 10_000;
  two.endTimeMs += 10_000;
  return [one, two];
}

const sums = (points: Point[]) => points.filter((p) => p.kind === 'sum' && p.metric.startsWith('network.flow.'))
  .map((p) => `${p.metric} ${JSON.stringify(Object.entries(p.attributes).sort())} = ${String(p.value)}`).sort();

for (const [agentFactory, agentKey] of [[otlpGrpcExporterFactory, 'grpc'], [otlpHttpExporterFactory, 'http-json']] as const) {
  t.test(`gateway (agent over ${agentKey}) exports the same sums as the agent directly`, async (t) => {
    const tag = `gw-${agentKey}`;
    const gatewayOut = exporter(otlpGrpcExporterFactory, 'otlp', { endpoint: `http://127.0.0.1:${sink.grpcPort}`, headers: { 'x-path': `${tag}-gateway` }, export_interval: '60s' });
    const gw = receiver(gatewayOut);
    await gatewayOut.start();
    await gw.start();
    const direct = exporter(otlpGrpcExporterFactory, 'otlp', { endpoint: `http://127.0.0.1:${sink.grpcPort}`, headers: { 'x-path': `${tag}-direct` }, export_interval: '60s' });
    const toGateway = agentKey === 'grpc'
      ? exporter(otlpGrpcExporterFactory, 'otlp', { endpoint: `http://127.0.0.1:${gw.grpcPort}`, export_interval: '200ms' })
      : exporter(otlpHttpExporterFactory, 'otlp_http', { endpoint: `http://127.0.0.1:${gw.httpPort}`, encoding: 'json', export_interval: '200ms' });
    await direct.start();
    await toGateway.start();
    for (const b of batches()) {
      await direct.consume(b);
      await toGateway.consume(b);
      await new Promise((r) => setTimeout(r, 450)); // at least one cumulative export per interval
    }
    await Promise.all([direct.shutdown(), toGateway.shutdown()]);
    await gw.shutdown();
    await gatewayOut.shutdown();
    const last = (path: string) => sink.requests.filter((r) => r.headers['x-path'] === path).at(-1)!;
    const want = sums(last(`${tag}-direct`).points);
    t.ok(want.length >= 10, `${want.length} sum points`);
    t.same(sums(last(`${tag}-gateway`).points), want);
  });
}

t.test('malformed OTLP: INVALID_ARGUMENT over gRPC, 400 with a Status over HTTP, counted; still serving', async (t) => {
  const telemetry = new SelfTelemetry();
  const got: number[] = [];
  const next = { mutatesData: false, consume: async (b: { length: number }) => { got.push(b.length); }, start: async () => {}, shutdown: async () => {} };
  const gw = receiver(next, telemetry);
  await gw.start();
  t.teardown(() => gw.shutdown());
  const client = new Client(`127.0.0.1:${gw.grpcPort}`, credentials.createInsecure());
  t.teardown(() => client.close());
  const call = (body: Buffer) => new Promise<ServiceError | null>((res) => client.makeUnaryRequest(
    '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export', (b: Buffer) => b, (b: Buffer) => b, body, new Metadata(), (e) => res(e)));
  const e = await call(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]));
  t.equal(e?.code, 3, 'INVALID_ARGUMENT');
  t.match(e?.details, /malformed OTLP metrics request/);
  const post = (type: string, body: string | Buffer, path = '/v1/metrics') => fetch(`http://127.0.0.1:${gw.httpPort}${path}`, { method: 'POST', headers: { 'content-type': type }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const proto = await post('application/x-protobuf', Buffer.from([0x0a, 0x05, 0x01]));
  t.equal(proto.status, 400);
  const st = RpcStatus.toObject(RpcStatus.decode(new Uint8Array(await proto.arrayBuffer()))) as { code: number; message: string };
  t.equal(st.code, 3);
  t.match(st.message, /malformed/);
  const json = await post('application/json', '{"resourceMetrics": 5}');
  t.equal(json.status, 400);
  t.match(await json.json(), { code: 3, message: /malformed/ });
  t.equal((await post('application/json', '{nope')).status, 400);
  t.equal((await post('text/plain', 'x')).status, 415);
  t.equal((await post('application/x-protobuf', Buffer.alloc(0), '/v1/logs')).status, 404, 'no logs pipeline uses this receiver');
  t.equal((await post('application/x-protobuf', Buffer.alloc(0), '/v2/nope')).status, 404, 'unknown path');
  const refused = telemetry.counter('podflow_receiver_refused_requests_total', '');
  t.equal(refused.get({ receiver: 'otlp', transport: 'grpc', reason: 'malformed' }), 1);
  t.equal(refused.get({ receiver: 'otlp', transport: 'http-proto', reason: 'malformed' }), 1);
  t.equal(refused.get({ receiver: 'otlp', transport: 'http-json', reason: 'malformed' }), 2);
  // Still serving: a valid (empty) request is accepted on both.
  t.equal(await call(Buffer.alloc(0)), null);
  t.equal((await post('application/json', '{}')).status, 200);
  t.same(got, [], 'nothing reached the pipeline');
});

t.test('gateway: flow logs and connection spans come out as the agents sent them', async (t) => {
  const signalSink = new OtlpSignalSink();
  await signalSink.start();
  t.teardown(() => signalSink.stop());
  const direct = `http://127.0.0.1:${signalSink.grpcPort}`;
  const mk = (signal: 'logs' | 'traces', endpoint: string, node: string) => {
    const s = testSettings('otlp', { signal });
    return otlpGrpcExporterFactory.create({ ...s, resource: { ...s.resource, nodeName: node } }, decode(otlpGrpcExporterFactory, 'otlp', { endpoint }));
  };
  // The gateway: one receiver, a logs and a traces pipeline, each exporting to the sink with the gateway's resource.
  const gwLogs = mk('logs', direct, 'gateway');
  const gwTraces = mk('traces', direct, 'gateway');
  const c = decode(otlpReceiverFactory, 'otlp', { protocols: { grpc: { endpoint: '127.0.0.1:0' }, http: { endpoint: '127.0.0.1:0' } } });
  const gw = otlpReceiverFactory.create({ ...testSettings('otlp'), consumersBySignal: { logs: gwLogs, traces: gwTraces } }, c, gwLogs) as OtlpReceiver;
  for (const x of [gwLogs, gwTraces, gw]) await x.start();
  // Two agents (client's and server's node), each exporting to the sink directly and to the gateway.
  const T = Date.UTC(2026, 0, 1, 12, 0, 30);
  for (const [node, end] of [['client', T], ['server', T + 700]] as const) {
    const conns = [{ clientPort: 45_001 }, { clientPort: 45_002, resets: 1 }, { clientPort: 45_003, ended: false }];
    for (const signal of ['logs', 'traces'] as const) {
      const toSink = mk(signal, direct, `node-${node}`);
      const toGw = mk(signal, `http://127.0.0.1:${gw.grpcPort}`, `node-${node}`);
      await toSink.start();
      await toGw.start();
      await toSink.consume(nodeBatch(node, end, conns));
      await toGw.consume(nodeBatch(node, end, conns));
      await toSink.shutdown();
      await toGw.shutdown();
    }
  }
  await gw.shutdown();
  await gwLogs.shutdown();
  await gwTraces.shutdown();
  const ours = (a: Record<string, unknown>) => Number(a['client.port']) > 45_000 && Number(a['client.port']) < 45_100;
  const logs = signalSink.logs.filter((l) => ours(l.attributes));
  const spans = signalSink.spans.filter((s) => ours(s.attributes));
  const viaGw = (r: Record<string, unknown>) => r['k8s.node.name'] === 'gateway';
  const logKey = (l: typeof logs[number]) => JSON.stringify([l.body, l.severity, l.timeNs, Object.entries(l.attributes).sort()]);
  const spanKey = (s: typeof spans[number]) => JSON.stringify([s.name, s.kind, s.traceId, s.spanId, s.parentSpanId, s.startNs, s.endNs, s.status, s.resource['service.name'], Object.entries(s.attributes).sort()]);
  const directLogs = logs.filter((l) => !viaGw(l.resource)).map(logKey).sort();
  t.equal(directLogs.length, 6, 'three connections seen from two nodes');
  t.same(logs.filter((l) => viaGw(l.resource)).map(logKey).sort(), directLogs, 'the gateway\'s log records = the agents\'');
  const directSpans = spans.filter((s) => !viaGw(s.resource)).map(spanKey).sort();
  t.equal(directSpans.length, 4, 'two ended connections, CLIENT and SERVER each');
  t.same(spans.filter((s) => viaGw(s.resource)).map(spanKey).sort(), directSpans, 'the gateway\'s spans = the agents\' (same IDs, parents, workloads)');
});
