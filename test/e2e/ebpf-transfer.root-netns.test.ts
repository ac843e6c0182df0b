// Needs root: network namespaces, BPF. A transfer of an exact number of bytes
// each way between two namespaces: podflow's bytes per direction equal the
// kernel's bytes_acked / bytes_received (ss -ti) and are within 0.5% of the
// payload, while the connection is open and after it closed; IPv4 and IPv6.
// The server listens on "::", so on the IPv4 run its sockets are dual-stack
// (AF_INET6 holding v4-mapped addresses): the server-side rows matching the
// plain IPv4 address show those are reported as IPv4.
// A second receiver with tp_btf: false runs the IPv4 transfer through the
// classic tcp_rcv_space_adjust tracepoint (the fallback of kernels without
// BTF-typed raw tracepoints); both are attached throughout, each with its own maps.

import t from 'tap';
import { createNetPair } from './support/ebpf-netns.ts';
import { ssCounters, startReceiver, sum } from './support/ebpf-flows.ts';

const UP = 20 * 1024 * 1024;
const DOWN = 5 * 1024 * 1024;

const net = createNetPair(t, 'xfer', 11);
const variants = [
  { h: await startReceiver(t), hook: 'tp_btf where available', families: [4, 6] as const, portBase: 5000 },
  { h: await startReceiver(t, { tp_btf: false }), hook: 'classic tracepoint', families: [4] as const, portBase: 5100 },
];

for (const { h, hook, families, portBase } of variants) for (const family of families) {
  t.test(`IPv${family} transfer of ${UP} bytes up and ${DOWN} down (receive refresh: ${hook})`, async (t) => {
    const serverIp = family === 4 ? net.serverV4 : net.serverV6;
    const clientIp = family === 4 ? net.clientV4 : net.clientV6;
    const port = portBase + family;
    const up = family === 4 ? UP : UP / 4;
    const down = family === 4 ? DOWN : DOWN / 4;
    const server = net.spawnTraffic(net.server, ['tcp-server', String(port), String(up), String(down)]);
    await server.next();
    const client = net.spawnTraffic(net.client, ['tcp-client', serverIp, String(port), String(up), String(down)]);
    const done = await client.next();
    const cport = Number(done.localPort);

    // Open connection: compare with the kernel's own counters on both sockets.
    const filter = ['state', 'established', `( sport = :${cport} or dport = :${cport} )`];
    const ssClient = ssCounters(net.run(net.client, 'ss', ['-tinH', ...filter]));
    const ssServer = ssCounters(net.run(net.server, 'ss', ['-tinH', ...filter]));
    const conn = (rows: ReturnType<typeof h.flows>) => rows.filter((r) => r.transport === 'tcp'
      && ((r.sourcePort === cport && r.destinationPort === port) || (r.sourcePort === port && r.destinationPort === cport)));
    let rows = conn(h.flows([clientIp, serverIp]));
    const edge = (src: string, observer: 'source' | 'destination') =>
      rows.filter((r) => r.sourceAddress === src && r.observer === observer);
    // The sender's counters refresh on ACKs with an RTT sample; give the last
    // ones a few intervals to be read, then compare.
    for (let i = 0; i < 20; i++) {
      await h.settle(1);
      rows = conn(h.flows([clientIp, serverIp]));
      if (sum(edge(serverIp, 'source'), 'bytes') === ssServer.bytesAcked
        && sum(edge(clientIp, 'source'), 'bytes') === ssClient.bytesAcked) break;
    }

    t.equal(sum(edge(clientIp, 'source'), 'bytes'), ssClient.bytesAcked, 'client→server, client socket = client bytes_acked');
    t.equal(sum(edge(serverIp, 'destination'), 'bytes'), ssClient.bytesReceived, 'server→client, client socket = client bytes_received');
    // The server's bytes_acked is refreshed by ACKs that carry an RTT sample; when
    // the last ACKs of the download carry none (delayed/stretched ACKs under load),
    // the idle socket's live value stays behind until its close record, which the
    // after-close checks below require to be exact. Seen in about 1 run in 3 on a
    // loaded 2-core machine, at most 35 KB (0.66%) behind; documented in the receiver README.
    const serverAcked = sum(edge(serverIp, 'source'), 'bytes');
    const lag = ssServer.bytesAcked - serverAcked;
    if (lag !== 0) t.comment(`server bytes_acked ${serverAcked} is ${lag} bytes behind ss while the connection idles`);
    t.ok(lag >= 0 && lag <= down * 0.01, `server→client, server socket ≤ server bytes_acked and within 1% (${serverAcked} vs ${ssServer.bytesAcked})`);
    t.equal(sum(edge(clientIp, 'destination'), 'bytes'), ssServer.bytesReceived, 'client→server, server socket = server bytes_received');
    const upBytes = sum(edge(clientIp, 'source'), 'bytes');
    const downBytes = sum(edge(serverIp, 'source'), 'bytes');
    t.ok(Math.abs(upBytes - up) <= up * 0.005, `up ${upBytes} within 0.5% of ${up}`);
    t.ok(Math.abs(downBytes - down) <= down * 0.01, `down ${downBytes} within 1% of ${down} while open (exact after close)`);
    t.equal(sum(edge(clientIp, 'source'), 'opened'), 1, 'one connection opened (client side)');
    t.ok(edge(clientIp, 'source').every((r) => r.sourceIsClient), 'client edge flagged source-is-client');
    t.ok(edge(serverIp, 'source').every((r) => !r.sourceIsClient), 'server edge not flagged');
    t.ok(rows.every((r) => r.sourceAddress === clientIp || r.sourceAddress === serverIp), 'only the test addresses');

    // Close: the final record carries the rest (FIN), flagged ended, and the totals stay exact.
    client.send('close');
    await client.done;
    server.proc.kill();
    await h.settle();
    rows = conn(h.flows([clientIp, serverIp]));
    const ended = rows.filter((r) => r.connectionEnded);
    t.equal(ended.length, 4, 'two sockets × two edges reported as ended');
    t.equal(sum(edge(clientIp, 'source'), 'closed'), 1, 'one connection closed (client side)');
    t.equal(sum(edge(clientIp, 'destination'), 'closed'), 1, 'one connection closed (server side)');
    t.ok(sum(edge(clientIp, 'source'), 'durationMs') > 0, 'duration recorded');
    // The kernel counts sequence space: the opener's bytes_acked includes its SYN
    // (+1), both sides count the FIN (+1); the passive side's SYN-ACK is not counted.
    t.equal(sum(edge(clientIp, 'source'), 'bytes'), up + 2, 'up after close: client bytes_acked = payload + SYN + FIN');
    t.equal(sum(edge(clientIp, 'destination'), 'bytes'), up + 1, 'up after close: server bytes_received = payload + FIN');
    t.equal(sum(edge(serverIp, 'source'), 'bytes'), down + 1, 'down after close: server bytes_acked = payload + FIN');
    t.equal(sum(edge(serverIp, 'destination'), 'bytes'), down + 1, 'down after close: client bytes_received = payload + FIN');
  });
}

for (const { h, hook } of variants) t.test(`self-metrics (receive refresh: ${hook})`, async (t) => {
  t.equal(h.telemetry.counter('podflow_ebpf_ringbuf_lost_total', '').get(), 0, 'no ring-buffer loss');
  t.ok(h.telemetry.counter('podflow_ebpf_connections_closed_total', '').get() >= 4, 'closed connections counted');
  t.ok(h.telemetry.counter('podflow_receiver_accepted_flows_total', '').get({ receiver: 'ebpf' }) > 0, 'accepted flows counted');
});
