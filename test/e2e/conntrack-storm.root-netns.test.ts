// Needs root: namespaces, iptables DNAT, conntrack over netlink.
// An event storm (thousands of short connections per second through the VIP)
// against a deliberately tiny socket buffer: the receiver loses events, counts
// each overflow, resyncs with dumps, stays up, and after the storm its totals
// (connections opened and closed, bytes both ways) equal conntrack's own table.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ConntrackReceiver } from '../../src/receiver/conntrack/conntrack-receiver.ts';
import { conntrackConfigSchema } from '../../src/receiver/conntrack/config.ts';
import { readFlow } from '../../src/pdata/flow-record.ts';
import { SelfTelemetry } from '../../src/service/telemetry/self-telemetry.ts';
import { CollectingConsumer } from '../support/collecting-consumer.ts';
import { testSettings } from '../support/test-settings.ts';
import { conntrackList, createServiceNet, VIP } from './support/conntrack-netns.ts';
import { stormBinary } from './support/conntrack-storm.ts';

t.test('storm with a small buffer: losses counted, resync restores totals', async (t) => {
  const storm = stormBinary();
  const net = createServiceNet(t, 'strm', 12);
  net.run(net.client, 'sysctl', ['-qw', 'net.ipv4.ip_local_port_range=1024 65000']);
  // Under load a few connections end with an RST (a retransmitted FIN meeting a
  // closed socket): conntrack keeps those in CLOSE for only 10 s, and one that
  // expires before the comparison leaves `conntrack -L` with nothing to compare.
  // Keep every entry for the test's duration, so the kernel's table is the whole truth.
  net.run(net.router, 'sysctl', ['-qw', 'net.netfilter.nf_conntrack_tcp_timeout_close=300', 'net.netfilter.nf_conntrack_tcp_timeout_time_wait=300']);
  const telemetry = new SelfTelemetry();
  const sink = new CollectingConsumer();
  const config = conntrackConfigSchema.decodeOrDefault(
    { netns: net.routerNetns, collection_interval: '500ms', dump_interval: '1h', socket_buffer_size: 4096, batch_size: 8 },
    [], [],
  )!;
  const receiver = new ConntrackReceiver(testSettings('conntrack/storm', { telemetry }), config, sink);
  await receiver.start();
  t.teardown(() => receiver.shutdown());
  const rcvbuf = receiver.nativeStats()!.rcvbuf;
  t.ok(rcvbuf <= 16384, `the event socket buffer is tiny (${rcvbuf} bytes)`);

  for (const b of net.backends) {
    const s = net.spawnCmd(b, storm, ['server', '8080']);
    t.same(await s.next(), { listening: true });
  }
  const portsDir = mkdtempSync(join(tmpdir(), 'pf-ct-storm-ports-'));
  t.teardown(() => rmSync(portsDir, { recursive: true, force: true }));
  const portsFile = join(portsDir, 'ports');
  const client = net.spawnCmd(net.client, storm, ['client', VIP, '80', '3', '256', portsFile]);
  const result = await client.next() as { connections: number; failed: number; seconds: number };
  t.comment(`storm: ${result.connections} connections in ${result.seconds}s (${Math.round(result.connections / result.seconds)}/s)`);
  t.ok(result.connections > 2000, 'the storm made thousands of connections');

  await new Promise((r) => setTimeout(r, 1000));
  await receiver.sync();
  const lost = telemetry.counter('podflow_conntrack_lost_total', '').get();
  const resyncs = telemetry.counter('podflow_conntrack_resyncs_total', '').get();
  t.ok(lost > 0, `event losses were counted (${lost} overflows)`);
  t.ok(resyncs > 0, `each loss led to a resync (${resyncs} resync dumps)`);
  t.comment(`dump records left to the events that followed them (contested): ${receiver.nativeStats()!.contested}`);
  t.comment(`events: new=${telemetry.counter('podflow_conntrack_events_total', '').get({ type: 'new' })} ` +
    `update=${telemetry.counter('podflow_conntrack_events_total', '').get({ type: 'update' })} ` +
    `dump=${telemetry.counter('podflow_conntrack_events_total', '').get({ type: 'dump' })}`);

  const ct = conntrackList(net.router).filter((e) => e.origDst === VIP);
  const rows = sink.batches.flatMap((b) => Array.from({ length: b.length }, (_, i) => readFlow(b, i)));
  const fwd = rows.filter((r) => r.sourceIsClient);
  const rev = rows.filter((r) => !r.sourceIsClient);
  const sum = (rs: typeof rows, k: 'bytes' | 'packets' | 'opened' | 'closed' | 'failed') => rs.reduce((a, r) => a + (r.counters?.[k] ?? 0), 0);
  t.comment(`receiver: opened=${sum(fwd, 'opened')} closed=${sum(fwd, 'closed')} failed=${sum(fwd, 'failed')} bytes=${sum(fwd, 'bytes')}/${sum(rev, 'bytes')}; ` +
    `conntrack: entries=${ct.length} bytes=${ct.reduce((a, e) => a + e.origBytes, 0)}/${ct.reduce((a, e) => a + e.replyBytes, 0)}; swept=${telemetry.counter('podflow_conntrack_swept_total', '').get()}`);
  // Every connection conntrack still holds must match it exactly, counter for
  // counter. Under load a few connections end with an RST and the client reuses
  // their port: the new SYN makes conntrack kill the CLOSE entry and create a
  // new one on the same 5-tuple (often in the same memory, hence with the same
  // id). podflow then saw the port opened twice (the old connection, swept or
  // ended, plus the one conntrack lists), so such a port can only be at least
  // conntrack's figure; a port seen once must match exactly.
  const byClientPort = new Map<number, { opened: number; ended: number; up: number; down: number; upPackets: number }>();
  const entry = (port: number) => {
    let e = byClientPort.get(port);
    if (!e) byClientPort.set(port, (e = { opened: 0, ended: 0, up: 0, down: 0, upPackets: 0 }));
    return e;
  };
  for (const r of fwd) {
    const e = entry(r.sourcePort);
    e.opened += r.counters?.opened ?? 0;
    e.ended += (r.counters?.closed ?? 0) + (r.counters?.failed ?? 0);
    e.up += r.counters?.bytes ?? 0;
    e.upPackets += r.counters?.packets ?? 0;
  }
  for (const r of rev) entry(r.destinationPort).down += r.counters?.bytes ?? 0;
  const mismatched = ct.filter((c) => {
    const e = byClientPort.get(c.origSport);
    if (!e) return true;
    const ended = c.state === 'TIME_WAIT' || c.state === 'CLOSE' ? 1 : 0;
    if (e.opened > 1) return e.ended < ended || e.up < c.origBytes || e.down < c.replyBytes || e.upPackets < c.origPackets;
    return e.opened !== 1 || e.ended !== ended || e.up !== c.origBytes || e.down !== c.replyBytes || e.upPackets !== c.origPackets;
  });
  for (const c of mismatched.slice(0, 3)) {
    t.comment(`mismatch: conntrack ${c.origSport} ${c.state} ${c.origPackets}p/${c.origBytes}B ↑ ${c.replyBytes}B ↓; podflow ${JSON.stringify(byClientPort.get(c.origSport))}`);
  }
  // What the client itself did, port by port: podflow may miss a connection
  // whose events were all lost and whose entry a reused port replaced before
  // the resync dump (the kernel keeps no trace of it), but it must never count
  // one connection twice, and a total can hide a double count behind a miss.
  const clientPorts = new Map(readFileSync(portsFile, 'utf8').trim().split('\n').map((l) => {
    const [port, uses] = l.split(' ').map(Number) as [number, number];
    return [port, uses];
  }));
  const overcounted = [...byClientPort].filter(([port, e]) => e.opened > (clientPorts.get(port) ?? 0));
  for (const [port, e] of overcounted.slice(0, 3)) t.comment(`port ${port}: podflow opened ${e.opened}, the client connected ${clientPorts.get(port) ?? 0} times`);
  const missed = [...clientPorts].reduce((a, [port, uses]) => a + Math.max(0, uses - (byClientPort.get(port)?.opened ?? 0)), 0);
  t.comment(`${missed} of the client's connections left no trace in conntrack's events or dumps (all events lost, entry replaced before a dump)`);
  t.equal(overcounted.length, 0, 'no client port counted opened more often than the client connected from it');
  const reusedPorts = ct.filter((c) => (byClientPort.get(c.origSport)?.opened ?? 0) > 1).length;
  const swept = telemetry.counter('podflow_conntrack_swept_total', '').get();
  const destroyEvents = telemetry.counter('podflow_conntrack_events_total', '').get({ type: 'destroy' });
  const reusedKeys = receiver.table.stats.reused;
  t.comment(`${ct.length - reusedPorts} connections matched exactly; ${reusedPorts} client ports reused ` +
    `(old connections: ${swept} swept, ${reusedKeys} keys reused by the kernel, ${destroyEvents} DESTROY events)`);
  t.equal(mismatched.length, 0, `each of the ${ct.length} connections conntrack holds: opened once, ended as conntrack says, bytes and packets exact`);
  t.ok(sum(fwd, 'opened') >= ct.length && sum(fwd, 'opened') <= result.connections,
    `opened ${sum(fwd, 'opened')} lies between conntrack's ${ct.length} entries and the storm's ${result.connections} connections`);
  const ctPorts = new Set(ct.map((c) => c.origSport));
  t.same([...byClientPort.keys()].filter((p) => !ctPorts.has(p)), [], 'every client port podflow reports is one conntrack lists');
  // A connection podflow opened that conntrack no longer lists was replaced by a
  // reused port; podflow must have ended it by one of the three ways it can know.
  t.ok(sum(fwd, 'opened') - ct.length <= swept + reusedKeys + destroyEvents,
    `the ${sum(fwd, 'opened') - ct.length} connections conntrack no longer lists ended by a sweep, a reused key or their DESTROY event`);
  t.ok(fwd.every((r) => r.originalDestinationAddress === VIP && net.backendAddrs.includes(r.destinationAddress)), 'NAT resolved on every row');
  t.equal(telemetry.counter('podflow_conntrack_parse_errors_total', '').get(), 0, 'no malformed messages from the kernel');
});
