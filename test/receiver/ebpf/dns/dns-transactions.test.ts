// DnsTransactions: queries matched to responses by (protocol, ends, id), the
// rows it writes, timeouts, eviction, unmatched and malformed input counted,
// TCP framing (several messages, cut captures, continuation segments), IPv6 and
// the three query-name modes.

import t from 'tap';
import { FLAG_SOURCE_IS_CLIENT, FlowBatch } from '../../../../src/pdata/flow-batch.ts';
import { readFlow } from '../../../../src/pdata/flow-record.ts';
import { writeAddress } from '../../../../src/pdata/ip-address.ts';
import { DnsTransactions, type DnsPacket } from '../../../../src/receiver/ebpf/dns/dns-transactions.ts';
import type { QueryNamesConfig } from '../../../../src/receiver/ebpf/dns/query-names-config.ts';
import { header, query, response, tcpFrame } from './dns-wire.ts';

const MS = 1e6;

function addr(a: string): Uint8Array {
  const b = new Uint8Array(16);
  writeAddress(b, 0, a);
  return b;
}

function setup(opts: { timeoutMs?: number; maxPending?: number; maxFinished?: number; names?: Partial<QueryNamesConfig> } = {}) {
  const counts = { parseError: [] as string[], truncated: 0, unmatchedResponse: 0, pendingEvicted: 0, timedOut: 0, finishedDropped: 0 };
  const tx = new DnsTransactions({
    timeoutMs: opts.timeoutMs ?? 5000,
    maxPending: opts.maxPending ?? 1000,
    ...(opts.maxFinished ? { maxFinished: opts.maxFinished } : {}),
    queryNames: { mode: 'top', top_n: 20, allow: [], ...opts.names },
    events: {
      parseError: (r) => counts.parseError.push(r),
      truncated: () => counts.truncated++,
      unmatchedResponse: () => counts.unmatchedResponse++,
      pendingEvicted: () => counts.pendingEvicted++,
      timedOut: () => counts.timedOut++,
      finishedDropped: () => counts.finishedDropped++,
    },
  });
  const flush = (nowNs: number) => {
    const b = new FlowBatch(4);
    tx.flush(b, nowNs);
    return Array.from({ length: b.length }, (_, r) => {
      const f = readFlow(b, r);
      return { ...f, counters: f.counters ?? {}, attributes: f.attributes ?? {}, flags: b.flags[r], family: b.family[r], durationUs: b.counters.dnsDurationUs[r] };
    });
  };
  return { tx, counts, flush };
}

interface P { t: number; from: 'client' | 'server'; payload: Uint8Array; proto?: 6 | 17; port?: number; v6?: boolean; truncated?: boolean; wireLength?: number }

function pkt(p: P): DnsPacket {
  return {
    timeNs: p.t, protocol: p.proto ?? 17, family: p.v6 ? 6 : 4, fromClient: p.from === 'client',
    clientAddr: addr(p.v6 ? 'fd00::1' : '10.1.0.5'), clientPort: p.port ?? 40001,
    serverAddr: addr(p.v6 ? 'fd00::53' : '10.96.0.10'), serverPort: 53,
    payload: p.payload, truncated: p.truncated ?? false, ...(p.wireLength !== undefined ? { wireLength: p.wireLength } : {}),
  };
}

t.test('a query and its response: one row on the client → server edge', async (t) => {
  const { tx, counts, flush } = setup();
  tx.observe(pkt({ t: 1000 * MS, from: 'client', payload: query('api.example.com', 28, { id: 9 }) }));
  t.equal(tx.pending, 1);
  tx.observe(pkt({ t: 1000 * MS + 1_234_567, from: 'server', payload: response('api.example.com', 28, { id: 9 }) }));
  t.equal(tx.pending, 0);
  const rows = flush(1001 * MS);
  t.equal(rows.length, 1);
  t.match(rows[0], {
    transport: 'udp', sourceAddress: '10.1.0.5', sourcePort: 40001, destinationAddress: '10.96.0.10', destinationPort: 53,
    flags: FLAG_SOURCE_IS_CLIENT, counters: { dnsRequests: 1, dnsDurationUs: 1235 },
    attributes: { 'dns.question.type': 'AAAA', 'dns.response_code': 'NOERROR', 'dns.question.name': 'api.example.com' },
  });
  t.same(flush(2000 * MS), [], 'a lookup is reported once');
  t.same(counts, { parseError: [], truncated: 0, unmatchedResponse: 0, pendingEvicted: 0, timedOut: 0, finishedDropped: 0 });
});

