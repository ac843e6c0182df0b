// Needs root: network namespaces, BPF. Short-lived connections: a burst of
// 10,000 connections, each shorter than the collection interval, all reported
// opened and closed exactly once per socket (their final records come through
// the ring buffer); a connect to a closed port is a failed connection with a
// reset.

import t, { type Test } from 'tap';
import { createNetPair } from './support/ebpf-netns.ts';
import { startReceiver, sum } from './support/ebpf-flows.ts';

const N = 10_000;
const net = createNetPair(t, 'churn', 12);
const h = await startReceiver(t, { collection_interval: 250 });

t.test(`a burst of ${N} short connections`, async (t) => {
  const port = 7000;
  const server = net.spawnTraffic(net.server, ['burst-server', String(port)]);
  await server.next();
  const client = net.spawnTraffic(net.client, ['burst', net.serverV4, String(port), String(N), '64']);
  const done = await client.next();
  t.equal(done.failed, 0, `the client completed ${N} connections (${String(done.ms)} ms)`);
  await h.settle(3);
  const rows = h.flows([net.serverV4]).filter((r) => r.transport === 'tcp'
    && (r.destinationPort === port || r.sourcePort === port));
  // Client sockets report client→server as its source; server sockets as its destination.
  const c2sBySource = rows.filter((r) => r.destinationPort === port && r.observer === 'source');
  const c2sByDest = rows.filter((r) => r.destinationPort === port && r.observer === 'destination');
  t.equal(sum(c2sBySource, 'opened'), N, 'client sockets: opened');
  t.equal(sum(c2sBySource, 'closed'), N, 'client sockets: closed');
  t.equal(sum(c2sBySource, 'failed'), 0, 'client sockets: none failed');
  t.equal(sum(c2sByDest, 'opened'), N, 'server sockets: opened');
  t.equal(sum(c2sByDest, 'closed'), N, 'server sockets: closed');
  t.equal(c2sBySource.filter((r) => r.connectionEnded).length, N, 'one ended record per client socket');
  t.equal(h.telemetry.counter('podflow_ebpf_ringbuf_lost_total', '').get(), 0, 'no ring-buffer loss');
  t.equal(h.telemetry.counter('podflow_ebpf_map_full_total', '').get({ map: 'pf_conns' }), 0, 'pf_conns never full');
  server.proc.kill();
});

t.test('a ring buffer too small for the burst loses nothing', async (t) => {
  // 4 KiB holds 36 final records: most of the burst overflows it. The
  // overflowing sockets keep their final counters in the map (flagged) and are
  // reported from there; the loss of the ring-buffer path is counted.
  const n = 2000;
  const { rx: small, c2s, server } = await burst(t, { collection_interval: 250, ring_buffer_size: 4096 }, 7001, n, 3);
  t.equal(sum(c2s, 'opened'), n, 'opened');
  t.equal(sum(c2s, 'closed'), n, 'closed');
  t.ok(small.telemetry.counter('podflow_ebpf_ringbuf_lost_total', '').get() > 0, 'ring-buffer overflow counted');
  await small.receiver.shutdown();
  server.proc.kill();
});

t.test('a burst that fills half the ring buffer between two collections wakes the poll thread', async (t) => {
  // Final records wait in the ring buffer for the next collection, which
  // takes them; only a buffer half full wakes the poll thread to empty it. 64
  // KiB hold 546 records (112 bytes + an 8-byte header): 3000 connections
  // make 6000 within a 2 s interval, so without that wake-up most would
  // overflow (and be counted as ring-buffer loss).
  const n = 3000;
  const { rx: rb, c2s, server } = await burst(t, { collection_interval: 2000, ring_buffer_size: 65536 }, 7003, n, 2);
  t.equal(sum(c2s, 'opened'), n, 'opened');
  t.equal(sum(c2s, 'closed'), n, 'closed');
  t.equal(rb.telemetry.counter('podflow_ebpf_ringbuf_lost_total', '').get(), 0, 'nothing overflowed the ring buffer');
  await rb.receiver.shutdown();
  server.proc.kill();
});

