// Needs root: network namespaces, cgroups, BPF. Two real `bin/podflow run`
// agents, each observing only its own "node" (ebpf receiver attached to its own
// cgroup2 directory; the client runs in node-a's cgroup and namespace, the
// server in node-b's), watch one TCP connection between them and export
// connection spans (k8s_attributes fed by a fake API server → otlp), each to
// its own OTLP sink decoding with the official protos. The halves join with no
// coordination: same trace ID, the SERVER span's parent is the CLIENT span,
// both name the workloads.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { FakeKubeApiServer } from '../support/fake-kube-apiserver/server.ts';
import { writeKubeconfig } from '../support/fake-kube-apiserver/kubeconfig.ts';
import { node, pod, service, endpointSlice } from '../support/fake-kube-apiserver/objects.ts';
import { createNetPair } from './support/ebpf-netns.ts';
import { OtlpSignalSink, type SpanOut } from './support/otlp-signal-sink.ts';
import { createNodeCgroup } from './support/two-agents.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const net = createNetPair(t, '2agt', 62);
const nodeA = createNodeCgroup(t, 'pf-2agt-node-a');
const nodeB = createNodeCgroup(t, 'pf-2agt-node-b');

const api = new FakeKubeApiServer();
api.upsert('nodes', node('node-a', '192.168.251.10'));
api.upsert('nodes', node('node-b', '192.168.251.11'));
api.upsert('pods', pod({
  namespace: 'shop', name: 'checkout-6f7c9d8b4-abcde', ip: net.clientV4, node: 'node-a',
  owner: { kind: 'ReplicaSet', name: 'checkout-6f7c9d8b4' }, labels: { 'pod-template-hash': '6f7c9d8b4' },
}));
api.upsert('pods', pod({ namespace: 'shop', name: 'payments-0', ip: net.serverV4, node: 'node-b', owner: { kind: 'StatefulSet', name: 'payments' } }));
api.upsert('services', service('shop', 'payments', '10.96.251.20'));
api.upsert('endpointslices', endpointSlice('shop', 'payments', [net.serverV4]));
await api.start();
t.teardown(() => api.stop());

// One sink per agent: which node exported a span is where it arrived.
const sinks = { 'agent-a': new OtlpSignalSink(), 'agent-b': new OtlpSignalSink() };
for (const sink of Object.values(sinks)) {
  await sink.start();
  t.teardown(() => sink.stop());
}

const dir = mkdtempSync(join(tmpdir(), 'pf-2agt-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const kubeconfig = writeKubeconfig(api.url, api.token, dir);

interface Agent { name: keyof typeof sinks; child: ChildProcess; exited: Promise<number | null>; ready: Promise<void>; stderr: () => string }

/** One node agent: ebpf (its node's cgroup) → k8s_attributes → otlp to its own sink, traces only. */
function startAgent(name: keyof typeof sinks, cgroupPath: string): Agent {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `receivers:
  ebpf: { cgroup_path: ${cgroupPath}, collection_interval: 200ms }
processors:
  k8s_attributes: { auth_type: kubeConfig, kubeconfig_path: ${kubeconfig}, wait_for_metadata: true }
exporters:
  otlp:
    endpoint: http://127.0.0.1:${sinks[name].grpcPort}
    # Every connection of the test is short and small: export them all. The
    # bucket is the default's order; the two start estimates differ by up to
    # one interval, which straddles a boundary for ~interval/bucket of runs.
    traces: { min_duration: 0s, min_bytes: 0, trace_id_bucket: 1h }
service:
  telemetry: { metrics: { level: none }, logs: { level: info } }
  pipelines:
    traces: { receivers: [ebpf], processors: [k8s_attributes], exporters: [otlp] }
`);
  const child = spawn(join(REPO, 'bin/podflow'), ['run', '-c', file], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((res) => { onReady = res; });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.includes('Everything is ready')) onReady();
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { name, child, exited, ready, stderr: () => stderr };
}

const within = <T>(p: Promise<T>, ms: number, what: string) =>
  Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`${what}: not within ${ms} ms`)), ms))]);