t.test('response codes, and a duration of at least 1 µs', async (t) => {
  const { tx, flush } = setup();
  const codes = [3, 2, 5, 9];
  codes.forEach((rcode, i) => {
    tx.observe(pkt({ t: 0, from: 'client', payload: query(`n${i}.example`, 1, { id: i }) }));
    tx.observe(pkt({ t: i === 0 ? 0 : 400, from: 'server', payload: response(`n${i}.example`, 1, { id: i, rcode }) }));
  });
  const rows = flush(1);
  t.same(rows.map((r) => r.attributes['dns.response_code']), ['NXDOMAIN', 'SERVFAIL', 'REFUSED', 'NOTAUTH']);
  t.same(rows.map((r) => r.counters.dnsDurationUs), [1, 1, 1, 1], 'same-tick and sub-µs answers still carry a sample');
});

t.test('timeout: unanswered past timeoutMs gives a TIMEOUT row without a duration', async (t) => {
  const { tx, counts, flush } = setup({ timeoutMs: 2000 });
  tx.observe(pkt({ t: 10_000 * MS, from: 'client', payload: query('slow.example', 1, { id: 1 }) }));
  t.same(flush(12_000 * MS), [], 'not longer than the timeout yet');
  t.equal(tx.pending, 1);
  const rows = flush(12_000 * MS + 1);
  t.match(rows, [{ durationUs: 0, counters: { dnsRequests: 1 }, attributes: { 'dns.response_code': 'TIMEOUT', 'dns.question.type': 'A' } }]);
  t.equal(tx.pending, 0);
  t.equal(counts.timedOut, 1);
  tx.observe(pkt({ t: 13_000 * MS, from: 'server', payload: response('slow.example', 1, { id: 1 }) }));
  t.equal(counts.unmatchedResponse, 1, 'the late answer matches nothing');
  t.same(flush(14_000 * MS), []);
});

t.test('retransmission keeps the first query time', async (t) => {
  const { tx, flush } = setup();
  tx.observe(pkt({ t: 0, from: 'client', payload: query('r.example', 1, { id: 3 }) }));
  tx.observe(pkt({ t: 1000 * MS, from: 'client', payload: query('r.example', 1, { id: 3 }) }));
  t.equal(tx.pending, 1);
  tx.observe(pkt({ t: 1005 * MS, from: 'server', payload: response('r.example', 1, { id: 3 }) }));
  t.match(flush(2000 * MS), [{ counters: { dnsRequests: 1, dnsDurationUs: 1_005_000 } }]);
});

t.test('the key: same id from another client port or over TCP is another lookup', async (t) => {
  const { tx, counts, flush } = setup();
  tx.observe(pkt({ t: 0, from: 'client', payload: query('k.example', 1, { id: 1 }), port: 1111 }));
  tx.observe(pkt({ t: 0, from: 'client', payload: query('k.example', 1, { id: 1 }), port: 2222 }));
  tx.observe(pkt({ t: 0, from: 'client', payload: tcpFrame(query('k.example', 1, { id: 1 })), proto: 6, port: 1111 }));
  t.equal(tx.pending, 3);
  tx.observe(pkt({ t: 2 * MS, from: 'server', payload: response('k.example', 1, { id: 1 }), port: 2222 }));
  tx.observe(pkt({ t: 3 * MS, from: 'server', payload: response('k.example', 1, { id: 2 }), port: 1111 }));
  t.equal(counts.unmatchedResponse, 1, 'another id');
  t.match(flush(4 * MS), [{ sourcePort: 2222, transport: 'udp', counters: { dnsDurationUs: 2000 } }]);
  t.equal(tx.pending, 2);
});

