// FinishedLookups: columns grow past their first size and shrink after a burst
// without losing or mixing rows; names are interned and counted per interval;
// a lookup without a question has no type or name.

import t from 'tap';
import { FlowBatch } from '../../../../src/pdata/flow-batch.ts';
import { readFlow } from '../../../../src/pdata/flow-record.ts';
import { ENDS_SIZE, FinishedLookups, NO_QUESTION, RCODE_TIMEOUT } from '../../../../src/receiver/ebpf/dns/finished-lookups.ts';

function ends(i: number): Uint8Array {
  const e = new Uint8Array(ENDS_SIZE + 3);
  // At offset 3, to check the offset is honoured: client 10.0.x.y, server 10.96.0.10, ports i and 53.
  e.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, (i >> 8) & 0xff, i & 0xff], 3);
  e.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 96, 0, 10], 3 + 16);
  e.set([(i >> 8) & 0xff, i & 0xff, 0, 53], 3 + 32);
  return e;
}

t.test('a burst of 3000, then a quiet interval', async (t) => {
  const f = new FinishedLookups();
  for (let i = 0; i < 3000; i++) f.add(i % 2 ? 6 : 17, 4, ends(i), 3, i % 4, 1 + (i % 3 === 0 ? 27 : 0), `n${i % 5}.example`, i + 1);
  t.same([...f.nameCounts()].sort(), [['n0.example', 600], ['n1.example', 600], ['n2.example', 600], ['n3.example', 600], ['n4.example', 600]]);
  const b = new FlowBatch(8);
  f.drainInto(b, new Set(['n1.example']));
  t.equal(b.length, 3000);
  t.equal(f.length, 0);
  let bad = 0;
  for (let i = 0; i < 3000; i++) {
    const r = readFlow(b, i);
    const ok = r.transport === (i % 2 ? 'tcp' : 'udp') && r.sourceAddress === `10.0.${(i >> 8) & 0xff}.${i & 0xff}` && r.sourcePort === i
      && r.destinationAddress === '10.96.0.10' && r.destinationPort === 53 && r.counters?.dnsDurationUs === i + 1 && r.counters.dnsRequests === 1
      && r.attributes?.['dns.response_code'] === ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN'][i % 4]
      && r.attributes['dns.question.type'] === (i % 3 === 0 ? 'AAAA' : 'A')
      && r.attributes['dns.question.name'] === (i % 5 === 1 ? 'n1.example' : undefined);
    if (!ok) bad++;
  }
  t.equal(bad, 0, 'every row as added');
  t.same([...f.nameCounts()], [], 'names are per interval');
  f.drainInto(new FlowBatch(), new Set()); // shrinks
  f.add(17, 6, ends(7), 3, RCODE_TIMEOUT, NO_QUESTION, 'ignored', 0);
  f.add(17, 4, ends(8), 3, 3, 33, '_sip._udp.example', 5);
  const b2 = new FlowBatch();
  f.drainInto(b2, new Set(['_sip._udp.example']));
  t.equal(b2.length, 2);
  t.same(readFlow(b2, 0).attributes, { 'dns.response_code': 'TIMEOUT' }, 'no question: no type, no name');
  t.equal(b2.family[0], 6);
  t.same(readFlow(b2, 1).attributes, { 'dns.response_code': 'NXDOMAIN', 'dns.question.type': 'SRV', 'dns.question.name': '_sip._udp.example' });
});
