// Needs root: namespaces, iptables DNAT, conntrack over netlink, BPF.
// The ebpf receiver sees the client's sockets, which name the VIP; with
// `nat: auto` (the default) the receiver itself resolves every batch through the
// NAT join (src/nat), so the rows it emits name the backend that answered, with
// the VIP as original destination — the same resolution the conntrack receiver
// reports for the same connections (matched by client port), and what
// `conntrack -L` holds. Once with the conntrack receiver feeding the join, once
// with the join following the table on its own (no conntrack receiver
// configured); and `nat: off` leaves the VIP in place.

import t, { type Test } from 'tap';
import { ConntrackReceiver } from '../../src/receiver/conntrack/conntrack-receiver.ts';
import { conntrackConfigSchema } from '../../src/receiver/conntrack/config.ts';
import { EbpfReceiver } from '../../src/receiver/ebpf/ebpf-receiver.ts';
import { ebpfConfigSchema } from '../../src/receiver/ebpf/config.ts';
import { readFlow, type FlowRecord } from '../../src/pdata/flow-record.ts';
import { SelfTelemetry } from '../../src/service/telemetry/self-telemetry.ts';
import { CollectingConsumer } from '../support/collecting-consumer.ts';
import { testSettings } from '../support/test-settings.ts';
import { conntrackList, createServiceNet, VIP } from './support/conntrack-netns.ts';

const N = 40;

async function scenario(t: Test, tag: string, n: number, withConntrackReceiver: boolean, snat = false): Promise<void> {
  const net = createServiceNet(t, tag, n);
  if (snat) {
    for (const dev of ['r1', 'r2']) net.run(net.router, 'iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-o', dev, '-j', 'MASQUERADE']);
  }
  const telemetry = new SelfTelemetry();
  let ctSink: CollectingConsumer | undefined;
  let ct: ConntrackReceiver | undefined;
  if (withConntrackReceiver) {
    ctSink = new CollectingConsumer();
    const cfg = conntrackConfigSchema.decodeOrDefault({ netns: net.routerNetns, collection_interval: '1h' }, [], [])!;
    ct = new ConntrackReceiver(testSettings('conntrack', { telemetry }), cfg, ctSink);
    await ct.start();
    t.teardown(() => ct!.shutdown());
  }
  const ebpfSink = new CollectingConsumer();
  const ebpf = new EbpfReceiver(testSettings('ebpf', { telemetry }),
    ebpfConfigSchema.decodeOrDefault({ collection_interval: '200ms', nat_netns: net.routerNetns }, [], [])!, ebpfSink);
  await ebpf.start();
  t.teardown(() => ebpf.shutdown());

  const servers = net.backends.map((b) => net.spawn(b, ['server', b, '8080', '500']));
  for (const s of servers) await s.next();
  const client = net.spawn(net.client, ['client', VIP, '80', String(N), '4']);
  const result = await client.next() as { byBackend: Record<string, number>; failed: number };
  t.equal(result.failed, 0);
  await new Promise((r) => setTimeout(r, 600));
  await ebpf.shutdown(); // its final batch carries every closed socket

  // The rows the ebpf receiver emitted for the client's sockets (which saw the VIP), as emitted.
  const rows: FlowRecord[] = [];
  const replies: FlowRecord[] = [];
  let vipLeft = 0;
  for (const b of ebpfSink.batches) {
    for (let i = 0; i < b.length; i++) {
      const r = readFlow(b, i);
      // Only this test's client: other tests may talk to a VIP of their own at the same time.
      if ((r.sourceAddress === VIP && r.destinationAddress === net.clientAddr)
        || (r.destinationAddress === VIP && r.sourceAddress === net.clientAddr)) vipLeft++;
      if (r.sourceAddress === net.clientAddr && r.sourceIsClient) rows.push(r);
      if (r.destinationAddress === net.clientAddr && r.originalSourceAddress === VIP) replies.push(r);
    }
  }
  t.equal(vipLeft, 0, 'no ebpf row still names the VIP as an endpoint');
  t.ok(replies.length >= N && replies.every((r) => net.backendAddrs.includes(r.sourceAddress) && r.sourcePort === 8080),
    'VIP → client rows of the client sockets became backend → client, VIP kept as original source');
  const clientPorts = new Set(rows.map((r) => r.sourcePort));
  t.equal(clientPorts.size, N, `the ebpf receiver reported all ${N} client sockets`);
  const kernel = new Map(conntrackList(net.router).filter((e) => e.origDst === VIP).map((e) => [e.origSport, e]));
  let mismatches = 0;
  for (const r of rows) {
    const k = kernel.get(r.sourcePort);
    if (r.originalDestinationAddress !== VIP || r.originalDestinationPort !== 80 || r.destinationPort !== 8080
      || r.destinationAddress !== k?.replySrc) mismatches++;
  }
  t.equal(mismatches, 0, 'every ebpf client row: destination = the backend conntrack shows, VIP kept as original');

  if (snat) {
    // The backends' sockets saw the router's masquerade address, not the client.
    const serverRows: FlowRecord[] = [];
    const masq = [`10.213.${n}.17`, `10.213.${n}.33`];
    let unresolved = 0;
    for (const b of ebpfSink.batches) {
      for (let i = 0; i < b.length; i++) {
        const r = readFlow(b, i);
        if (masq.includes(r.sourceAddress) || masq.includes(r.destinationAddress)) unresolved++;
        if (net.backendAddrs.includes(r.sourceAddress) && r.sourcePort === 8080 && r.originalDestinationAddress !== undefined) serverRows.push(r);
      }
    }
    const byReplyPort = new Map([...kernel.values()].map((e) => [e.replyDport, e]));
    t.equal(unresolved, 0, 'no ebpf row still names the masquerade address as an endpoint');
    t.ok(serverRows.length >= N, `server-socket rows resolved (${serverRows.length})`);
    t.ok(serverRows.every((r) => {
      const k = byReplyPort.get(r.originalDestinationPort!);
      return k !== undefined && r.destinationAddress === net.clientAddr && r.destinationPort === k.origSport
        && r.originalDestinationAddress === k.replyDst;
    }), 'backend → masquerade address became backend → real client, masquerade address kept as original destination');
  }

  if (ct && ctSink) {
    await ct.sync();
    const byPort = new Map<number, string>();
    for (const b of ctSink.batches) {
      for (let i = 0; i < b.length; i++) {
        const r = readFlow(b, i);
        if (r.sourceIsClient) byPort.set(r.sourcePort, `${r.destinationAddress}:${r.destinationPort} via ${r.originalDestinationAddress}:${r.originalDestinationPort}`);
      }
    }
    const same = rows.filter((r) => byPort.get(r.sourcePort) === `${r.destinationAddress}:${r.destinationPort} via ${r.originalDestinationAddress}:${r.originalDestinationPort}`);
    t.equal(same.length, rows.length, 'the ebpf and conntrack receivers resolve every connection identically');
  }
  for (const s of servers) s.proc.stdin!.end();
}

