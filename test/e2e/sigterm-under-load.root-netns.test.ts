// Needs root: network namespaces, cgroups, BPF. A real `bin/podflow run` with
// the ebpf receiver on a cgroup of its own, exporting metrics, flow logs and
// connection spans over OTLP/gRPC to an in-test backend (decoded with the
// official protos), while a client in that cgroup opens ~100 TCP connections
// a second to a server there. SIGTERM in the middle of it:
// - podflow exits 0 within its shutdown timeout;
// - the final export arrives: every connection the client saw closed before
//   the signal is in the flow logs from both sockets, with the kernel's exact
//   byte counts (payload + SYN/FIN sequence bytes), and in the spans; the
//   metrics' byte total equals the flow logs' (same batches, final flush
//   included); nothing dropped or errored;
// - nothing podflow loaded stays in the kernel: none of the programs, links
//   or maps its process held (read from its /proc fdinfo while it ran) is
//   still loaded, nothing is attached to its cgroup, and no pf_* program is
//   new since the snapshot before start without a process or a cgroup holding
//   it (other test files load their own in parallel).

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import t from 'tap';
import { bpfLinks, bpfObjects, cgroupAttachments, describeObject, heldBy, heldByAnyProcess, objectKey } from './support/bpf-objects.ts';
import { createNetPair, NODE } from './support/ebpf-netns.ts';
import { FlakyOtlpBackend } from './support/flaky-otlp-backend.ts';
import { startPodflow, until } from './support/podflow-process.ts';
import { createNodeCgroup } from './support/two-agents.ts';

const net = createNetPair(t, 'sigt', 63);
const node = createNodeCgroup(t, 'pf-sigterm-node');
const PORT = 5063;
const UP = 3000;
const DOWN = 20_000;
const SHUTDOWN_TIMEOUT_S = 10;
const LOAD = new URL('./support/paced-tcp-load.ts', import.meta.url).pathname;

