// The DNS parser on hand-built messages: queries, responses with compression,
// EDNS0, error codes, the TC bit, hostile names (escaping, bounds, pointers).

import t from 'tap';
import { parseDnsMessage, readDnsName, type DnsParseResult } from '../../../../src/receiver/ebpf/dns/dns-message.ts';
import { header, name, opt, ptr, query, question, response, rr, u16 } from './dns-wire.ts';

const ok = (r: DnsParseResult) => {
  if (!r.ok) throw new Error(`parse failed: ${r.reason}`);
  return r.message;
};
const reason = (r: { ok: true } | { ok: false; reason: string }) => (r.ok ? 'ok' : r.reason);
const bytes = (...parts: number[][]) => new Uint8Array(parts.flat());

t.test('A and AAAA queries', async (t) => {
  t.same(ok(parseDnsMessage(query('example.com', 1, { id: 0xbeef }))), {
    id: 0xbeef, isResponse: false, opcode: 0, rcode: 0, truncatedFlag: false, questionCount: 1, answerCount: 0,
    question: { name: 'example.com', type: 1, class: 1 },
  });
  t.same(ok(parseDnsMessage(query('kubernetes.default.svc.cluster.local', 28))).question, { name: 'kubernetes.default.svc.cluster.local', type: 28, class: 1 });
});

t.test('names are lower-cased (DNS 0x20 mixed case) and have no trailing dot; the root is "."', async (t) => {
  t.equal(ok(parseDnsMessage(query('WwW.ExAmPlE.CoM'))).question?.name, 'www.example.com');
  t.equal(ok(parseDnsMessage(query('', 2))).question?.name, '.');
});

t.test('a response with compressed answers: question read, answers left alone', async (t) => {
  // www.example.com CNAME web.example.com (compressed onto the question's "example.com"), web A 10.0.0.7
  const q = question('www.example.com');
  const cname = rr(ptr(12), 5, 60, [3, ...Buffer.from('web'), ...ptr(16)]);
  const a = rr(ptr(12 + q.length + 12), 1, 60, [10, 0, 0, 7]);
  const msg = bytes(header({ id: 7, qr: true, ra: true, ancount: 2 }), q, cname, a);
  const m = ok(parseDnsMessage(msg));
  t.match(m, { id: 7, isResponse: true, rcode: 0, answerCount: 2, question: { name: 'www.example.com', type: 1 } });
  // The compressed names in the answers read back through their pointer chains.
  const cnameOwner = 12 + q.length;
  t.same(readDnsName(msg, cnameOwner), { ok: true, name: 'www.example.com', end: cnameOwner + 2 });
  const rdata = cnameOwner + 2 + 10;
  t.same(readDnsName(msg, rdata), { ok: true, name: 'web.example.com', end: rdata + 6 });
  const aOwner = cnameOwner + cname.length;
  t.same(readDnsName(msg, aOwner), { ok: true, name: 'web.example.com', end: aOwner + 2 }, 'pointer to a name that itself ends in a pointer');
});

t.test('EDNS0 OPT in the additional section', async (t) => {
  const m = ok(parseDnsMessage(bytes(header({ arcount: 1 }), question('example.org', 65), opt(4096))));
  t.match(m, { isResponse: false, question: { name: 'example.org', type: 65 } });
});

t.test('NXDOMAIN, SERVFAIL, REFUSED and the TC bit', async (t) => {
  t.match(ok(parseDnsMessage(response('nope.example', 1, { rcode: 3 }))), { isResponse: true, rcode: 3, answerCount: 0 });
  t.match(ok(parseDnsMessage(response('x.example', 1, { rcode: 2 }))), { rcode: 2 });
  t.match(ok(parseDnsMessage(response('x.example', 1, { rcode: 5 }))), { rcode: 5 });
  t.match(ok(parseDnsMessage(response('big.example', 16, { tc: true }))), { truncatedFlag: true, question: { type: 16 } });
});

t.test('opcode and a message without a question', async (t) => {
  t.match(ok(parseDnsMessage(query('zone.example', 6, { opcode: 4 }))), { opcode: 4 });
  const m = ok(parseDnsMessage(bytes(header({ qr: true, rcode: 1, qdcount: 0 }))));
  t.match(m, { rcode: 1, questionCount: 0, question: undefined });
});