t.test('a response whose question differs is not an answer: counted unmatched, the query stays pending', async (t) => {
  const { tx, counts, flush } = setup();
  tx.observe(pkt({ t: 0, from: 'client', payload: query('bank.example', 1, { id: 77 }) }));
  tx.observe(pkt({ t: 1 * MS, from: 'server', payload: response('evil.example', 1, { id: 77 }) }));
  tx.observe(pkt({ t: 1 * MS, from: 'server', payload: response('bank.example', 28, { id: 77 }) }));
  t.equal(counts.unmatchedResponse, 2);
  t.equal(tx.pending, 1);
  tx.observe(pkt({ t: 2 * MS, from: 'server', payload: response('BANK.example', 1, { id: 77 }) }));
  t.match(flush(3 * MS), [{ counters: { dnsDurationUs: 2000 }, attributes: { 'dns.question.name': 'bank.example' } }], 'case does not matter (0x20 randomisation)');
  // A FORMERR without a question still answers its id.
  tx.observe(pkt({ t: 0, from: 'client', payload: query('q.example', 1, { id: 78 }) }));
  tx.observe(pkt({ t: 1 * MS, from: 'server', payload: new Uint8Array(header({ id: 78, qr: true, rcode: 1, qdcount: 0 })) }));
  t.match(flush(3 * MS), [{ attributes: { 'dns.response_code': 'FORMERR', 'dns.question.name': 'q.example' } }]);
});

t.test('a query without a question (QDCOUNT 0, as for a DNS cookie) is a lookup without type or name', async (t) => {
  const { tx, flush } = setup();
  tx.observe(pkt({ t: 0, from: 'client', payload: new Uint8Array(header({ id: 5, qdcount: 0 })) }));
  tx.observe(pkt({ t: MS, from: 'server', payload: new Uint8Array(header({ id: 5, qr: true, qdcount: 0 })) }));
  t.match(flush(2 * MS), [{ durationUs: 1000, attributes: { 'dns.response_code': 'NOERROR' } }]);
});

t.test('pending is bounded: the oldest query is evicted and counted', async (t) => {
  const { tx, counts, flush } = setup({ maxPending: 3 });
  for (let id = 1; id <= 5; id++) tx.observe(pkt({ t: id * MS, from: 'client', payload: query('e.example', 1, { id }) }));
  t.equal(tx.pending, 3);
  t.equal(counts.pendingEvicted, 2);
  tx.observe(pkt({ t: 10 * MS, from: 'server', payload: response('e.example', 1, { id: 1 }) }));
  t.equal(counts.unmatchedResponse, 1, 'the evicted query is gone');
  tx.observe(pkt({ t: 10 * MS, from: 'server', payload: response('e.example', 1, { id: 3 }) }));
  t.match(flush(11 * MS), [{ counters: { dnsDurationUs: 7000 } }]);
});

t.test('finished lookups waiting for a flush are bounded and the excess counted', async (t) => {
  const { tx, counts, flush } = setup({ maxFinished: 2 });
  for (let id = 1; id <= 3; id++) {
    tx.observe(pkt({ t: 0, from: 'client', payload: query('f.example', 1, { id }) }));
    tx.observe(pkt({ t: MS, from: 'server', payload: response('f.example', 1, { id }) }));
  }
  t.equal(flush(2 * MS).length, 2);
  t.equal(counts.finishedDropped, 1);
});

t.test('malformed, wrong-direction and non-QUERY messages', async (t) => {
  const { tx, counts, flush } = setup();
  tx.observe(pkt({ t: 0, from: 'client', payload: new Uint8Array(5) }));
  tx.observe(pkt({ t: 0, from: 'client', payload: response('x.example') }));
  tx.observe(pkt({ t: 0, from: 'server', payload: query('x.example') }));
  tx.observe(pkt({ t: 0, from: 'client', payload: query('zone.example', 6, { opcode: 4, id: 1 }) }));
  tx.observe(pkt({ t: 0, from: 'server', payload: response('zone.example', 6, { opcode: 4, id: 1 }) }));
  t.same(counts.parseError, ['short_header', 'unexpected_direction', 'unexpected_direction']);
  t.equal(counts.unmatchedResponse, 0, 'a NOTIFY answer is not a lookup response');
  t.equal(tx.pending, 0);
  t.same(flush(10_000 * MS), []);
});

