// Flow logs and connection spans over the real wire (gRPC, HTTP protobuf, HTTP
// JSON), decoded with protobufjs and the official .proto files
// (support/otlp-signal-sink.ts). Two exporter instances stand for two node
// agents, each fed what its own node's receiver reports for one connection
// (support/connection-views.ts). No root needed: loopback only.

import t from 'tap';
import type { ConsumerComponent, ExporterFactory, Signal } from '../../src/component/component.ts';
import type { Problem } from '../../src/config/schema.ts';
import { otlpGrpcExporterFactory } from '../../src/exporter/otlp_grpc/factory.ts';
import { otlpHttpExporterFactory } from '../../src/exporter/otlp_http/factory.ts';
import { SelfTelemetry } from '../../src/service/telemetry/self-telemetry.ts';
import { CLIENT, nodeBatch, SERVER } from '../exporter/support/connection-views.ts';
import { testSettings } from '../support/test-settings.ts';
import { OtlpSignalSink } from './support/otlp-signal-sink.ts';

const sink = new OtlpSignalSink();
t.before(() => sink.start());
t.teardown(() => sink.stop());

function build<C>(f: ExporterFactory<C>, id: string, signal: Signal, raw: Record<string, unknown>, node: string, telemetry = new SelfTelemetry()): ConsumerComponent {
  const problems: Problem[] = [];
  const config = f.configSchema.decodeOrDefault(raw, ['exporters', id], problems)!;
  problems.push(...(f.validate?.(config) ?? []));
  if (problems.length) throw new Error(problems.map((p) => `${p.path.join('::')}: ${p.message}`).join('\n'));
  const s = testSettings(id, { signal, telemetry });
  return f.create({ ...s, resource: { ...s.resource, nodeName: node, hostName: node } }, config);
}

const T0 = Date.UTC(2026, 0, 1, 12, 0, 30); // mid-bucket: the two nodes' start estimates fall in one 5-minute bucket

t.test('two node agents: CLIENT and SERVER spans of one connection join in one trace (gRPC)', async (t) => {
  const port = 41_100;
  const cfg = { endpoint: `127.0.0.1:${sink.grpcPort}`, tls: { insecure: true } };
  const telemetry = new SelfTelemetry();
  const clientNode = build(otlpGrpcExporterFactory, 'otlp', 'traces', cfg, 'node-a', telemetry);
  const serverNode = build(otlpGrpcExporterFactory, 'otlp', 'traces', cfg, 'node-b');
  await Promise.all([clientNode.start(), serverNode.start()]);
  // Different interval phases on the two nodes: the server node reports 700 ms later.
  await clientNode.consume(nodeBatch('client', T0, [{ clientPort: port }]));
  await serverNode.consume(nodeBatch('server', T0 + 700, [{ clientPort: port }]));
  await Promise.all([clientNode.shutdown(), serverNode.shutdown()]);
  const spans = await sink.waitFor(() => {
    const s = sink.spans.filter((x) => x.attributes['client.port'] === port);
    return s.length === 2 ? s : undefined;
  });
  const client = spans.find((s) => s.kind === 'SPAN_KIND_CLIENT')!;
  const server = spans.find((s) => s.kind === 'SPAN_KIND_SERVER')!;
  t.ok(client && server, 'one CLIENT and one SERVER span');
  t.equal(client.traceId, server.traceId, 'same trace ID');
  t.match(client.traceId, /^[0-9a-f]{32}$/);
  t.not(client.traceId, '0'.repeat(32));
  t.equal(server.parentSpanId, client.spanId, 'the SERVER span is a child of the CLIENT span');
  t.equal(client.parentSpanId, '', 'the CLIENT span is the root');
  t.equal(client.resource['service.name'], CLIENT.workload, 'client resource names its workload');
  t.equal(server.resource['service.name'], SERVER.workload, 'server resource names its workload');
  t.equal(client.resource['k8s.node.name'], 'node-a');
  t.equal(server.resource['k8s.node.name'], 'node-b');
  t.equal(client.attributes['peer.service'], SERVER.workload);
  t.equal(server.attributes['peer.service'], CLIENT.workload);
  for (const s of [client, server]) {
    t.match(s.attributes, {
      'server.address': SERVER.address, 'server.port': SERVER.port, 'client.address': CLIENT.address,
      'network.transport': 'tcp', 'flow.end_reason': 'fin',
    });
    t.equal(s.status, 'STATUS_CODE_UNSET');
    t.equal(s.name, `tcp ${SERVER.workload}:${SERVER.port}`);
  }
  t.equal(client.attributes['destination.original.address'], SERVER.vip, 'the client side keeps the Service VIP it dialled');
  t.equal((client.endNs - client.startNs) / 1e6, 1500, 'span duration is the connection duration');
  t.equal(telemetry.counter('podflow_exporter_sent_spans_total', '').get({ exporter: 'otlp', data_type: 'traces' }), 1);
});