t.test('bytes that could inject are escaped as \\DDD', async (t) => {
  const label = (s: number[]) => [s.length, ...s];
  const msg = bytes(header(), label([0x61, 0x0a, 0x7b, 0x22, 0x20]), label([0x2e, 0x5c, 0xff, 0x00]), [3, 0x63, 0x6f, 0x6d, 0], u16(1), u16(1));
  const n = ok(parseDnsMessage(msg)).question!.name;
  t.equal(n, 'a\\010\\123\\034\\032.\\046\\092\\255\\000.com');
  t.notMatch(n, /[\x00-\x1f\x7f-\uffff"{ ]/, 'only printable ASCII, no quotes or braces');
});

t.test('length limits: labels of 63 and names of 255 bytes pass, one more fails', async (t) => {
  const l63 = 'a'.repeat(63);
  t.equal(ok(parseDnsMessage(query(`${l63}.example`))).question?.name, `${l63}.example`);
  t.equal(reason(parseDnsMessage(bytes(header(), [64, ...new Array(64).fill(0x61), 0], u16(1), u16(1)))), 'label_too_long');
  // 4 labels of 63 = 256 bytes with the root byte: too long; 3×63 + 61 = 254 + root = 255: fits.
  const n255 = [l63, l63, l63, 'b'.repeat(61)].join('.');
  t.equal(name(n255).length, 255);
  t.equal(ok(parseDnsMessage(query(n255))).question?.name, n255);
  t.equal(reason(parseDnsMessage(query([l63, l63, l63, 'b'.repeat(62)].join('.')))), 'name_too_long');
});

t.test('compression pointers: backwards only, never into the header, bounded', async (t) => {
  const q = question('a.example');
  // A second question at the end whose name points back to the first: fine.
  t.same(readDnsName(bytes(header(), q, ptr(12)), 12 + q.length), { ok: true, name: 'a.example', end: 12 + q.length + 2 });
  t.equal(reason(parseDnsMessage(bytes(header(), ptr(12), u16(1), u16(1)))), 'pointer_loop', 'a pointer to itself');
  t.equal(reason(parseDnsMessage(bytes(header(), ptr(20), u16(1), u16(1), name('x')))), 'pointer_loop', 'forward');
  t.equal(reason(parseDnsMessage(bytes(header(), ptr(4), u16(1), u16(1)))), 'bad_pointer', 'into the header');
  // Two names pointing at each other through labels: each pointer is "backwards"
  // from where it sits, yet together they loop; the segment rule refuses it.
  const loop = bytes(header(), [1, 0x61], ptr(16), [1, 0x62], ptr(12));
  t.equal(reason(readDnsName(loop, 16)), 'pointer_loop');
  // A chain of 17 pointers, each to the one before it.
  const chain = [...name('x')];
  for (let i = 0; i < 17; i++) chain.push(...ptr(12 + (i === 0 ? 0 : chain.length - 2)));
  const msg = bytes(header(), chain);
  t.equal(reason(readDnsName(msg, msg.length - 2)), 'too_many_pointers');
  t.equal(reason(readDnsName(msg, msg.length - 4)), 'ok', '16 pointers still pass');
});

t.test('running out of bytes', async (t) => {
  t.equal(reason(parseDnsMessage(new Uint8Array(0))), 'short_header');
  t.equal(reason(parseDnsMessage(new Uint8Array(11))), 'short_header');
  t.equal(reason(parseDnsMessage(bytes(header()))), 'short_question');
  const full = query('example.com');
  t.equal(reason(parseDnsMessage(full.subarray(0, full.length - 1))), 'short_question');
  t.equal(reason(parseDnsMessage(full.subarray(0, 20))), 'truncated_name');
  t.equal(reason(parseDnsMessage(bytes(header(), [0xc0]))), 'truncated_name', 'half a pointer');
  t.equal(reason(parseDnsMessage(bytes(header(), [0x80, 0]))), 'bad_name', 'reserved label type');
  for (const at of [-1, 1.5, NaN, 1e9]) t.equal(reason(readDnsName(query('a.example'), at)), 'truncated_name', `readDnsName at ${at}`);
});