t.test('UDP capture cut: counted; used when the question fits, else no parse error', async (t) => {
  const { tx, counts, flush } = setup();
  const big = response('big.example', 16, { id: 4, tc: true });
  tx.observe(pkt({ t: 0, from: 'client', payload: query('big.example', 16, { id: 4 }) }));
  tx.observe(pkt({ t: MS, from: 'server', payload: big.subarray(0, 40), truncated: true }));
  tx.observe(pkt({ t: MS, from: 'server', payload: big.subarray(0, 20), truncated: true }));
  t.equal(counts.truncated, 2);
  t.same(counts.parseError, []);
  t.equal(counts.unmatchedResponse, 0);
  t.match(flush(2 * MS), [{ attributes: { 'dns.question.type': 'TXT', 'dns.response_code': 'NOERROR' } }]);
});

t.test('TCP: several messages in one segment, and a cut segment', async (t) => {
  const { tx, counts, flush } = setup();
  tx.observe(pkt({ t: 0, proto: 6, from: 'client', payload: tcpFrame(query('a.example', 1, { id: 1 }), query('a.example', 28, { id: 2 })) }));
  t.equal(tx.pending, 2);
  // Both answers in one segment, the second cut by the capture inside its answer
  // section (the header and question are there): counted, still matched.
  const both = tcpFrame(response('a.example', 1, { id: 1 }), response('a.example', 28, { id: 2 }));
  tx.observe(pkt({ t: 3 * MS, proto: 6, from: 'server', payload: both.subarray(0, both.length - 5), truncated: true }));
  t.equal(counts.truncated, 1);
  t.same(counts.parseError, []);
  const rows = flush(4 * MS);
  t.match(rows, [
    { transport: 'tcp', attributes: { 'dns.question.type': 'A' }, counters: { dnsDurationUs: 3000 } },
    { transport: 'tcp', attributes: { 'dns.question.type': 'AAAA' } },
  ]);
  // A segment cut inside the second message's question: counted, not a parse error, not matched.
  tx.observe(pkt({ t: 5 * MS, proto: 6, from: 'client', payload: tcpFrame(query('b.example', 1, { id: 3 }), query('b.example', 1, { id: 4 })).subarray(0, 2 + 27 + 2 + 15), truncated: true }));
  t.equal(counts.truncated, 2);
  t.same(counts.parseError, []);
  t.equal(tx.pending, 1);
});

t.test('TCP: a message continuing in later segments is skipped there (wireLength), a split length prefix joined', async (t) => {
  const { tx, counts, flush } = setup();
  tx.observe(pkt({ t: 0, proto: 6, from: 'client', payload: tcpFrame(query('large.example', 16, { id: 1 })) }));
  // A 3000-byte response: its first segment carries 1448 bytes (512 captured),
  // the second 1448 (512 captured; random bytes that would parse as garbage),
  // the third the last 106 plus the next response's length prefix's first byte,
  // the fourth the rest of that next response.
  const r1 = new Uint8Array(3000 - 2);
  r1.set(response('large.example', 16, { id: 1 }));
  const stream = new Uint8Array([...tcpFrame(r1), ...tcpFrame(response('large.example', 16, { id: 2 }))]);
  for (let i = 1449; i < 3000; i++) stream[i] = (i * 7919) & 0xff;
  tx.observe(pkt({ t: 0, proto: 6, from: 'client', payload: tcpFrame(query('large.example', 16, { id: 2 })) }));
  const seg = (from: number, to: number, t: number) => pkt({ t, proto: 6, from: 'server', payload: stream.subarray(from, Math.min(to, from + 512)), truncated: to - from > 512, wireLength: to - from });
  tx.observe(seg(0, 1448, MS));
  tx.observe(seg(1448, 2896, MS));
  tx.observe(seg(2896, 3001, MS));
  tx.observe(seg(3001, stream.length, 2 * MS));
  t.same(counts.parseError, [], 'no continuation read as a message');
  t.equal(counts.unmatchedResponse, 0);
  t.equal(counts.truncated, 1, 'the first segment cut inside the message (the second holds nothing to read)');
  t.match(flush(3 * MS), [{ counters: { dnsDurationUs: 1000 } }, { counters: { dnsDurationUs: 2000 } }]);
});