t.test('a full connection map: what is not tracked is counted', async (t) => {
  const tiny = await startReceiver(t, { collection_interval: 250, conn_map_size: 64 });
  const port = 7002;
  const n = 500;
  const server = net.spawnTraffic(net.server, ['burst-server', String(port)]);
  await server.next();
  const client = net.spawnTraffic(net.client, ['burst', net.serverV4, String(port), String(n), '64']);
  t.equal((await client.next()).failed, 0);
  await tiny.settle(2);
  const rows = tiny.flows([net.serverV4]).filter((r) => r.transport === 'tcp' && r.destinationPort === port);
  // Each connection has two local sockets; every socket is either reported or counted as not tracked.
  const reported = sum(rows.filter((r) => r.observer === 'source'), 'opened') + sum(rows.filter((r) => r.observer === 'destination'), 'opened');
  const full = tiny.telemetry.counter('podflow_ebpf_map_full_total', '').get({ map: 'pf_conns' });
  t.ok(full > 0, `${full} sockets not tracked were counted`);
  t.ok(reported < 2 * n, `${reported} of ${2 * n} sockets reported`);
  t.equal(reported + full, 2 * n, 'reported + counted as not tracked = every socket, once');
  await tiny.receiver.shutdown();
  server.proc.kill();
});

t.test('connect to a closed port: failed and reset', async (t) => {
  const client = net.spawnTraffic(net.client, ['connect', net.serverV4, '9']);
  const res = await client.next();
  t.equal(res.error, 'ECONNREFUSED', 'the client saw the refusal');
  await h.settle(2);
  const rows = h.flows([net.serverV4]).filter((r) => r.transport === 'tcp' && r.destinationPort === 9);
  const c2s = rows.filter((r) => r.observer === 'source' && r.sourceIsClient);
  t.equal(sum(c2s, 'failed'), 1, 'one failed connection');
  t.equal(sum(c2s, 'opened'), 0, 'not opened');
  t.equal(sum(c2s, 'closed'), 0, 'not counted as closed');
  t.equal(sum(c2s, 'resets'), 1, 'the reset received is counted');
  t.ok(c2s.some((r) => r.connectionEnded), 'flagged ended');
});

t.test('connects that fail before the SYN (no free local port): failed, once each', async (t) => {
  // SYN_SENT → CLOSE inside connect() (EADDRNOTAVAIL), before sock_ops' connect
  // callback: only sock:inet_sock_set_state sees these.
  const port = 7100;
  const before = net.run(net.client, 'sysctl', ['-n', 'net.ipv4.ip_local_port_range']).trim().split(/\s+/).join(' ');
  net.run(net.client, 'sysctl', ['-qw', 'net.ipv4.ip_local_port_range=41000 41001']);
  t.teardown(() => { net.run(net.client, 'sysctl', ['-qw', `net.ipv4.ip_local_port_range=${before}`]); });
  const server = net.spawnTraffic(net.server, ['burst-server', String(port)]);
  await server.next();
  const client = net.spawnTraffic(net.client, ['hold', net.serverV4, String(port), '5']);
  const res = await client.next() as { connected: number; errors: string[] };
  t.equal(res.connected, 2, 'two local ports, two connections');
  t.same(res.errors, ['EADDRNOTAVAIL', 'EADDRNOTAVAIL', 'EADDRNOTAVAIL'], 'the other three found no free port');
  client.send('close');
  await client.done;
  await h.settle(2);
  const c2s = h.flows([net.serverV4]).filter((r) => r.transport === 'tcp' && r.destinationPort === port
    && r.observer === 'source' && r.sourceIsClient);
  t.equal(sum(c2s, 'failed'), 3, 'three failed connections, none counted twice');
  t.equal(sum(c2s, 'opened'), 2, 'two opened');
  t.equal(sum(c2s, 'closed'), 2, 'two closed');
  t.ok(c2s.filter((r) => r.counters?.failed).every((r) => r.connectionEnded && r.sourceAddress === net.clientV4),
    'failed rows: ended, from the client address');
  server.proc.kill();
});

/**
 * A receiver with `opts`, then n short connections to a burst server on
 * `port`, settled over `intervals` collections: the client → server rows the
 * receiver reported from the client's side.
 */
async function burst(t: Test, opts: Parameters<typeof startReceiver>[1], port: number, n: number, intervals: number) {
  const rx = await startReceiver(t, opts);
  const server = net.spawnTraffic(net.server, ['burst-server', String(port)]);
  await server.next();
  const client = net.spawnTraffic(net.client, ['burst', net.serverV4, String(port), String(n), '64']);
  t.equal((await client.next()).failed, 0, 'every connection made');
  await rx.settle(intervals);
  const c2s = rx.flows([net.serverV4]).filter((r) => r.transport === 'tcp' && r.destinationPort === port && r.observer === 'source');
  return { rx, c2s, server };
}
