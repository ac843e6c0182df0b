// DropTable on hand-made pf_drops entries (one interval's, as the datapath
// drains them): a row per entry with drop.reason, which end is the client (so
// the server's port is kept), the observer.

import t from 'tap';
import { PF_DROP_CONSTANTS as K } from '../../../../src/native/ebpf-drops.ts';
import { FlowBatch, PROTO_TCP, PROTO_UDP } from '../../../../src/pdata/flow-batch.ts';
import { readFlow } from '../../../../src/pdata/flow-record.ts';
import { serverPortIsDestination } from '../../../../src/pdata/server-port.ts';
import { DropReasons } from '../../../../src/receiver/ebpf/drops/drop-reasons.ts';
import { DropTable, sourceIsClient } from '../../../../src/receiver/ebpf/drops/drop-table.ts';
import { dropEntries, KERNEL_REASONS, type DropEntry } from './drop-entries.ts';

const reasons = new DropReasons(KERNEL_REASONS);
const syn = (packets: number): DropEntry => ({
  src: '10.1.0.2', dst: '10.1.0.1', sport: 41000, dport: 8080, protocol: PROTO_TCP, reason: 12,
  packets, bytes: packets * 60, tcpFlags: K.PF_DROP_TCP_SYN, rx: true,
});
const noSock = (packets: number): DropEntry => ({
  src: 'fd00::2', dst: 'fd00::1', sport: 50000, dport: 9999, protocol: PROTO_UDP, reason: 3, packets, bytes: packets * 148, rx: true,
});

t.test('rows with counts, endpoints and drop.reason', async (t) => {
  const table = new DropTable(reasons);
  let b = new FlowBatch();
  t.equal(table.append(b, dropEntries(syn(2), noSock(5))), 2, 'entries read');
  t.equal(b.length, 2);
  t.match(readFlow(b, 0), {
    transport: 'tcp', sourceAddress: '10.1.0.2', sourcePort: 41000, destinationAddress: '10.1.0.1', destinationPort: 8080,
    sourceIsClient: true, observer: 'destination', counters: { drops: 2, dropBytes: 120 }, attributes: { 'drop.reason': 'netfilter_drop' },
  });
  t.equal(readFlow(b, 0).counters?.packets, undefined, 'drop rows carry no traffic counters');
  t.match(readFlow(b, 1), {
    transport: 'udp', sourceAddress: 'fd00::2', destinationAddress: 'fd00::1', destinationPort: 9999,
    counters: { drops: 5, dropBytes: 740 }, attributes: { 'drop.reason': 'no_socket' },
  });
  t.equal(b.family[1], 6);
  b = new FlowBatch();
  table.append(b, dropEntries(syn(1)));
  t.equal(b.length, 1, 'the next interval: only what it drained');
  t.match(readFlow(b, 0), { counters: { drops: 1, dropBytes: 60 } });
  b = new FlowBatch();
  t.equal(table.append(b, dropEntries({ ...syn(0) })), 1);
  t.equal(b.length, 0, 'an entry with no packet makes no row');
});

t.test('reasons the enum lacks and kernels without reasons', async (t) => {
  const table = new DropTable(reasons);
  const b = new FlowBatch();
  table.append(b, dropEntries({ ...syn(1), reason: 77 }, { ...syn(1), reason: K.PF_DROP_REASON_UNKNOWN }));
  t.equal(b.getAttribute(0, 'drop.reason'), 'reason_77');
  t.equal(b.getAttribute(1, 'drop.reason'), 'unknown');
});

t.test('which end is the client', async (t) => {
  t.ok(sourceIsClient(PROTO_TCP, K.PF_DROP_TCP_SYN, 41000, 8080), 'a SYN comes from the client');
  t.ok(sourceIsClient(PROTO_TCP, K.PF_DROP_TCP_SYN, 80, 41000), '... even from a lower port');
  t.notOk(sourceIsClient(PROTO_TCP, K.PF_DROP_TCP_SYNACK, 8080, 41000), 'a SYN+ACK comes from the server');
  t.notOk(sourceIsClient(PROTO_TCP, 0, 8080, 41000), 'no handshake: the lower port is the server\'s');
  t.ok(sourceIsClient(PROTO_TCP, 0, 41000, 8080));
  t.ok(sourceIsClient(PROTO_UDP, 0, 50000, 53));
  t.notOk(sourceIsClient(PROTO_UDP, 0, 53, 50000));
  t.notOk(sourceIsClient(1, 0, 0, 0), 'ICMP has no ports');
  // What exporters then keep: the server's port, not the ephemeral one.
  const b = new FlowBatch();
  new DropTable(reasons).append(b, dropEntries(syn(1), { ...syn(1), src: '10.1.0.1', dst: '10.1.0.2', sport: 8080, dport: 41000, tcpFlags: K.PF_DROP_TCP_SYNACK }));
  t.ok(serverPortIsDestination(b.protocol[0]!, b.flags[0]!, b.srcPort[0]!, b.dstPort[0]!), 'SYN row: destination port 8080');
  t.notOk(serverPortIsDestination(b.protocol[1]!, b.flags[1]!, b.srcPort[1]!, b.dstPort[1]!), 'SYN+ACK row: source port 8080');
});

t.test('observer: received packets at the destination, sent ones at the source', async (t) => {
  const b = new FlowBatch();
  new DropTable(reasons).append(b, dropEntries(syn(1), { ...syn(1), rx: false }));
  t.equal(readFlow(b, 0).observer, 'destination');
  t.equal(readFlow(b, 1).observer, 'source');
});
