// Needs root: network namespaces, BPF, iptables, python3 (raw frames). Packet
// drops (skb:kfree_skb) attributed to their 5-tuple and reason, checked
// against the kernel's own counters, over IPv4 and IPv6:
//  - a clean TCP transfer between the namespaces reports no drops (when the
//    kernel retransmitted, only the duplicates the receiver dropped);
//  - an iptables rule in the server namespace that DROPs one TCP port: the
//    connection attempts' SYNs are drops with reason netfilter_drop from the
//    client to that port, as many packets and bytes as the rule's counters;
//  - UDP datagrams to a closed port: reason no_socket, exactly the number sent
//    (and the namespace's UdpNoPorts / Udp6NoPorts);
//  - ICMP echo requests a rule drops: one row without ports, the rule's counters;
//  - frames no protocol handles: counted per reason without endpoints;
//  - excluded reasons are filtered in the kernel; close() leaves nothing loaded.

import t from 'tap';
import { bpfObjects, heldBy, objectKey } from './support/bpf-objects.ts';
import { createNetPair, NODE } from './support/ebpf-netns.ts';
import { startReceiver, sum } from './support/ebpf-flows.ts';
import { readFlow, type FlowRecord } from '../../src/pdata/flow-record.ts';
import { kernelDropReasons, openDrops, PF_DROP_ENTRY_SIZE, PF_DROP_KEY } from '../../src/native/ebpf-drops.ts';
import { DropReasons } from '../../src/receiver/ebpf/drops/drop-reasons.ts';

const net = createNetPair(t, 'drops', 37);
const h = await startReceiver(t);

const drops = (rows: FlowRecord[]) => rows.filter((r) => (r.counters?.drops ?? 0) > 0);

/** Polls until `done()` (the receiver reports on its own schedule, slower on a busy machine), then one more interval. */
async function until(done: () => boolean, timeoutMs = 15_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !done() && Date.now() < end;) await new Promise((r) => setTimeout(r, 100));
  await h.settle(1);
}

// K connects, each given up after 300 ms: one SYN each (the first
// retransmission would come after 1 s), never answered.
const ATTEMPTS = `
const { connect } = require('node:net');
const [host, port, n] = process.argv.slice(1);
let left = Number(n);
for (let i = 0; i < Number(n); i++) {
  const s = connect({ host, port: Number(port) });
  s.on('error', () => {});
  setTimeout(() => { s.destroy(); if (--left === 0) process.exit(0); }, 300);
}`;

// N datagrams of SIZE bytes from one unconnected socket, paced; prints its port.
const DATAGRAMS = `
const { createSocket } = require('node:dgram');
const [host, port, n, size] = process.argv.slice(1);
const s = createSocket(host.includes(':') ? 'udp6' : 'udp4');
s.bind(0, () => {
  process.stdout.write(String(s.address().port));
  let sent = 0;
  const one = () => s.send(Buffer.alloc(Number(size), 0x61), Number(port), host, () => {
    if (++sent === Number(n)) s.close(); else setTimeout(one, 2);
  });
  one();
});`;

// K raw Ethernet frames of an unhandled ethertype out of DEV, to the peer.
const RAW_FRAMES = `
import socket, sys
dev, k = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
for _ in range(k):
    s.send(b'\\xff' * 6 + b'\\x02\\x00\\x00\\x00\\x00\\x01' + b'\\x88\\xb5' + bytes(46))
`;

// K ICMP / ICMPv6 echo requests to HOST from a raw socket (root; no ping here).
const ECHOES = `
import socket, struct, sys
host, k = sys.argv[1], int(sys.argv[2])
v6 = ':' in host
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
def csum(b):
    n = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    n = (n >> 16) + (n & 0xffff)
    return ~(n + (n >> 16)) & 0xffff
for seq in range(k):
    body = struct.pack('!HH', 0x7064, seq) + bytes(32)
    msg = struct.pack('!BBH', 128 if v6 else 8, 0, 0) + body
    if not v6:  # the kernel fills in the ICMPv6 checksum itself
        msg = struct.pack('!BBH', 8, 0, csum(msg)) + body
    s.sendto(msg, (host, 0))
`;

/** [packets, bytes] of the INPUT rule whose listing contains `marker`, from the kernel's counters. */
function ruleCounters(cmd: 'iptables' | 'ip6tables', marker: string): [number, number] {
  const line = net.run(net.server, cmd, ['-L', 'INPUT', '-vnx']).split('\n').find((l) => l.includes(marker));
  const m = /^\s*(\d+)\s+(\d+)/.exec(line ?? '');
  if (!m) throw new Error(`${cmd}: no INPUT rule with ${marker}`);
  return [Number(m[1]), Number(m[2])];
}

/** A counter of /proc/net/snmp ("Udp", "NoPorts") in a namespace. */
function snmp(ns: string, group: string, name: string): number {
  const lines = net.run(ns, 'cat', ['/proc/net/snmp']).split('\n').filter((l) => l.startsWith(`${group}:`));
  const [names, values] = lines.map((l) => l.split(/\s+/));
  return Number(values![names!.indexOf(name)]);
}