/** The paced client in the node's cgroup and the client namespace (the wrapper joins the cgroup before exec). */
function startLoad(rate: number, conc: number): { proc: ChildProcess; closed: number[]; stopped: Promise<Record<string, unknown>> } {
  const script = 'echo $$ > "$1/cgroup.procs" && shift && exec ip netns exec "$@"';
  const proc = spawn('/bin/sh', ['-c', script, 'sh', node.path, net.client, NODE, LOAD, net.serverV4, String(PORT), String(rate), String(conc), String(UP), String(DOWN)],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  const closed: number[] = [];
  let onStopped: (v: Record<string, unknown>) => void = () => undefined;
  const stopped = new Promise<Record<string, unknown>>((res) => { onStopped = res; });
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    const m = JSON.parse(l) as Record<string, unknown>;
    if (typeof m.closed === 'number') closed.push(m.closed);
    if (m.stopped) onStopped(m);
  });
  return { proc, closed, stopped };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('SIGTERM under load: exit 0, the final export arrives, nothing left in the kernel', async (t) => {
  const backend = new FlakyOtlpBackend('grpc');
  await backend.start();
  t.teardown(() => backend.stop());
  const beforeIds = new Set(bpfObjects().map(objectKey));

  const podflow = startPodflow(t, 'pf-sigterm-', `receivers:
  ebpf: { cgroup_path: ${node.path}, collection_interval: 200ms }
exporters:
  otlp:
    endpoint: http://127.0.0.1:${backend.port}
    temporality: delta
    export_interval: 1s
    shutdown_timeout: ${SHUTDOWN_TIMEOUT_S}s
service:
  telemetry: { metrics: { level: none }, logs: { level: info } }
  pipelines:
    metrics: { receivers: [ebpf], exporters: [otlp] }
    logs: { receivers: [ebpf], exporters: [otlp] }
    traces: { receivers: [ebpf], exporters: [otlp] }
`);
  const exited = new Promise<number | null>((res) => podflow.child.once('exit', (code) => res(code)));
  await until('podflow ready', podflow, async () => (podflow.output().includes('Everything is ready') ? true : undefined), 60_000);
  const pid = podflow.child.pid!;

  const server = node.spawnTraffic(net.server, ['tcp-server', String(PORT), String(UP), String(DOWN)]);
  await server.next();
  const load = startLoad(100, 8);
  await until('connections closing under load', podflow, async () => (load.closed.length >= 50 ? true : undefined), 30_000);
  // Under load for a few export intervals, so exports were already flowing.
  await sleep(2500);

  const heldKeys = heldBy(pid);
  const held = bpfObjects().filter((o) => heldKeys.has(objectKey(o)));
  const attachedHere = cgroupAttachments().filter((a) => a.cgroup.endsWith('/pf-sigterm-node'));
  t.ok(held.some((o) => o.kind === 'prog') && held.some((o) => o.kind === 'link'), `podflow holds programs and links while running (${held.map(describeObject).join(', ')})`);
  t.ok(attachedHere.length > 0, `programs attached to its cgroup (${attachedHere.map((a) => a.name).join(', ')})`);

  const closedBefore = [...load.closed];
  const signalledAt = Date.now();
  podflow.child.kill('SIGTERM');
  const code = await Promise.race([exited, sleep((SHUTDOWN_TIMEOUT_S + 20) * 1000).then(() => 'timeout' as const)]);
  const tookMs = Date.now() - signalledAt;
  const stats = (load.proc.stdin!.write('stop\n'), await load.stopped);
  server.proc.kill();
  if (code !== 0) t.comment(podflow.output());
  t.equal(code, 0, 'exits 0 after SIGTERM');
  t.ok(tookMs < (SHUTDOWN_TIMEOUT_S + 2) * 1000, `within the shutdown timeout (${tookMs} ms)`);
  t.notMatch(podflow.output(), /Dropping data|"level":"error"/, 'nothing dropped, no error logged');
  t.comment(`load: ${closedBefore.length} connections closed before SIGTERM; driver ${JSON.stringify(stats)}`);

  // The final export: every connection closed before the signal, from both sockets, exact.
  const logs = backend.acceptedLogs.flat().filter((l) => l.attributes['server.address'] === net.serverV4 && l.attributes['server.port'] === PORT);
  const byConn = new Map<string, typeof logs>();
  for (const l of logs) {
    const k = `${String(l.attributes['client.port'])} ${String(l.attributes['flow.observer'])}`;
    byConn.set(k, [...(byConn.get(k) ?? []), l]);
  }
  const want = { client: [UP + 2, DOWN + 1], server: [UP + 1, DOWN + 1] } as const;
  const problems: string[] = [];
  for (const p of closedBefore) {
    for (const side of ['client', 'server'] as const) {
      const rs = byConn.get(`${p} ${side}`) ?? [];
      const ended = rs.filter((r) => r.attributes['flow.state'] === 'ended');
      const up = rs.reduce((n, r) => n + Number(r.attributes['flow.bytes.client_to_server']), 0);
      const down = rs.reduce((n, r) => n + Number(r.attributes['flow.bytes.server_to_client']), 0);
      if (ended.length !== 1 || up !== want[side][0] || down !== want[side][1]) {
        problems.push(`port ${p} ${side}: ${ended.length} ended records, ${up}/${down} bytes (want ${want[side].join('/')})`);
      }
    }
  }
  if (problems.length) t.comment(podflow.output().slice(-3000), JSON.stringify(byConn.get(`${closedBefore[closedBefore.length >> 1]} client`)));
  t.same(problems.slice(0, 10), [], `each of the ${closedBefore.length} connections closed before SIGTERM: one ended record per socket with the kernel's bytes (${problems.length} wrong)`);

  const spans = backend.acceptedSpans.flat().filter((s) => s.attributes['server.port'] === PORT);
  const spanKeys = new Set(spans.map((s) => `${String(s.attributes['client.port'])} ${s.kind}`));
  const missingSpans = closedBefore.flatMap((p) => ['SPAN_KIND_CLIENT', 'SPAN_KIND_SERVER'].filter((k) => !spanKeys.has(`${p} ${k}`)).map((k) => `${p} ${k}`));
  t.same(missingSpans.slice(0, 10), [], `a CLIENT and a SERVER span for each (${missingSpans.length} missing)`);

  const addrs = new Set([net.clientV4, net.serverV4]);
  let metricBytes = 0;
  for (const r of backend.accepted) {
    for (const p of r) {
      if (p.metric === 'network.flow.bytes' && (addrs.has(String(p.attributes['source.address'])) || addrs.has(String(p.attributes['destination.address'])))) metricBytes += p.value as number;
    }
  }
  const allLogs = backend.acceptedLogs.flat().filter((l) => addrs.has(String(l.attributes['client.address'])) || addrs.has(String(l.attributes['server.address'])));
  const logBytes = allLogs.reduce((n, l) => n + Number(l.attributes['flow.bytes.client_to_server']) + Number(l.attributes['flow.bytes.server_to_client']), 0);
  t.ok(metricBytes >= closedBefore.length * (2 * UP + 2 * DOWN + 5), `metrics carry at least the closed connections' bytes (${metricBytes})`);
  t.equal(metricBytes, logBytes, 'the metrics\' delta total equals the flow logs\' (both final flushes arrived)');

  // The kernel: nothing of podflow's left.
  await sleep(200); // links go when the last fd closes, right after the process is gone
  const afterIds = new Set(bpfObjects().map(objectKey));
  t.same(held.filter((o) => afterIds.has(objectKey(o))).map(describeObject), [], 'none of the programs, links and maps podflow held is still loaded');
  t.same(cgroupAttachments().filter((a) => a.cgroup.endsWith('/pf-sigterm-node')).map((a) => a.name), [], 'nothing attached to its cgroup');
  // A pf_* program that is new since the start and that no process holds
  // (directly or through a link) would be podflow's, kept by the kernel.
  // Sampled twice: another test's process may be exiting at that moment.
  const strays = () => {
    const live = heldByAnyProcess();
    const objs = bpfObjects();
    // Held through a live process's link, or attached to a cgroup (another test's, legacy attach).
    const linked = new Set<number>(cgroupAttachments().map((a) => a.id));
    for (const l of bpfLinks()) if (live.has(`link ${l.id}`)) linked.add(l.progId);
    return new Set(objs.filter((o) => o.kind === 'prog' && o.name.startsWith('pf_') && !beforeIds.has(objectKey(o))
      && !live.has(objectKey(o)) && !linked.has(o.id)).map(describeObject));
  };
  const first = strays();
  await sleep(500);
  const second = strays();
  t.same([...first].filter((s) => second.has(s)), [], 'no pf_* program beyond the snapshot before start that no process holds');
});
