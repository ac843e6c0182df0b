// The two halves of a connection the traces recipe (examples/tempo/README.md)
// describes: with the exporter and traces settings of deploy/overlays/tempo,
// the client's node and the server's node each export their span of one
// connection, and the backend gets one trace: a CLIENT span, and a SERVER span
// whose parent it is, each with its own workload as resource service.name.
// That pairing is what Tempo's service-graph processor and Jaeger's dependency
// view key on. (recipe-metrics.test.ts checks the CLIENT spans of a whole
// bin/podflow run; the synthetic receiver has no sockets, so no SERVER spans.)
// Two exporter instances stand for the two node agents, fed what each node's
// ebpf receiver reports after k8s_attributes (test/exporter/support).
// Loopback only, no root.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { ConsumerComponent, ExporterFactory } from '../../src/component/component.ts';
import type { Problem } from '../../src/config/schema.ts';
import { defaultRegistry } from '../../src/components.ts';
import { CLIENT, nodeBatch, SERVER } from '../exporter/support/connection-views.ts';
import { testSettings } from '../support/test-settings.ts';
import { OtlpSignalSink } from '../e2e/support/otlp-signal-sink.ts';
import { DEPLOY } from './helpers/kustomize.ts';

interface PipelineConfig {
  exporters?: Record<string, Record<string, unknown> | null>;
  service: { pipelines: Record<string, { exporters?: string[] }> };
}

const sink = new OtlpSignalSink();
t.before(() => sink.start());
t.teardown(() => sink.stop());

const overlay = parse(readFileSync(join(DEPLOY, 'overlays/tempo/config.yaml'), 'utf8')) as PipelineConfig;
const traces = Object.entries(overlay.service.pipelines).find(([id]) => id.split('/')[0] === 'traces')?.[1];
const exporterId = traces?.exporters?.[0] ?? '';
const exporterType = exporterId.split('/')[0]!;

/** One node agent's exporter: the overlay's settings, the endpoint pointed at the sink. */
function nodeExporter(node: string): ConsumerComponent {
  const f = defaultRegistry().get('exporter', exporterType) as ExporterFactory<unknown> | undefined;
  if (!f) throw new Error(`no exporter type ${exporterType}`);
  const raw = { ...(overlay.exporters?.[exporterId] ?? {}), endpoint: `http://127.0.0.1:${sink.grpcPort}` };
  const problems: Problem[] = [];
  const config = f.configSchema.decodeOrDefault(raw, ['exporters', exporterId], problems);
  problems.push(...(f.validate?.(config) ?? []));
  if (problems.length) throw new Error(problems.map((p) => `${p.path.join('::')}: ${p.message}`).join('\n'));
  const s = testSettings(exporterId, { signal: 'traces' });
  return f.create({ ...s, resource: { ...s.resource, nodeName: node, hostName: node } }, config);
}

// Mid-bucket: both nodes' start estimates fall in one trace_id_bucket.
const T0 = Date.UTC(2026, 0, 1, 12, 2, 30);

t.test('the tempo overlay exports spans over OTLP/gRPC', async (t) => {
  t.ok(traces, 'the overlay has a traces pipeline');
  t.equal(exporterType, 'otlp_grpc', 'its exporter is otlp_grpc (the sink below speaks gRPC)');
});

t.test('a connection between two podflow nodes is one trace: CLIENT span, SERVER span as its child', async (t) => {
  const clientNode = nodeExporter('node-a');
  const serverNode = nodeExporter('node-b');
  await Promise.all([clientNode.start(), serverNode.start()]);
  const conns = [{ clientPort: 42_001 }, { clientPort: 42_002, resets: 1 }];
  // The server's node reports in a later phase of its own collection interval.
  await clientNode.consume(nodeBatch('client', T0, conns));
  await serverNode.consume(nodeBatch('server', T0 + 4_000, conns));
  await Promise.all([clientNode.shutdown(), serverNode.shutdown()]);
  const spans = await sink.waitFor(() => (sink.spans.length === 4 ? sink.spans : undefined));

  for (const { clientPort, resets } of conns) {
    const mine = spans.filter((s) => s.attributes['client.port'] === clientPort);
    const client = mine.find((s) => s.kind === 'SPAN_KIND_CLIENT');
    const server = mine.find((s) => s.kind === 'SPAN_KIND_SERVER');
    t.ok(client && server, `port ${clientPort}: one CLIENT and one SERVER span`);
    if (!client || !server) continue;
    t.equal(server.traceId, client.traceId, 'one trace');
    t.equal(server.parentSpanId, client.spanId, 'the SERVER span is the child of the CLIENT span');
    t.equal(client.parentSpanId, '', 'the CLIENT span is the root');
    t.equal(client.resource['service.name'], CLIENT.workload, 'CLIENT resource service.name: the client workload');
    t.equal(server.resource['service.name'], SERVER.workload, 'SERVER resource service.name: the server workload');
    t.equal(client.resource['host.name'], 'node-a');
    t.equal(server.resource['host.name'], 'node-b');
    t.equal(client.attributes['peer.service'], SERVER.workload);
    t.equal(server.attributes['peer.service'], CLIENT.workload);
    t.equal(client.attributes['flow.observer'], 'client');
    t.equal(server.attributes['flow.observer'], 'server');
    for (const s of [client, server]) {
      t.equal(s.name, `tcp ${SERVER.workload}:${SERVER.port}`, `${s.kind} name`);
      t.equal(s.status, resets ? 'STATUS_CODE_ERROR' : 'STATUS_CODE_UNSET', `${s.kind} status`);
    }
  }
});
