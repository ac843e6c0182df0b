// Needs root: network namespaces, BPF, and tc netem (or, on kernels built
// without sch_netem, an iptables statistic drop in the server namespace, which
// loses packets the same way a lossy link would). The retransmits podflow
// reports for the connection equal the delta of the kernel's TcpRetransSegs
// counter (nstat) in the client namespace.

import t from 'tap';
import { createNetPair } from './support/ebpf-netns.ts';
import { startReceiver, sum } from './support/ebpf-flows.ts';

const UP = 4 * 1024 * 1024;
const net = createNetPair(t, 'loss', 13);
const h = await startReceiver(t);

function retransSegs(): number {
  const out = net.run(net.client, 'nstat', ['-asz', 'TcpRetransSegs']);
  const m = /TcpRetransSegs\s+(\d+)/.exec(out);
  if (!m) throw new Error(`no TcpRetransSegs in nstat output: ${out}`);
  return Number(m[1]);
}

t.test('retransmits under 3% loss equal the kernel counter', async (t) => {
  const port = 7100;
  // Loss per wire segment, not per offloaded send: with TSO/GSO the 4 MiB
  // leave as ~64 skbs of up to 64 KiB, netem drops whole skbs, and 0.97^64
  // ≈ 14% of runs lost nothing (a CI run saw 0 retransmits). As ~2,900
  // MTU-sized segments, a run without a loss is out of reach (0.97^2900).
  net.run(net.client, 'ethtool', ['-K', 'pfelossc', 'tso', 'off', 'gso', 'off']);
  net.run(net.server, 'ethtool', ['-K', 'pfelosss', 'gro', 'off']);
  try {
    net.run(net.client, 'tc', ['qdisc', 'add', 'dev', 'pfelossc', 'root', 'netem', 'loss', '3%']);
  } catch {
    net.run(net.server, 'iptables', ['-A', 'INPUT', '-p', 'tcp', '--dport', String(port), '-m', 'statistic',
      '--mode', 'random', '--probability', '0.03', '-j', 'DROP']);
  }
  const server = net.spawnTraffic(net.server, ['tcp-server', String(port), String(UP), '0']);
  await server.next();
  const before = retransSegs();
  const client = net.spawnTraffic(net.client, ['tcp-client', net.serverV4, String(port), String(UP), '0']);
  await client.next();
  client.send('close');
  await client.done;
  // The client's FIN may itself be lost and retransmitted: wait until its socket is gone.
  for (let i = 0; i < 100 && net.run(net.client, 'ss', ['-tanH', `( dport = :${port} )`]).split('\n').some((l) => /FIN-WAIT|LAST-ACK|CLOSING|ESTAB/.test(l)); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const delta = retransSegs() - before;
  await h.settle(2);
  const rows = h.flows([net.serverV4]).filter((r) => r.transport === 'tcp' && r.destinationPort === port && r.observer === 'source');
  t.ok(delta > 0, `the kernel retransmitted ${delta} segments`);
  t.equal(sum(rows, 'retransmits'), delta, 'podflow retransmits = nstat TcpRetransSegs delta');
  t.ok(rows.some((r) => r.connectionEnded), 'connection ended');
  server.proc.kill();
});
