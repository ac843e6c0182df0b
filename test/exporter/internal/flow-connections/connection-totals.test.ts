import t from 'tap';
import type { ConnectionFacts } from '../../../../src/exporter/internal/flow-connections/connection-facts.ts';
import { ConnectionTotals } from '../../../../src/exporter/internal/flow-connections/connection-totals.ts';
import { ConnectionSpanBuilder } from '../../../../src/exporter/internal/flow-spans/connection-spans.ts';
import { tracesSchema } from '../../../../src/exporter/internal/flow-connections/signal-config.ts';
import { defaultsOf } from '../../../../src/config/schema.ts';
import { FlowBatch } from '../../../../src/pdata/flow-batch.ts';
import { appendFlow } from '../../../../src/pdata/flow-record.ts';

function facts(clientPort: number, c2s: number, s2c: number, ended: boolean): ConnectionFacts {
  return {
    transport: 'tcp', family: 4, clientAddress: '10.0.0.1', clientPort, serverAddress: '10.0.0.2', serverPort: 80,
    serverSide: false, ended, bytesClientToServer: c2s, bytesServerToClient: s2c, packetsClientToServer: 1,
    packetsServerToClient: 1, retransmits: 0, resets: 0, rttUs: 0, durationMs: 0, connectUs: 0, dnsRequests: 0,
    dnsDurationUs: 0, dropsClientToServer: 0, dropsServerToClient: 0, dropBytesClientToServer: 0, dropBytesServerToClient: 0,
    attributes: {},
  };
}

t.test('lifetime totals across intervals; forgotten when the connection ends', async (t) => {
  const tot = new ConnectionTotals();
  tot.accumulate(facts(1000, 30000, 70000, false), 1);
  t.equal(tot.size, 1);
  const end = facts(1000, 1, 1, true);
  tot.accumulate(end, 2);
  t.equal(end.bytesClientToServer, 30001);
  t.equal(end.bytesServerToClient, 70001);
  t.equal(end.packetsClientToServer, 2);
  t.equal(tot.size, 0, 'the ended connection is forgotten');
  const once = facts(1001, 5, 6, true);
  tot.accumulate(once, 3);
  t.equal(once.bytesClientToServer, 5, 'a connection seen only when it ended keeps its counters');
  t.equal(tot.size, 0);
});

t.test('bounded: past the limit a connection is counted as untracked; idle entries expire', async (t) => {
  const tot = new ConnectionTotals(2, 1000);
  for (const p of [1, 2, 3]) tot.accumulate(facts(p, 1, 1, false), 0);
  t.equal(tot.size, 2);
  t.equal(tot.untracked, 1);
  tot.accumulate(facts(9, 1, 1, true), 5000); // a sweep runs past idleMs
  t.equal(tot.size, 0, 'entries idle for longer than idleMs are dropped');
  t.equal(tot.expired, 2, 'and counted');
});

t.test('a span carries the whole connection, not its last interval', async (t) => {
  const b = new ConnectionSpanBuilder({ ...defaultsOf(tracesSchema), min_bytes: 0, min_duration: 0 }, { hostName: 'h', nodeName: undefined, serviceVersion: '0' });
  const interval = (c2s: number, s2c: number, ended: boolean) => {
    const batch = new FlowBatch(2);
    batch.endTimeMs = 1_000_000;
    appendFlow(batch, { transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 40000, destinationAddress: '10.0.0.2', destinationPort: 80, sourceIsClient: true, connectionEnded: ended, counters: { bytes: c2s, closed: ended ? 1 : 0, durationMs: ended ? 2000 : 0 } });
    appendFlow(batch, { transport: 'tcp', sourceAddress: '10.0.0.2', sourcePort: 80, destinationAddress: '10.0.0.1', destinationPort: 40000, observer: 'destination', connectionEnded: ended, counters: { bytes: s2c } });
    return b.build(batch, () => undefined);
  };
  t.same(interval(30000, 70000, false), [], 'no span while open');
  const spans = interval(1, 1, true);
  t.equal(spans.length, 1);
  t.equal(spans[0]!.attributes['flow.bytes.client_to_server'], 30001);
  t.equal(spans[0]!.attributes['flow.bytes.server_to_client'], 70001);
});

t.test('an ended connection with only its reply edge gives no span and is counted; totals losses reach the events', async (t) => {
  const events = { untracked: 0, expired: 0 };
  const b = new ConnectionSpanBuilder({ ...defaultsOf(tracesSchema), min_bytes: 0, min_duration: 0 }, { hostName: 'h', nodeName: undefined, serviceVersion: '0' },
    { untracked: () => { events.untracked++; }, expired: (n) => { events.expired += n; } });
  const batch = new FlowBatch(1);
  batch.endTimeMs = 1_000_000;
  appendFlow(batch, { transport: 'tcp', sourceAddress: '10.0.0.2', sourcePort: 80, destinationAddress: '10.0.0.1', destinationPort: 40001, observer: 'destination', connectionEnded: true, counters: { bytes: 5 } });
  const skipped: string[] = [];
  t.same(b.build(batch, (r) => skipped.push(r)), []);
  t.same(skipped, ['no_request_edge']);
  const tot = new ConnectionTotals(1, 1000, { untracked: () => { events.untracked++; }, expired: (n) => { events.expired += n; } });
  for (const p of [1, 2]) tot.accumulate(facts(p, 1, 1, false), 0);
  tot.accumulate(facts(3, 1, 1, false), 5000);
  t.same(events, { untracked: 1, expired: 1 });
});