t.test('ebpf flows through the NAT join fed by the conntrack receiver', (t) => scenario(t, 'ebj', 14, true));
t.test('ebpf flows through the NAT join with its own conntrack session', (t) => scenario(t, 'ebo', 15, false));
t.test('SNAT: the backends\' sockets resolve to the real client', (t) => scenario(t, 'ebs', 17, false, true));

t.test('nat: off emits the sockets as they saw the connection (VIP as destination)', async (t) => {
  const net = createServiceNet(t, 'ebf', 18, { backends: 1 });
  const sink = new CollectingConsumer();
  const ebpf = new EbpfReceiver(testSettings('ebpf'),
    ebpfConfigSchema.decodeOrDefault({ collection_interval: '1h', nat: 'off', nat_netns: net.routerNetns }, [], [])!, sink);
  await ebpf.start();
  t.teardown(() => ebpf.shutdown());
  const server = net.spawn(net.backends[0]!, ['server', net.backends[0]!, '8080', '500']);
  await server.next();
  const client = net.spawn(net.client, ['client', VIP, '80', '5', '1']);
  t.equal((await client.next() as { failed: number }).failed, 0);
  await new Promise((r) => setTimeout(r, 600)); // the sockets' closes reach the ring buffer
  await ebpf.shutdown();
  const toVip = sink.batches.flatMap((b) => Array.from({ length: b.length }, (_, i) => readFlow(b, i)))
    .filter((r) => r.sourceAddress === net.clientAddr && r.sourceIsClient && r.observer === 'source'); // the client's sockets
  t.equal(new Set(toVip.map((r) => r.sourcePort)).size, 5, 'the 5 client sockets reported');
  t.ok(toVip.every((r) => r.destinationAddress === VIP && r.destinationPort === 80 && r.originalDestinationAddress === undefined),
    'unresolved: VIP:80 is the destination, no original columns');
  server.proc.stdin!.end();
});