t.test('failed and reset connections are errors; thresholds skip and count', async (t) => {
  const telemetry = new SelfTelemetry();
  const e = build(otlpHttpExporterFactory, 'otlp_http', 'traces', {
    endpoint: `http://127.0.0.1:${sink.httpPort}`, traces: { min_duration: '100ms', min_bytes: 10 },
  }, 'node-a', telemetry);
  await e.start();
  await e.consume(nodeBatch('client', T0, [
    { clientPort: 41_201, failed: true, durationMs: 200 },
    { clientPort: 41_202, resets: 1 },
    { clientPort: 41_203, durationMs: 5 },
    { clientPort: 41_204, bytesUp: 1, bytesDown: 2 },
    { clientPort: 41_205, ended: false },
  ]));
  await e.shutdown();
  const spans = await sink.waitFor(() => {
    const s = sink.spans.filter((x) => Number(x.attributes['client.port']) > 41_200 && Number(x.attributes['client.port']) < 41_300);
    return s.length >= 2 ? s : undefined;
  });
  t.same(spans.map((s) => [s.attributes['client.port'], s.status, s.attributes['flow.end_reason']]).sort(),
    [[41_201, 'STATUS_CODE_ERROR', 'failed_connect'], [41_202, 'STATUS_CODE_ERROR', 'reset']]);
  t.equal(sink.requests.find((r) => r.spans.some((s) => s.attributes['client.port'] === 41_201))!.transport, 'http-proto');
  const skipped = telemetry.counter('podflow_exporter_connections_skipped_total', '');
  t.equal(skipped.get({ exporter: 'otlp_http', data_type: 'traces', reason: 'min_duration' }), 1);
  t.equal(skipped.get({ exporter: 'otlp_http', data_type: 'traces', reason: 'min_bytes' }), 1);
});

t.test('flow logs: one record per ended connection and per interval for open ones, over gRPC and HTTP JSON', async (t) => {
  for (const [factory, id, raw, transport, base] of [
    [otlpGrpcExporterFactory, 'otlp', { endpoint: `http://127.0.0.1:${sink.grpcPort}` }, 'grpc', 42_000],
    [otlpHttpExporterFactory, 'otlp_http', { endpoint: `http://127.0.0.1:${sink.httpPort}`, encoding: 'json' }, 'http-json', 43_000],
  ] as const) {
    const e = build(factory as ExporterFactory<unknown>, id, 'logs', raw, 'node-a');
    await e.start();
    await e.consume(nodeBatch('client', T0, [{ clientPort: base + 1 }, { clientPort: base + 2, ended: false }]));
    await e.consume(nodeBatch('client', T0 + 1000, [{ clientPort: base + 2, ended: false }]));
    await e.shutdown();
    const logs = await sink.waitFor(() => {
      const l = sink.logs.filter((x) => Math.floor(Number(x.attributes['client.port']) / 1000) * 1000 === base);
      return l.length === 3 ? l : undefined;
    });
    t.equal(sink.requests.find((r) => r.logs.some((l) => l.attributes['client.port'] === base + 1))!.transport, transport);
    const ended = logs.find((l) => l.attributes['client.port'] === base + 1)!;
    t.match(ended.attributes, {
      'client.address': CLIENT.address, 'server.address': SERVER.address, 'server.port': SERVER.port,
      'network.transport': 'tcp', 'flow.state': 'ended', 'flow.end_reason': 'fin', 'flow.observer': 'client',
      'flow.bytes.client_to_server': 1200, 'flow.bytes.server_to_client': 48_000,
      'flow.packets.client_to_server': 10, 'flow.packets.server_to_client': 40,
      'flow.retransmits': 1, 'flow.rtt_us': 250, 'flow.duration_ms': 1500,
      'destination.original.address': SERVER.vip, 'destination.original.port': SERVER.vipPort,
      'source.k8s.workload.name': CLIENT.workload, 'destination.k8s.workload.name': SERVER.workload,
      'destination.k8s.service.name': SERVER.service,
    }, `${transport}: attributes`);
    t.equal(ended.resource['service.name'], 'podflow');
    t.equal(ended.timeNs / 1e6, T0, 'timestamp = end of the reporting interval');
    t.match(ended.body, /^tcp 10\.1\.0\.5:\d+ -> 10\.2\.0\.7:8080 fin after 1500 ms/);
    const open = logs.filter((l) => l.attributes['client.port'] === base + 2);
    t.equal(open.length, 2, 'a long-lived connection: one record per interval');
    t.ok(open.every((l) => l.attributes['flow.state'] === 'active' && !('flow.end_reason' in l.attributes)));
  }
});

t.test('logs: min_bytes, sampling_ratio and include_active', async (t) => {
  const telemetry = new SelfTelemetry();
  const e = build(otlpGrpcExporterFactory, 'otlp', 'logs', {
    endpoint: `http://127.0.0.1:${sink.grpcPort}`, logs: { min_bytes: 100, sampling_ratio: 0.5, include_active: false },
  }, 'node-a', telemetry);
  await e.start();
  const conns = Array.from({ length: 200 }, (_, i) => ({ clientPort: 44_000 + i }));
  await e.consume(nodeBatch('client', T0, [...conns, { clientPort: 44_500, bytesUp: 1, bytesDown: 1 }, { clientPort: 44_501, ended: false }]));
  await e.shutdown();
  const skipped = telemetry.counter('podflow_exporter_connections_skipped_total', '');
  const sampledOut = skipped.get({ exporter: 'otlp', data_type: 'logs', reason: 'sampling' });
  t.equal(skipped.get({ exporter: 'otlp', data_type: 'logs', reason: 'min_bytes' }), 1);
  t.equal(skipped.get({ exporter: 'otlp', data_type: 'logs', reason: 'active' }), 1);
  t.ok(sampledOut > 60 && sampledOut < 140, `about half sampled out (${sampledOut} of 200)`);
  const got = await sink.waitFor(() => {
    const l = sink.logs.filter((x) => Number(x.attributes['client.port']) >= 44_000 && Number(x.attributes['client.port']) < 45_000);
    return l.length === 200 - sampledOut ? l : undefined;
  });
  t.equal(got.length + sampledOut, 200);
});
