// UdpTable on hand-made pf_udp entries: deltas, direction → observer, idle
// entries handed back for deletion, evicted-and-recreated entries counted afresh.

import t from 'tap';
import { PF_CONSTANTS as K, PF_UDP_ENTRY_SIZE, PF_UDP_KEY, PF_UDP_VALUE } from '../../../src/native/ebpf-layout.ts';
import { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { readFlow } from '../../../src/pdata/flow-record.ts';
import { writeAddress } from '../../../src/pdata/ip-address.ts';
import { UdpTable } from '../../../src/receiver/ebpf/udp-table.ts';

interface E { local: string; remote: string; lport: number; rport: number; dir: number; bytes: number; packets: number }

function entries(...es: E[]): ArrayBuffer {
  const buf = new ArrayBuffer(es.length * PF_UDP_ENTRY_SIZE);
  const v = new DataView(buf);
  const u8 = new Uint8Array(buf);
  es.forEach((e, i) => {
    const o = i * PF_UDP_ENTRY_SIZE;
    const fam = writeAddress(u8, o + PF_UDP_KEY.local_addr, e.local);
    writeAddress(u8, o + PF_UDP_KEY.remote_addr, e.remote);
    v.setUint16(o + PF_UDP_KEY.local_port, e.lport, true);
    v.setUint16(o + PF_UDP_KEY.remote_port, e.rport, true);
    u8[o + PF_UDP_KEY.family] = fam;
    u8[o + PF_UDP_KEY.direction] = e.dir;
    v.setBigUint64(o + PF_UDP_KEY.size + PF_UDP_VALUE.bytes, BigInt(e.bytes), true);
    v.setBigUint64(o + PF_UDP_KEY.size + PF_UDP_VALUE.packets, BigInt(e.packets), true);
  });
  return buf;
}

const out = (bytes: number, packets: number): E => ({ local: '10.0.0.1', remote: '10.0.0.53', lport: 5000, rport: 53, dir: K.PF_DIR_EGRESS, bytes, packets });
const back = (bytes: number, packets: number): E => ({ local: '10.0.0.1', remote: '10.0.0.53', lport: 5000, rport: 53, dir: K.PF_DIR_INGRESS, bytes, packets });

t.test('deltas and observers', async (t) => {
  const table = new UdpTable(10_000);
  let b = new FlowBatch();
  t.match(table.append(b, entries(out(100, 2), back(300, 1)), 0), { present: 2, idleCount: 0 });
  t.match(readFlow(b, 0), { transport: 'udp', sourceAddress: '10.0.0.1', sourcePort: 5000, destinationAddress: '10.0.0.53', destinationPort: 53, observer: 'source', counters: { bytes: 100, packets: 2 } });
  t.match(readFlow(b, 1), { sourceAddress: '10.0.0.53', sourcePort: 53, destinationAddress: '10.0.0.1', destinationPort: 5000, observer: 'destination', counters: { bytes: 300, packets: 1 } });
  b = new FlowBatch();
  table.append(b, entries(out(250, 5), back(300, 1)), 1000);
  t.equal(b.length, 1, 'only the entry that moved');
  t.match(readFlow(b, 0), { counters: { bytes: 150, packets: 3 } });
});

t.test('idle entries come back for deletion after the timeout', async (t) => {
  const table = new UdpTable(5_000);
  table.append(new FlowBatch(), entries(out(10, 1)), 0);
  t.equal(table.append(new FlowBatch(), entries(out(10, 1)), 4_000).idleCount, 0);
  const r = table.append(new FlowBatch(), entries(out(10, 1)), 5_000);
  t.equal(r.idleCount, 1);
  t.equal(r.idleKeys.byteLength, PF_UDP_KEY.size);
  t.same(new Uint8Array(r.idleKeys), new Uint8Array(entries(out(10, 1)), 0, PF_UDP_KEY.size), 'the exact key');
});

t.test('an entry evicted and created again counts from zero', async (t) => {
  const table = new UdpTable(60_000);
  table.append(new FlowBatch(), entries(out(1000, 10)), 0);
  table.append(new FlowBatch(), entries(), 1000); // evicted: forgotten
  const b = new FlowBatch();
  table.append(b, entries(out(40, 1)), 2000);
  t.match(readFlow(b, 0), { counters: { bytes: 40, packets: 1 } });
});
