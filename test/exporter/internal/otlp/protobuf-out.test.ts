// ProtoOut's primitives against hand-worked protobuf encodings.

import t from 'tap';
import { ProtoOut, utf8Length, varint64Size } from '../../../../src/exporter/internal/otlp/protobuf-out.ts';

function hex(write: (o: ProtoOut) => void): string {
  const o = new ProtoOut(1); // grows as written
  write(o);
  return Buffer.from(o.finish()).toString('hex');
}

t.test('varints', async (t) => {
  t.equal(hex((o) => o.varint32(0)), '00');
  t.equal(hex((o) => o.varint32(300)), 'ac02');
  t.equal(hex((o) => o.varint32(0xffffffff)), 'ffffffff0f');
  t.equal(hex((o) => o.varint64(2 ** 35)), '8080808080' + '01');
  t.equal(hex((o) => o.varint64(-1)), 'ffffffffffffffffff01', '-1: ten bytes of two\'s complement');
  for (const v of [0, 1, 127, 128, 2 ** 32, 2 ** 53 - 1, -1, -(2 ** 40)]) t.equal(varint64Size(v), hex((o) => o.varint64(v)).length / 2, `size of ${v}`);
  t.equal(hex((o) => o.tag(7, 2)), '3a');
});

t.test('fixed-width numbers and times', async (t) => {
  t.equal(hex((o) => o.uint64(2 ** 40 + 5)), '0500000000010000');
  t.equal(hex((o) => o.sfixed64(-2)), 'feffffffffffffff');
  t.equal(hex((o) => o.double(1.5)), '000000000000f83f');
  // 1,795,700,010.123456789 s in ns: 1795700010123456789 = 0x18EB9E7D2B0B9B15
  t.equal(hex((o) => o.hrTime([1_795_700_010, 123_456_789])), Buffer.from(new BigUint64Array([1795700010123456789n]).buffer).toString('hex'));
  t.equal(hex((o) => o.hrTime([0, 999_999_999])), Buffer.from(new BigUint64Array([999999999n]).buffer).toString('hex'));
});

t.test('strings in UTF-8, a lone surrogate as U+FFFD', async (t) => {
  t.equal(hex((o) => o.string('tcp')), '03746370');
  t.equal(hex((o) => o.string('é')), '02c3a9');
  t.equal(hex((o) => o.string('😀')), '04f09f9880');
  t.equal(hex((o) => o.string('\ud800')), '03efbfbd');
  t.same(['', 'ab', 'é', '東京', '😀', '\udc00x'].map(utf8Length), [0, 2, 2, 6, 4, 4]);
});

t.test('a buffer of exactly the size written does not grow; one byte less does', async (t) => {
  const write = (o: ProtoOut) => {
    o.tag(1, 2);
    o.string('hello'); // tag 1 + length 1 + 5
    o.uint64(1); // + 8 = 15
  };
  const exact = new ProtoOut(15);
  const buf = exact.buf;
  write(exact);
  t.equal(exact.pos, 15);
  t.equal(exact.buf, buf, 'the same buffer');
  const short = new ProtoOut(14);
  const before = short.buf;
  write(short);
  t.not(short.buf, before, 'grown');
  t.equal(Buffer.from(short.finish()).toString('hex'), Buffer.from(exact.finish()).toString('hex'));
});
