// Needs root: network namespaces, BPF. UDP: N datagrams of a known size, over
// IPv4 and IPv6, counted exactly at the sender (egress, reported as source)
// and at the receiver (ingress, reported as destination).

import t from 'tap';
import { createNetPair } from './support/ebpf-netns.ts';
import { startReceiver, sum } from './support/ebpf-flows.ts';

const N = 2000;
const SIZE = 700;
const net = createNetPair(t, 'udp', 14);
const h = await startReceiver(t);

for (const family of [4, 6] as const) {
  t.test(`IPv${family}: ${N} datagrams of ${SIZE} bytes`, async (t) => {
    const serverIp = family === 4 ? net.serverV4 : net.serverV6;
    const port = 7200 + family;
    const server = net.spawnTraffic(net.server, ['udp-server', serverIp, String(port)]);
    await server.next();
    const client = net.spawnTraffic(net.client, ['udp-client', serverIp, String(port), String(N), String(SIZE)]);
    const done = await client.next();
    // The server reads on its own schedule: ask until its count stops moving.
    let got: Record<string, unknown> = {};
    for (let last = -1; got.packets !== last;) {
      last = Number(got.packets ?? -1);
      await new Promise((r) => setTimeout(r, 100));
      server.send('report');
      got = await server.next();
    }
    t.equal(got.packets, N, 'the server received every datagram');
    await h.settle(2);
    const rows = h.flows([serverIp]).filter((r) => r.transport === 'udp' && r.destinationPort === port
      && r.sourcePort === Number(done.localPort));
    const sent = rows.filter((r) => r.observer === 'source');
    const received = rows.filter((r) => r.observer === 'destination');
    t.equal(sum(sent, 'packets'), N, 'sender: datagrams');
    t.equal(sum(sent, 'bytes'), N * SIZE, 'sender: payload bytes');
    t.equal(sum(received, 'packets'), N, 'receiver: datagrams');
    t.equal(sum(received, 'bytes'), N * SIZE, 'receiver: payload bytes');
    server.proc.kill();
  });
}