t.test('two agents, one per node, export the two halves of one connection as a joined trace', async (t) => {
  const agentA = startAgent('agent-a', nodeA.path);
  const agentB = startAgent('agent-b', nodeB.path);
  try {
    await within(Promise.all([agentA.ready, agentB.ready]), 30_000, 'both agents ready');
  } catch (e) {
    t.comment(agentA.stderr(), agentB.stderr());
    throw e;
  }

  const port = 5062;
  const server = nodeB.spawnTraffic(net.server, ['tcp-server', String(port), '30000', '70000']);
  await server.next();
  const client = nodeA.spawnTraffic(net.client, ['tcp-client', net.serverV4, String(port), '30000', '70000']);
  const done = await client.next();
  // The drivers are in their nodes' cgroups (the wrapper moved them before any socket existed).
  t.match(readFileSync(`/proc/${server.proc.pid}/cgroup`, 'utf8'), /^0::\/pf-2agt-node-b$/m, 'server in node-b cgroup');
  t.match(readFileSync(`/proc/${client.proc.pid}/cgroup`, 'utf8'), /^0::\/pf-2agt-node-a$/m, 'client in node-a cgroup');
  client.send('close');
  t.equal(await client.done, 0, 'client closed the connection and exited');
  const clientPort = Number(done.localPort);

  const ofConn = (s: SpanOut) => s.attributes['client.address'] === net.clientV4 && s.attributes['client.port'] === clientPort &&
    s.attributes['server.address'] === net.serverV4 && s.attributes['server.port'] === port;
  const fromAgent = (agent: keyof typeof sinks) => sinks[agent].spans.filter(ofConn);
  try {
    await sinks['agent-a'].waitFor(() => (fromAgent('agent-a').length > 0 && fromAgent('agent-b').length > 0 ? true : undefined), 15_000);
    // Two more intervals: a duplicate or the other side's span would have arrived by now.
    await new Promise((r) => setTimeout(r, 600));
  } catch (e) {
    for (const [agent, sink] of Object.entries(sinks)) t.comment(agent, JSON.stringify(sink.spans.map((s) => [s.kind, s.attributes, s.resource]), null, 1));
    t.comment(agentA.stderr(), agentB.stderr());
    throw e;
  }
  const a = fromAgent('agent-a');
  const b = fromAgent('agent-b');
  t.same(a.map((s) => s.kind), ['SPAN_KIND_CLIENT'], 'agent A (client node) exported exactly one span, CLIENT');
  t.same(b.map((s) => s.kind), ['SPAN_KIND_SERVER'], 'agent B (server node) exported exactly one span, SERVER');
  const [cs, ss] = [a[0]!, b[0]!];
  t.match(cs.traceId, /^[0-9a-f]{32}$/, 'CLIENT trace ID set');
  t.equal(ss.traceId, cs.traceId, 'same trace ID on both nodes');
  t.equal(ss.parentSpanId, cs.spanId, 'SERVER span\'s parent is the CLIENT span');
  t.not(ss.spanId, cs.spanId, 'distinct span IDs');
  t.equal(cs.parentSpanId, '', 'CLIENT span is the root');
  t.equal(cs.resource['service.name'], 'checkout', 'CLIENT resource service.name = client workload');
  t.equal(cs.attributes['peer.service'], 'payments', 'CLIENT peer.service = server workload');
  t.equal(ss.resource['service.name'], 'payments', 'SERVER resource service.name = server workload');
  t.equal(ss.attributes['peer.service'], 'checkout', 'SERVER peer.service = client workload');
  t.equal(cs.resource['service.namespace'], 'shop', 'CLIENT service.namespace');
  t.equal(ss.resource['service.namespace'], 'shop', 'SERVER service.namespace');
  t.equal(cs.name, `tcp payments:${port}`, 'CLIENT span name');
  t.equal(ss.name, cs.name, 'SERVER span name');
  // flow.bytes.* cover the whole connection (the exporter keeps running totals
  // across intervals): the payload plus the SYN/FIN sequence bytes the kernel counts.
  for (const s of [cs, ss]) {
    const up = Number(s.attributes['flow.bytes.client_to_server']);
    const down = Number(s.attributes['flow.bytes.server_to_client']);
    t.ok(up >= 30000 && up <= 30002 && down >= 70000 && down <= 70002,
      `${s.kind} carries the connection's bytes each way (${up}/${down})`);
  }
  t.equal(cs.status, 'STATUS_CODE_UNSET', 'CLIENT not an error (FIN)');
  t.equal(ss.status, 'STATUS_CODE_UNSET', 'SERVER not an error (FIN)');
  t.equal(cs.attributes['flow.observer'], 'client', 'CLIENT reported by the client socket');
  t.equal(ss.attributes['flow.observer'], 'server', 'SERVER reported by the server socket');
  // Each node saw only its own end: no span of any kind from the other side's socket.
  const allA = sinks['agent-a'].spans;
  const allB = sinks['agent-b'].spans;
  t.notOk(allA.some((s) => s.kind === 'SPAN_KIND_SERVER'), 'agent A exported no SERVER span (it does not see node-b)');
  t.notOk(allB.some((s) => s.kind === 'SPAN_KIND_CLIENT'), 'agent B exported no CLIENT span (it does not see node-a)');

  server.proc.kill();
  agentA.child.kill('SIGTERM');
  agentB.child.kill('SIGTERM');
  t.equal(await within(agentA.exited, 10_000, 'agent A exit'), 0, 'agent A exits 0 on SIGTERM');
  t.equal(await within(agentB.exited, 10_000, 'agent B exit'), 0, 'agent B exits 0 on SIGTERM');
});
