// The native ctnetlink parser on hand-built and corrupted netlink messages:
// valid messages decode to the record layout JS reads; truncated, overlong and
// random bytes are counted as parse errors and never crash or over-read.

import t from 'tap';
import { conntrackAddon } from '../../../src/native/conntrack-addon.ts';
import { RecordView, REC_DESTROY, REC_NEW, REC_UPDATE, RF_HAS_COUNTERS, RF_HAS_ZONE } from '../../../src/native/conntrack-record.ts';
import { formatAddress } from '../../../src/pdata/ip-address.ts';

const NFNL_SUBSYS_CTNETLINK = 1;
const NLM_F_CREATE = 0x400;
const NLM_F_EXCL = 0x200;
const NESTED = 0x8000;

function attr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  payload.copy(b, 4);
  return b;
}
const nest = (type: number, ...kids: Buffer[]) => attr(type | NESTED, Buffer.concat(kids));
const be16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
const be32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; };
const be64 = (v: number) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(v)); return b; };
const ip4 = (s: string) => Buffer.from(s.split('.').map(Number));

function tuple(type: number, src: string, dst: string, sport: number, dport: number): Buffer {
  return nest(type,
    nest(1, attr(1, ip4(src)), attr(2, ip4(dst))),
    nest(2, attr(1, Buffer.from([6])), attr(2, be16(sport)), attr(3, be16(dport))));
}

function message(msgType: number, flags: number, attrs: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from([2, 0, 0, 0]), ...attrs]); // nfgenmsg: AF_INET, v0
  const h = Buffer.alloc(16);
  h.writeUInt32LE(16 + body.length, 0);
  h.writeUInt16LE((NFNL_SUBSYS_CTNETLINK << 8) | msgType, 4);
  h.writeUInt16LE(flags, 6);
  return Buffer.concat([h, body]);
}

const full = () => [
  tuple(1, '10.0.0.1', '10.96.0.10', 40000, 80),
  tuple(2, '10.1.0.5', '10.0.0.1', 8080, 40000),
  attr(3, be32(0x1c6)), // status: SEEN_REPLY|ASSURED|CONFIRMED|DST_NAT...
  nest(4, nest(1, attr(1, Buffer.from([3])))), // protoinfo tcp state ESTABLISHED
  attr(8, be32(0x4000)),
  nest(9, attr(1, be64(7)), attr(2, be64(560))),
  nest(10, attr(1, be64(5)), attr(2, be64(2_000_000_000_000))),
  attr(12, be32(0xdeadbeef)),
  attr(18, be16(7)),
];

t.test('a NEW / UPDATE / DESTROY sequence decodes field by field', async (t) => {
  const addon = conntrackAddon();
  t.equal(addon.RECORD_SIZE, 128);
  const bytes = Buffer.concat([
    message(0, NLM_F_CREATE | NLM_F_EXCL, full()),
    message(0, 0, full()),
    message(2, 0, full()),
  ]);
  const r = addon.parseMessages(bytes);
  t.equal(r.count, 3);
  t.equal(r.parseErrors, 0);
  const v = new RecordView(r.records);
  t.same([v.type(0), v.type(1), v.type(2)], [REC_NEW, REC_UPDATE, REC_DESTROY]);
  t.equal(v.family(0), 4);
  t.equal(v.proto(0), 6);
  t.equal(formatAddress(v.bytes, 32), '10.0.0.1');
  t.equal(formatAddress(v.bytes, 48), '10.96.0.10');
  t.equal(formatAddress(v.bytes, 64), '10.1.0.5');
  t.equal(formatAddress(v.bytes, 80), '10.0.0.1');
  t.same([v.origSport(0), v.origDport(0), v.replySport(0), v.replyDport(0)], [40000, 80, 8080, 40000]);
  t.equal(v.status(0), 0x1c6);
  t.equal(v.tcpState(0), 3);
  t.equal(v.mark(0), 0x4000);
  t.equal(v.id(0), 0xdeadbeef);
  t.equal(v.zone(0), 7);
  t.ok(v.flags(0) & RF_HAS_COUNTERS && v.flags(0) & RF_HAS_ZONE);
  t.same([v.origPackets(0), v.origBytes(0), v.replyPackets(0), v.replyBytes(0)], [7, 560, 5, 2_000_000_000_000], '64-bit counters exact');
});

