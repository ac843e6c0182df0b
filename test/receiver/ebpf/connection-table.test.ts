// ConnectionTable on hand-made pf_conn records: deltas between reads, the two
// edges and their flags, per-connection facts on the client→server edge only,
// final records, and late map reads of closed sockets ignored.

import t from 'tap';
import { PF_CONN, PF_CONSTANTS as K } from '../../../src/native/ebpf-layout.ts';
import { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { readFlow } from '../../../src/pdata/flow-record.ts';
import { writeAddress } from '../../../src/pdata/ip-address.ts';
import { ConnectionTable } from '../../../src/receiver/ebpf/connection-table.ts';

interface Rec {
  cookie: number; flags: number; acked: number; received: number; segsOut?: number; segsIn?: number;
  retrans?: number; resets?: number; srtt?: number; startNs?: number; establishedNs?: number; endNs?: number;
  local?: string; remote?: string; lport?: number; rport?: number;
}

function records(...rs: Rec[]): ArrayBuffer {
  const buf = new ArrayBuffer(rs.length * PF_CONN.size);
  const v = new DataView(buf);
  const u8 = new Uint8Array(buf);
  rs.forEach((r, i) => {
    const o = i * PF_CONN.size;
    v.setBigUint64(o + PF_CONN.cookie, BigInt(r.cookie), true);
    v.setBigUint64(o + PF_CONN.start_ns, BigInt(r.startNs ?? 1_000_000), true);
    v.setBigUint64(o + PF_CONN.established_ns, BigInt(r.establishedNs ?? 0), true);
    v.setBigUint64(o + PF_CONN.end_ns, BigInt(r.endNs ?? 0), true);
    v.setBigUint64(o + PF_CONN.bytes_acked, BigInt(r.acked), true);
    v.setBigUint64(o + PF_CONN.bytes_received, BigInt(r.received), true);
    v.setUint32(o + PF_CONN.segs_out, r.segsOut ?? 0, true);
    v.setUint32(o + PF_CONN.segs_in, r.segsIn ?? 0, true);
    v.setUint32(o + PF_CONN.total_retrans, r.retrans ?? 0, true);
    v.setUint32(o + PF_CONN.resets, r.resets ?? 0, true);
    v.setUint32(o + PF_CONN.srtt_us, r.srtt ?? 0, true);
    const fam = writeAddress(u8, o + PF_CONN.local_addr, r.local ?? '10.0.0.1');
    writeAddress(u8, o + PF_CONN.remote_addr, r.remote ?? '10.0.0.2');
    v.setUint16(o + PF_CONN.local_port, r.lport ?? 40000, true);
    v.setUint16(o + PF_CONN.remote_port, r.rport ?? 80, true);
    u8[o + PF_CONN.family] = fam;
    u8[o + PF_CONN.flags] = r.flags;
  });
  return buf;
}

const CLIENT = K.PF_CONN_CLIENT | K.PF_CONN_ESTABLISHED;

t.test('a client socket over three reads', async (t) => {
  const table = new ConnectionTable();
  let b = new FlowBatch();
  table.append(b, records({ cookie: 7, flags: CLIENT, acked: 1001, received: 500, segsOut: 5, segsIn: 4, srtt: 120 }), false);
  t.equal(b.length, 2, 'two edges');
  const [out, inn] = [readFlow(b, 0), readFlow(b, 1)];
  t.match(out, { sourceAddress: '10.0.0.1', sourcePort: 40000, destinationAddress: '10.0.0.2', destinationPort: 80,
    sourceIsClient: true, observer: 'source', connectionEnded: false, counters: { bytes: 1001, packets: 5, opened: 1, rttUs: 120 } });
  t.match(inn, { sourceAddress: '10.0.0.2', destinationAddress: '10.0.0.1', sourceIsClient: false, observer: 'destination',
    counters: { bytes: 500, packets: 4 } });
  t.notOk(inn.counters?.opened, 'per-connection facts only on client→server');
  t.equal(table.active, 1);

  b = new FlowBatch();
  table.append(b, records({ cookie: 7, flags: CLIENT, acked: 1001, received: 500, segsOut: 5, segsIn: 4, srtt: 120 }), false);
  t.equal(b.length, 0, 'an idle interval gives no rows');

  b = new FlowBatch();
  table.append(b, records({ cookie: 7, flags: CLIENT | K.PF_CONN_CLOSED, acked: 3002, received: 501, segsOut: 9, segsIn: 6,
    retrans: 2, resets: 1, startNs: 1_000_000, endNs: 251_000_000 }), true);
  t.match(readFlow(b, 0), { connectionEnded: true, counters: { bytes: 2001, packets: 4, retransmits: 2, closed: 1, resets: 1, durationMs: 250 } });
  t.match(readFlow(b, 1), { connectionEnded: true, counters: { bytes: 1, packets: 2 } });
  t.equal(table.active, 0);
  t.equal(table.closedTotal, 1);

  b = new FlowBatch();
  table.append(b, records({ cookie: 7, flags: CLIENT, acked: 3002, received: 501 }), false);
  t.equal(b.length, 0, 'a late map read of a reported socket is ignored');
});

t.test('a server socket: client→server is the incoming edge', async (t) => {
  const table = new ConnectionTable();
  const b = new FlowBatch();
  table.append(b, records({ cookie: 9, flags: K.PF_CONN_ESTABLISHED, acked: 10, received: 20, local: 'fd00::1', remote: 'fd00::2', lport: 80, rport: 40000 }), false);
  const [out, inn] = [readFlow(b, 0), readFlow(b, 1)];
  t.match(out, { sourceAddress: 'fd00::1', sourcePort: 80, sourceIsClient: false, observer: 'source', counters: { bytes: 10 } });
  t.match(inn, { sourceAddress: 'fd00::2', sourcePort: 40000, sourceIsClient: true, observer: 'destination', counters: { bytes: 20, opened: 1 } });
  t.equal(b.family[0], 6);
});

t.test('failed connect; orphaned final records from the map', async (t) => {
  const table = new ConnectionTable();
  const b = new FlowBatch();
  const orphans = table.append(b, records(
    { cookie: 11, flags: K.PF_CONN_CLIENT | K.PF_CONN_CLOSED | K.PF_CONN_FAILED | K.PF_CONN_ORPHANED, acked: 0, received: 0, segsOut: 1, resets: 1, endNs: 2_000_000 },
  ), false);
  t.same(orphans, [11], 'the caller deletes the orphan from the map');
  t.match(readFlow(b, 0), { connectionEnded: true, counters: { failed: 1, resets: 1, packets: 1 } });
  t.notOk(readFlow(b, 0).counters?.opened);
  t.notOk(readFlow(b, 0).counters?.closed);
});

t.test('a close that raced the map read: reported once, whichever record comes first', async (t) => {
  // The read caught the entry flagged closed before the program deleted it;
  // the ring-buffer record of the same close arrives after, in this interval
  // or the next.
  const closing = { cookie: 21, flags: CLIENT | K.PF_CONN_CLOSED, acked: 100, received: 50, segsOut: 3, segsIn: 2, endNs: 3_000_000 };
  for (const later of [false, true]) {
    const table = new ConnectionTable();
    let b = new FlowBatch();
    t.same(table.append(b, records(closing), false), [21], 'deleted from the map');
    t.equal(b.length, 2, 'reported from the map read');
    if (later) table.endInterval();
    b = new FlowBatch();
    table.append(b, records(closing), true);
    t.equal(b.length, 0, `the ring-buffer record ${later ? 'of the next interval ' : ''}is ignored`);
    t.equal(table.closedTotal, 1);
  }
  // A map entry whose delete failed comes back for deletion, never as rows.
  const table = new ConnectionTable();
  table.append(new FlowBatch(), records(closing), false);
  const b = new FlowBatch();
  t.same(table.append(b, records(closing), false), [21], 'deleted again');
  t.equal(b.length, 0, 'not reported twice');
});

t.test('handshake time: once, on the client → server edge of a client socket', async (t) => {
  const table = new ConnectionTable();
  let b = new FlowBatch();
  table.append(b, records(
    { cookie: 1, flags: CLIENT, acked: 10, received: 10, startNs: 5_000_000, establishedNs: 5_250_400 },
    { cookie: 2, flags: K.PF_CONN_ESTABLISHED, acked: 10, received: 10, startNs: 5_000_000, establishedNs: 5_100_000 },
  ), false);
  t.equal(b.counters.connectUs[0], 250, 'client: connect() to ESTABLISHED, µs');
  t.same([...b.counters.connectUs.subarray(1, 4)], [0, 0, 0], 'none on the reply edge or for an accepted socket');
  b = new FlowBatch();
  table.append(b, records({ cookie: 1, flags: CLIENT, acked: 20, received: 10, startNs: 5_000_000, establishedNs: 5_250_400 }), false);
  t.equal(b.counters.connectUs[0], 0, 'not again in a later interval');
  b = new FlowBatch();
  table.append(b, records({ cookie: 3, flags: K.PF_CONN_CLIENT | K.PF_CONN_FAILED | K.PF_CONN_CLOSED, acked: 0, received: 0, startNs: 5_000_000, endNs: 9_000_000 }), true);
  t.equal(b.counters.connectUs[0], 0, 'a failed connect has no handshake time');
});

t.test('rows after other rows of the batch start empty (rows are claimed without addRow)', async (t) => {
  const table = new ConnectionTable();
  // A small batch that must grow, whose first row another component filled
  // completely (an attribute column, every counter, NAT addresses).
  const b = new FlowBatch(1);
  const r = b.addRow();
  b.setAttribute(r, 'drop.reason', 'NETFILTER_DROP');
  for (const col of Object.values(b.counters)) col[r] = 9;
  b.origDstAddr.fill(7, 0, 16);
  b.origDstPort[r] = 7;
  table.append(b, records(
    { cookie: 1, flags: CLIENT, acked: 10, received: 20, segsOut: 1, segsIn: 2 },
    { cookie: 2, flags: K.PF_CONN_ESTABLISHED, acked: 30, received: 40, segsOut: 3, segsIn: 4 },
  ), false);
  t.equal(b.length, 5);
  for (let i = 1; i < 5; i++) {
    const f = readFlow(b, i);
    t.same(f.attributes ?? {}, {}, `row ${i}: no attribute`);
    t.equal(f.originalDestinationAddress, undefined, `row ${i}: no NAT address`);
    const set = Object.entries(f.counters ?? {}).filter(([, v]) => v !== 0).map(([k]) => k).sort();
    t.ok(set.every((k) => ['bytes', 'opened', 'packets'].includes(k)), `row ${i}: only its own counters (${set.join(', ')})`);
  }
  t.match(readFlow(b, 1), { sourcePort: 40000, counters: { bytes: 10, packets: 1, opened: 1 } });
  t.match(readFlow(b, 4), { destinationPort: 40000, counters: { bytes: 40, packets: 4 } });
});

t.test('read live, then closed before the same collection took its final record: one ended row pair in the batch', async (t) => {
  // The collection reads the map, then takes the ring buffer (and at shutdown
  // the last read is followed by what the detached ring buffer still holds):
  // a socket that opened and closed between the two has both in one batch.
  for (const live of [{ acked: 0, received: 0 }, { acked: 1000, received: 7000 }]) {
    const table = new ConnectionTable();
    const b = new FlowBatch();
    table.append(b, records({ cookie: 5, flags: CLIENT, ...live, segsOut: 2, segsIn: 1, srtt: 40, startNs: 1_000_000, establishedNs: 1_088_000 }), false);
    table.append(b, records({ cookie: 6, flags: CLIENT, acked: 10, received: 10, lport: 40001 }), false);
    table.append(b, records({ cookie: 5, flags: CLIENT | K.PF_CONN_CLOSED, acked: 3002, received: 20001, segsOut: 10, segsIn: 17,
      srtt: 76, startNs: 1_000_000, establishedNs: 1_088_000, endNs: 2_751_067 }), true);
    t.equal(b.length, 4, `${live.acked} bytes at the live read: the final folds into the live rows`);
    t.match(readFlow(b, 0), { sourcePort: 40000, connectionEnded: true,
      counters: { bytes: 3002, packets: 10, opened: 1, closed: 1, rttUs: 76, connectUs: 88, durationMs: 1.751067 } });
    t.match(readFlow(b, 1), { destinationPort: 40000, connectionEnded: true, counters: { bytes: 20001, packets: 17 } });
    t.match(readFlow(b, 2), { sourcePort: 40001, connectionEnded: false }, 'the other socket untouched');
    t.equal(table.closedTotal, 1);
    t.equal(table.active, 1);
  }
  // In the next batch a final record makes rows of its own.
  const table = new ConnectionTable();
  table.append(new FlowBatch(), records({ cookie: 5, flags: CLIENT, acked: 1000, received: 7000 }), false);
  const b = new FlowBatch();
  table.append(b, records({ cookie: 5, flags: CLIENT | K.PF_CONN_CLOSED, acked: 3002, received: 20001 }), true);
  t.equal(b.length, 2);
  t.match(readFlow(b, 0), { connectionEnded: true, counters: { bytes: 2002, closed: 1 } });
  t.notOk(readFlow(b, 0).counters?.opened, 'opened in the batch before');
});