t.test('IPv6', async (t) => {
  const { tx, flush } = setup();
  tx.observe(pkt({ t: 0, v6: true, from: 'client', payload: query('v6.example', 28, { id: 1 }) }));
  tx.observe(pkt({ t: MS, v6: true, from: 'server', payload: response('v6.example', 28, { id: 1 }) }));
  t.match(flush(2 * MS), [{ transport: 'udp', family: 6, sourceAddress: 'fd00::1', destinationAddress: 'fd00::53', counters: { dnsRequests: 1 } }]);
});

function lookups(tx: DnsTransactions, names: Record<string, number>): void {
  let id = 0;
  for (const [n, times] of Object.entries(names)) {
    for (let i = 0; i < times; i++) {
      id++;
      tx.observe(pkt({ t: 0, from: 'client', payload: query(n, 1, { id }) }));
      tx.observe(pkt({ t: MS, from: 'server', payload: response(n, 1, { id }) }));
    }
  }
}
const namesOf = (rows: Array<{ attributes: Record<string, string> }>) => rows.map((r) => r.attributes['dns.question.name'] ?? '-');

t.test('query names, mode top: the top_n most frequent names of each flush keep their name', async (t) => {
  const { tx, flush } = setup({ names: { mode: 'top', top_n: 2 } });
  lookups(tx, { 'rare.example': 1, 'hot.example': 3, 'warm.example': 2, 'tie-b.example': 1 });
  const rows = flush(2 * MS);
  t.equal(rows.length, 7, 'every lookup has its row');
  t.same(namesOf(rows), ['-', 'hot.example', 'hot.example', 'hot.example', 'warm.example', 'warm.example', '-']);
  t.ok(rows.every((r) => r.attributes['dns.question.type'] === 'A'), 'the type is always there');
  lookups(tx, { 'rare.example': 2 });
  t.same(namesOf(flush(3 * MS)), ['rare.example', 'rare.example'], 'counted per flush');
  // Ties at the cut go to the names seen first.
  lookups(tx, { 'c.example': 1, 'b.example': 1, 'a.example': 1 });
  t.same(namesOf(flush(4 * MS)), ['c.example', 'b.example', '-']);
});

t.test('query names, mode allow: names equal to or under a suffix, label by label', async (t) => {
  const { tx, flush } = setup({ names: { mode: 'allow', allow: ['svc.cluster.local', 'example.com'] } });
  lookups(tx, { 'db.prod.svc.cluster.local': 1, 'example.com': 1, 'notexample.com': 1, 'example.com.evil': 1, 'x.EXAMPLE.com': 1 });
  t.same(namesOf(flush(2 * MS)), ['db.prod.svc.cluster.local', 'example.com', '-', '-', 'x.example.com']);
  // A dot inside a label is no label boundary.
  const label = (s: string) => [s.length, ...Buffer.from(s)];
  const tricky = new Uint8Array([...header({ id: 99 }), ...label('a.example'), ...label('com'), 0, 0, 1, 0, 1]);
  tx.observe(pkt({ t: 0, from: 'client', payload: tricky }));
  tx.observe(pkt({ t: MS, from: 'server', payload: new Uint8Array([...header({ id: 99, qr: true }), ...tricky.subarray(12)]) }));
  t.same(namesOf(flush(2 * MS)), ['-'], '"a\\046example.com" is not under example.com');
});

t.test('query names, mode off: never', async (t) => {
  const { tx, flush } = setup({ names: { mode: 'off' } });
  lookups(tx, { 'a.example': 3 });
  const rows = flush(2 * MS);
  t.same(namesOf(rows), ['-', '-', '-']);
  t.ok(rows.every((r) => r.attributes['dns.response_code'] === 'NOERROR'));
});

t.test('rows append to a batch that already holds flows, growing it', async (t) => {
  const { tx } = setup();
  lookups(tx, Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`n${i}.example`, 1])));
  const b = new FlowBatch(2);
  b.addRow();
  b.counters.bytes[0] = 99;
  tx.flush(b, 2 * MS);
  t.equal(b.length, 11);
  t.equal(b.counters.bytes[0], 99);
  t.equal(b.counters.dnsRequests[0], 0);
  t.equal(b.getAttribute(0, 'dns.response_code'), undefined);
  t.equal(b.getAttribute(10, 'dns.question.name'), 'n9.example');
  t.same([...b.counters.dnsRequests.subarray(1, 11)], new Array(10).fill(1));
});
