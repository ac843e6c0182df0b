// The NAT join's index: rows as any receiver sees them (client → VIP, VIP →
// client, server → SNAT address, SNAT address → server) resolve to the real
// endpoints with the carried address kept as original; untranslated connections
// are not stored; destroyed entries linger, then go; the bound is counted.

import t from 'tap';
import { REC_DESTROY, REC_DUMP, REC_NEW } from '../../src/native/conntrack-record.ts';
import { NatIndex } from '../../src/nat/nat-index.ts';
import { FlowBatch } from '../../src/pdata/flow-batch.ts';
import { appendFlow, readFlow, type FlowRecord } from '../../src/pdata/flow-record.ts';
import { records, type Rec } from '../receiver/conntrack/records.ts';

// Client 10.0.0.1 → VIP 10.96.0.10:80, DNAT to pod 10.1.0.5:8080.
const dnat: Rec = { type: REC_NEW, src: '10.0.0.1', dst: '10.96.0.10', sport: 40000, dport: 80, rsrc: '10.1.0.5', rsport: 8080 };
// Pod 10.1.0.7 → external 192.0.2.9:443, SNAT to node 172.16.0.2:61000.
const snat: Rec = { type: REC_NEW, src: '10.1.0.7', dst: '192.0.2.9', sport: 50000, dport: 443, rsrc: '192.0.2.9', rsport: 443, rdst: '172.16.0.2', rdport: 61000 };

function resolve(index: NatIndex, r: FlowRecord): FlowRecord {
  const b = new FlowBatch(1);
  appendFlow(b, r);
  index.resolveBatch(b);
  const out = readFlow(b, 0);
  delete out.counters; delete out.attributes; delete out.observer; delete out.connectionEnded; delete out.sourceIsClient;
  return out;
}

t.test('DNAT: both directions as the client saw them', async (t) => {
  const nat = new NatIndex();
  nat.applyRecords(records([dnat]));
  t.equal(nat.size, 1);
  t.same(resolve(nat, { transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 40000, destinationAddress: '10.96.0.10', destinationPort: 80 }), {
    transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 40000, destinationAddress: '10.1.0.5', destinationPort: 8080,
    originalDestinationAddress: '10.96.0.10', originalDestinationPort: 80,
  }, 'client → VIP becomes client → pod, VIP kept');
  t.same(resolve(nat, { transport: 'tcp', sourceAddress: '10.96.0.10', sourcePort: 80, destinationAddress: '10.0.0.1', destinationPort: 40000 }), {
    transport: 'tcp', sourceAddress: '10.1.0.5', sourcePort: 8080, destinationAddress: '10.0.0.1', destinationPort: 40000,
    originalSourceAddress: '10.96.0.10', originalSourcePort: 80,
  }, 'VIP → client becomes pod → client');
  t.same(resolve(nat, { transport: 'udp', sourceAddress: '10.0.0.1', sourcePort: 40000, destinationAddress: '10.96.0.10', destinationPort: 80 }).destinationAddress,
    '10.96.0.10', 'the protocol is part of the key');
});

t.test('SNAT: the server side resolves to the real client', async (t) => {
  const nat = new NatIndex();
  nat.applyRecords(records([snat]));
  t.same(resolve(nat, { transport: 'tcp', sourceAddress: '172.16.0.2', sourcePort: 61000, destinationAddress: '192.0.2.9', destinationPort: 443 }), {
    transport: 'tcp', sourceAddress: '10.1.0.7', sourcePort: 50000, destinationAddress: '192.0.2.9', destinationPort: 443,
    originalSourceAddress: '172.16.0.2', originalSourcePort: 61000,
  }, 'SNAT address → server becomes pod → server');
  t.same(resolve(nat, { transport: 'tcp', sourceAddress: '192.0.2.9', sourcePort: 443, destinationAddress: '172.16.0.2', destinationPort: 61000 }), {
    transport: 'tcp', sourceAddress: '192.0.2.9', sourcePort: 443, destinationAddress: '10.1.0.7', destinationPort: 50000,
    originalDestinationAddress: '172.16.0.2', originalDestinationPort: 61000,
  }, 'server → SNAT address becomes server → pod');
});

t.test('untranslated connections are not stored; resolved rows are left alone', async (t) => {
  const nat = new NatIndex();
  nat.applyRecords(records([{ type: REC_NEW, src: '10.0.0.1', dst: '10.1.0.5', sport: 1, dport: 2 }]));
  t.equal(nat.size, 0);
  nat.applyRecords(records([dnat]));
  const b = new FlowBatch(2);
  appendFlow(b, { transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 40000, destinationAddress: '10.96.0.10', destinationPort: 80, originalDestinationAddress: '10.96.0.99', originalDestinationPort: 1 });
  appendFlow(b, { transport: 'tcp', sourceAddress: '10.0.0.9', sourcePort: 1, destinationAddress: '10.0.0.8', destinationPort: 2 });
  t.equal(nat.resolveBatch(b), 0);
  t.equal(readFlow(b, 0).destinationAddress, '10.96.0.10');
});

t.test('destroyed entries linger, then expire; vanished ones after a complete dump too', async (t) => {
  const clock = { t: 0 };
  const nat = new NatIndex({ lingerMs: 1000, now: () => clock.t });
  nat.applyRecords(records([dnat, { ...snat }]));
  nat.applyRecords(records([{ ...dnat, type: REC_DESTROY }]));
  clock.t = 500;
  nat.sweep();
  t.equal(nat.size, 2, 'still answers shortly after DESTROY');
  clock.t = 1500;
  nat.sweep();
  t.equal(nat.size, 1, 'gone after the linger time');
  clock.t = 2000;
  nat.dumpBegin();
  nat.applyRecords(records([]));
  nat.dumpEnd();
  clock.t = 3100;
  nat.sweep();
  t.equal(nat.size, 0, 'not in a complete dump: expired after lingering');
  clock.t = 4000;
  nat.dumpBegin();
  nat.applyRecords(records([{ ...dnat, type: REC_DUMP }]));
  nat.dumpEnd();
  clock.t = 9000;
  nat.sweep();
  t.equal(nat.size, 1, 'refreshed by the dump: kept');
});

t.test('the bound refuses and counts', async (t) => {
  const nat = new NatIndex({ maxEntries: 1 });
  nat.applyRecords(records([dnat, { ...dnat, sport: 40001 }]));
  t.equal(nat.size, 1);
  t.equal(nat.dropped, 1);
});

t.test('a reused client port translated to another backend resolves to the new one', async (t) => {
  const nat = new NatIndex();
  nat.applyRecords(records([dnat, { ...dnat, type: REC_DESTROY }]));
  nat.applyRecords(records([{ ...dnat, rsrc: '10.1.0.6' }]));
  t.equal(nat.size, 1);
  t.equal(resolve(nat, { transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 40000, destinationAddress: '10.96.0.10', destinationPort: 80 }).destinationAddress,
    '10.1.0.6', 'client → VIP goes to the backend of the new connection');
  t.equal(resolve(nat, { transport: 'tcp', sourceAddress: '10.1.0.6', sourcePort: 8080, destinationAddress: '10.0.0.1', destinationPort: 40000 }).sourceAddress,
    '10.1.0.6', 'its reply tuple is indexed');
  t.equal(resolve(nat, { transport: 'tcp', sourceAddress: '10.1.0.5', sourcePort: 8080, destinationAddress: '10.0.0.1', destinationPort: 40000 }).originalSourceAddress,
    undefined, 'the old reply tuple no longer resolves');
});
