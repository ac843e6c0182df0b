import t from 'tap';
import { FLAG_OBSERVER_DESTINATION, FlowBatch } from '../../../../src/pdata/flow-batch.ts';
import { joinConnections } from '../../../../src/exporter/internal/flow-connections/connection-join.ts';
import { readConnection } from '../../../../src/exporter/internal/flow-connections/connection-facts.ts';
import { connectionIds, connectionInput } from '../../../../src/exporter/internal/flow-connections/connection-ids.ts';
import { addConnection, CLIENT, SERVER } from '../../support/connection-views.ts';

t.test('the two edges of a connection join by 5-tuple, per reporting socket', async (t) => {
  const b = new FlowBatch();
  addConnection(b, 'client', { bytesUp: 100, bytesDown: 900 });
  addConnection(b, 'server', { bytesUp: 101, bytesDown: 901 });
  addConnection(b, 'client', { clientPort: 41001, ended: false });
  const views = joinConnections(b);
  t.equal(views.length, 3, 'same-node client and server sockets stay two views; another port is another connection');
  t.same(views.map((v) => [v.c2s, v.s2c, v.serverSide, v.ended]), [[0, 1, false, true], [2, 3, true, true], [4, 5, false, false]]);
  const c = readConnection(b, views[0]!);
  t.match(c, {
    transport: 'tcp', clientAddress: CLIENT.address, clientPort: CLIENT.port, serverAddress: SERVER.address, serverPort: SERVER.port,
    originalServerAddress: SERVER.vip, originalServerPort: SERVER.vipPort,
    bytesClientToServer: 100, bytesServerToClient: 900, packetsClientToServer: 10, packetsServerToClient: 40,
    retransmits: 1, rttUs: 250, durationMs: 1500, endReason: 'fin', serverSide: false,
  });
  t.equal(c.attributes['source.k8s.workload.name'], CLIENT.workload);
  const s = readConnection(b, views[1]!);
  t.equal(s.bytesServerToClient, 901);
  t.equal(s.originalServerAddress, undefined, 'the server node saw no VIP');
  t.equal(readConnection(b, views[2]!).endReason, undefined, 'open connections have no end reason');
});

t.test('a reply row alone still names client and server (attributes swapped)', async (t) => {
  const full = new FlowBatch();
  addConnection(full, 'client');
  const b = new FlowBatch();
  // Copy only the reply row.
  b.startTimeMs = 0;
  const i = b.addRow();
  b.protocol[i] = full.protocol[1]!; b.family[i] = 4; b.flags[i] = full.flags[1]!;
  b.srcAddr.set(full.srcAddr.subarray(16, 32), 0); b.dstAddr.set(full.dstAddr.subarray(16, 32), 0);
  b.srcPort[i] = full.srcPort[1]!; b.dstPort[i] = full.dstPort[1]!; b.counters.bytes[i] = 7;
  b.setAttribute(i, 'source.k8s.workload.name', SERVER.workload);
  const [v] = joinConnections(b);
  t.same([v!.c2s, v!.s2c, v!.serverSide], [-1, 0, false]);
  const f = readConnection(b, v!);
  t.match(f, { clientAddress: CLIENT.address, clientPort: CLIENT.port, serverAddress: SERVER.address, bytesServerToClient: 7, bytesClientToServer: 0 });
  t.equal(f.attributes['destination.k8s.workload.name'], SERVER.workload);
});

t.test('end reasons from the counters', async (t) => {
  const b = new FlowBatch();
  addConnection(b, 'client', { failed: true, clientPort: 1 });
  addConnection(b, 'client', { resets: 1, clientPort: 2 });
  addConnection(b, 'client', { resets: 1, failed: true, clientPort: 3 });
  t.same(joinConnections(b).map((v) => readConnection(b, v).endReason), ['failed_connect', 'reset', 'failed_connect']);
});

t.test('IDs: deterministic, distinct per role, bucketed start', async (t) => {
  const b = new FlowBatch();
  addConnection(b, 'client');
  const f = readConnection(b, joinConnections(b)[0]!);
  const a = connectionIds(connectionInput(f, 600_100, 300_000));
  t.same(a, connectionIds(connectionInput(f, 899_999, 300_000)), 'same bucket, same IDs');
  t.not(a.traceId, connectionIds(connectionInput(f, 900_000, 300_000)).traceId, 'next bucket, another trace');
  t.match(a.traceId, /^[0-9a-f]{32}$/);
  t.match(a.clientSpanId, /^[0-9a-f]{16}$/);
  t.not(a.clientSpanId, a.serverSpanId);
});

t.test('one table, no socket (conntrack, synthetic): both rows observed by their source join', async (t) => {
  const b = new FlowBatch();
  addConnection(b, 'client');
  // As conntrack writes them: the reply row has no FLAG_OBSERVER_DESTINATION.
  b.flags[1] = b.flags[1]! & ~FLAG_OBSERVER_DESTINATION;
  const views = joinConnections(b);
  t.same(views.map((v) => [v.c2s, v.s2c, v.serverSide]), [[0, 1, false]]);
  t.match(readConnection(b, views[0]!), { bytesClientToServer: 1200, bytesServerToClient: 48_000 });
});