function noPorts(family: 4 | 6): number {
  if (family === 4) return snmp(net.server, 'Udp', 'NoPorts');
  return Number(/^Udp6NoPorts\s+(\d+)/m.exec(net.run(net.server, 'cat', ['/proc/net/snmp6']))![1]);
}

/** The client's veth (the only one in its namespace). */
const clientDev = () => /^\d+:\s*([^@:]+)/.exec(net.run(net.client, 'ip', ['-o', 'link', 'show', 'type', 'veth']))![1]!;

t.test('a clean transfer reports no drops', async (t) => {
  const port = 7301;
  const size = 500_000;
  const retrans = () => snmp(net.client, 'Tcp', 'RetransSegs') + snmp(net.server, 'Tcp', 'RetransSegs');
  const before = retrans();
  const server = net.spawnTraffic(net.server, ['tcp-server', String(port), String(size), String(size)]);
  await server.next();
  const client = net.spawnTraffic(net.client, ['tcp-client', net.serverV4, String(port), String(size), String(size)]);
  await client.next();
  client.send('close');
  await client.next();
  const conn = () => h.flows([net.serverV4]).filter((r) => r.sourcePort === port || r.destinationPort === port);
  await until(() => conn().some((r) => r.connectionEnded));
  const rows = conn();
  t.ok(sum(rows, 'bytes') >= 2 * size, 'the transfer was seen');
  const resent = retrans() - before;
  if (resent === 0) {
    t.same(drops(rows), [], 'no drop rows for the connection');
  } else {
    // A spurious retransmission (a tail-loss probe on a busy machine) is a
    // real drop: the receiver throws the duplicate away.
    t.comment(`the kernel retransmitted ${resent} segments`);
    t.ok(sum(drops(rows), 'drops') <= resent, 'at most one dropped duplicate per retransmitted segment');
    for (const r of drops(rows)) t.match(r.attributes?.['drop.reason'], /^tcp_(old_data|ofomerge)$/, 'a duplicate');
  }
  t.same(drops(h.flows([net.serverV4, net.clientV4])).filter((r) => r.transport === 'udp'), [], 'no UDP drops either');
  server.proc.kill();
});

for (const family of [4, 6] as const) {
  const serverIp = family === 4 ? net.serverV4 : net.serverV6;
  const clientIp = family === 4 ? net.clientV4 : net.clientV6;
  const ipt = family === 4 ? 'iptables' : 'ip6tables';

  t.test(`IPv${family}: an iptables DROP of one TCP port`, async (t) => {
    const port = 7310 + family;
    const rule = ['INPUT', '-p', 'tcp', '--dport', String(port), '-j', 'DROP'];
    net.run(net.server, ipt, ['-A', ...rule]);
    // The namespace goes at teardown with its rules; this keeps the later subtests clean.
    t.teardown(() => { try { net.run(net.server, ipt, ['-D', ...rule]); } catch { /* namespace gone */ } });
    net.run(net.client, NODE, ['-e', ATTEMPTS, serverIp, String(port), '5']);
    const [pkts, bytes] = ruleCounters(ipt, `dpt:${port}`);
    t.ok(pkts >= 5, `the rule dropped every SYN (${pkts})`);
    const rows = () => drops(h.flows([serverIp])).filter((r) => r.destinationPort === port || r.sourcePort === port);
    await until(() => sum(rows(), 'drops') >= pkts);
    for (const r of rows()) {
      t.match(r, {
        transport: 'tcp', sourceAddress: clientIp, destinationAddress: serverIp, destinationPort: port,
        sourceIsClient: true, observer: 'destination', attributes: { 'drop.reason': 'netfilter_drop' },
      }, `${r.sourceAddress}:${r.sourcePort} → ${r.destinationAddress}:${r.destinationPort}`);
    }
    t.equal(sum(rows(), 'drops'), pkts, 'dropped SYNs = the rule\'s packet counter');
    t.equal(sum(rows(), 'dropBytes'), bytes, 'their bytes = the rule\'s byte counter');
    t.equal(new Set(rows().map((r) => r.sourcePort)).size, 5, 'one client port per attempt');
  });

  t.test(`IPv${family}: UDP to a closed port`, async (t) => {
    const N = 40;
    const SIZE = 300;
    const port = 7320 + family;
    const before = noPorts(family);
    const sport = Number(net.run(net.client, NODE, ['-e', DATAGRAMS, serverIp, String(port), String(N), String(SIZE)]));
    t.equal(noPorts(family) - before, N, 'the kernel counted every datagram as NoPorts');
    const rows = () => drops(h.flows([serverIp])).filter((r) => r.destinationPort === port);
    await until(() => sum(rows(), 'drops') >= N);
    t.equal(rows().length, 1, 'one 5-tuple');
    t.match(rows()[0], {
      transport: 'udp', sourceAddress: clientIp, sourcePort: sport, destinationAddress: serverIp, destinationPort: port,
      observer: 'destination', attributes: { 'drop.reason': 'no_socket' },
    });
    t.equal(sum(rows(), 'drops'), N, 'every datagram');
    t.equal(sum(rows(), 'dropBytes'), N * (SIZE + 8), 'the UDP length of each (the IP header was pulled)');
  });

  t.test(`IPv${family}: ICMP echo requests an iptables rule drops`, async (t) => {
    const proto = family === 4 ? 1 : 58;
    const comment = `pf-drops-icmp${family}`;
    const rule = family === 4
      ? ['INPUT', '-p', 'icmp', '--icmp-type', 'echo-request', '-m', 'comment', '--comment', comment, '-j', 'DROP']
      : ['INPUT', '-p', 'ipv6-icmp', '--icmpv6-type', 'echo-request', '-m', 'comment', '--comment', comment, '-j', 'DROP'];
    net.run(net.server, ipt, ['-A', ...rule]);
    t.teardown(() => { try { net.run(net.server, ipt, ['-D', ...rule]); } catch { /* namespace gone */ } });
    net.run(net.client, 'python3', ['-c', ECHOES, serverIp, '4']);
    const [pkts, bytes] = ruleCounters(ipt, comment);
    t.equal(pkts, 4, 'the rule dropped every echo request');
    // FlowRecord has no ICMP transport: read the protocol column itself.
    const rows = () => {
      const out: FlowRecord[] = [];
      for (const b of h.sink.batches) {
        for (let i = 0; i < b.length; i++) {
          if (b.protocol[i] !== proto || b.counters.drops[i] === 0) continue;
          const r = readFlow(b, i);
          if (r.destinationAddress === serverIp) out.push(r);
        }
      }
      return out;
    };
    await until(() => sum(rows(), 'drops') >= pkts);
    t.equal(rows().length, 1, 'one row: ICMP has no ports');
    t.match(rows()[0], {
      sourceAddress: clientIp, sourcePort: 0, destinationAddress: serverIp, destinationPort: 0,
      observer: 'destination', attributes: { 'drop.reason': 'netfilter_drop' },
    });
    t.equal(sum(rows(), 'drops'), pkts, 'dropped echo requests = the rule\'s packet counter');
    t.equal(sum(rows(), 'dropBytes'), bytes, 'their bytes = the rule\'s byte counter');
  });
}