t.test('IPv6 tuples', async (t) => {
  const a6 = (s: string) => { const b = Buffer.alloc(16); b.writeUInt16BE(0xfd00, 0); b.writeUInt16BE(Number(s), 14); return b; };
  const tuple6 = (type: number, src: string, dst: string, sport: number, dport: number) => nest(type,
    nest(1, attr(3, a6(src)), attr(4, a6(dst))),
    nest(2, attr(1, Buffer.from([17])), attr(2, be16(sport)), attr(3, be16(dport))));
  const r = conntrackAddon().parseMessages(message(0, NLM_F_CREATE, [tuple6(1, '1', '2', 5353, 53), tuple6(2, '3', '1', 53, 5353)]));
  t.same([r.count, r.parseErrors], [1, 0]);
  const v = new RecordView(r.records);
  t.same([v.family(0), v.proto(0)], [6, 17]);
  t.equal(formatAddress(v.bytes, 32), 'fd00::1');
  t.equal(formatAddress(v.bytes, 64), 'fd00::3', 'the reply source (a DNAT backend)');
  const half = conntrackAddon().parseMessages(message(0, 0, [nest(1, nest(1, attr(3, a6('1'))), nest(2, attr(1, Buffer.from([17]))))]));
  t.same([half.count, half.parseErrors], [0, 1], 'a tuple without its destination is malformed');
});

t.test('malformed messages are counted, not decoded', async (t) => {
  const addon = conntrackAddon();
  const cases: Record<string, Buffer> = {
    'no original tuple': message(0, 0, full().slice(1)),
    'attribute longer than the message': (() => { const m = message(0, 0, full()); m.writeUInt16LE(0xfff0, 20); return m; })(),
    'attribute length below its header': (() => { const m = message(0, 0, full()); m.writeUInt16LE(2, 20); return m; })(),
    'short IPv4 address': message(0, 0, [nest(1, nest(1, attr(1, Buffer.from([10, 0])), attr(2, ip4('1.2.3.4'))), nest(2, attr(1, Buffer.from([6]))))]),
    'short counter': message(0, 0, [...full(), nest(9, attr(2, Buffer.from([1, 2, 3])))]),
    'no nfgenmsg': (() => { const h = Buffer.alloc(16); h.writeUInt32LE(16, 0); h.writeUInt16LE(NFNL_SUBSYS_CTNETLINK << 8, 4); return h; })(),
  };
  for (const [name, bytes] of Object.entries(cases)) {
    const r = addon.parseMessages(bytes);
    t.same([r.count, r.parseErrors], [0, 1], name);
  }
  const frame = message(0, 0, full());
  frame.writeUInt32LE(frame.length + 100, 0);
  t.same(addon.parseMessages(frame).parseErrors, 1, 'nlmsg_len past the datagram stops the framing');
  const other = message(0, 0, full());
  other.writeUInt16LE((2 << 8) | 0, 4); // another nfnetlink subsystem (expectations)
  t.same(addon.parseMessages(other), { records: new ArrayBuffer(0), count: 0, parseErrors: 0 }, 'other subsystems are skipped, not errors');
});

t.test('fuzz: random corruption never crashes and never yields garbage families', async (t) => {
  const addon = conntrackAddon();
  const good = Buffer.concat([message(0, NLM_F_CREATE | NLM_F_EXCL, full()), message(2, 0, full())]);
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  let decoded = 0;
  let errors = 0;
  for (let i = 0; i < 20_000; i++) {
    const b = Buffer.from(good);
    const flips = 1 + Math.floor(rand() * 8);
    for (let k = 0; k < flips; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    const cut = rand() < 0.3 ? b.subarray(0, Math.floor(rand() * b.length)) : b;
    const r = addon.parseMessages(cut);
    const v = new RecordView(r.records);
    for (let j = 0; j < v.count; j++) {
      if (v.family(j) !== 4 && v.family(j) !== 6) { t.fail(`record with family ${v.family(j)}`); return; }
    }
    decoded += r.count;
    errors += r.parseErrors;
  }
  t.ok(errors > 1000, `corruption was detected (${errors} errors, ${decoded} records still valid)`);
  const random = Buffer.alloc(1 << 16);
  for (let i = 0; i < random.length; i++) random[i] = Math.floor(rand() * 256);
  addon.parseMessages(random);
  t.pass('64 KiB of random bytes parsed without a crash');
});