t.test('frames of a protocol nobody handles: counted per reason, without endpoints', async (t) => {
  // Ethertype 0x88b5 (IEEE local experimental) has no handler: the server's
  // kernel drops each frame as unhandled_proto, before any IP header exists.
  const K = 10;
  const count = () => h.telemetry.counter('podflow_ebpf_drops_unattributed_total', '').get({ reason: 'unhandled_proto' });
  const before = count();
  net.run(net.client, 'python3', ['-c', RAW_FRAMES, clientDev(), String(K)]);
  await until(() => count() - before >= K);
  t.ok(count() - before >= K, `podflow_ebpf_drops_unattributed_total{reason="unhandled_proto"} grew by ${count() - before} (>= ${K})`);
});

t.test('excluded reasons are not counted in the kernel', async (t) => {
  // A second instance of the program that leaves out no_socket, next to the
  // receiver's, which counts it.
  const reasons = new DropReasons(kernelDropReasons());
  const noSocket = reasons.value('no_socket');
  t.ok(noSocket !== undefined, 'this kernel names no_socket');
  const before = heldBy(process.pid);
  const excl = openDrops({ mapSize: 1024, includeLoopback: false, exclude: [noSocket!] });
  t.teardown(() => excl.close());
  const own = [...heldBy(process.pid)].filter((k) => !before.has(k));
  t.ok(['prog', 'link', 'map'].every((kind) => own.some((k) => k.startsWith(`${kind} `))), `it holds its program, link and maps (${own.join(', ')})`);
  const port = 7330;
  net.run(net.client, NODE, ['-e', DATAGRAMS, net.serverV4, String(port), '5', '100']);
  net.run(net.client, 'python3', ['-c', RAW_FRAMES, clientDev(), '3']);
  const rows = () => drops(h.flows([net.serverV4])).filter((r) => r.destinationPort === port);
  await until(() => sum(rows(), 'drops') >= 5);
  t.equal(sum(rows(), 'drops'), 5, 'the receiver counted them');
  const buf = excl.readDrops();
  const view = new DataView(buf);
  const ports: number[] = [];
  for (let off = 0; off + PF_DROP_ENTRY_SIZE <= buf.byteLength; off += PF_DROP_ENTRY_SIZE) ports.push(view.getUint16(off + PF_DROP_KEY.dst_port, true));
  t.notOk(ports.includes(port), 'the instance excluding no_socket did not');
  const unhandled = excl.readUnattributed().find((u) => reasons.name(u.reason) === 'unhandled_proto');
  t.ok((unhandled?.packets ?? 0) >= 3, 'while it counted the other drops');
  excl.close();
  const loaded = new Set(bpfObjects().map(objectKey));
  t.same(own.filter((k) => loaded.has(k)), [], 'close() detached and unloaded all of it');
});
