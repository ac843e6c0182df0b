// Attribute sets as KeyValue bytes: what is kept for a frozen set and what is
// encoded afresh (the bytes themselves are checked against the official
// serializer in metrics-request-encoder.test.ts).

import t from 'tap';
import { attributesBytes, keyValuesBytes } from '../../../../src/exporter/internal/otlp/otlp-attributes-bytes.ts';

t.test('a frozen set is encoded once per field number; a mutable one every time', async (t) => {
  const frozen = Object.freeze({ 'network.transport': 'tcp', 'destination.port': 443 });
  const a = attributesBytes(frozen, 7);
  t.equal(attributesBytes(frozen, 7), a, 'the kept bytes');
  const h = attributesBytes(frozen, 9);
  t.not(h, a, 'another field number, other bytes');
  t.equal(h[0], (9 << 3) | 2, 'each KeyValue tagged with its field');
  t.equal(a[0], (7 << 3) | 2);
  t.equal(h.length, a.length);
  t.equal(Array.from(h).filter((x, i) => x !== a[i]).length, 2, 'they differ in the two KeyValue tags only');

  const mutable: Record<string, string> = { k: 'v' };
  const m1 = attributesBytes(mutable, 7);
  mutable.k = 'w';
  t.not(Buffer.from(attributesBytes(mutable, 7)).toString('hex'), Buffer.from(m1).toString('hex'), 'a change is seen');
  t.equal(attributesBytes(undefined, 7).length, 0);
});

t.test('the bytes of a set own their buffer, of exactly their size', async (t) => {
  const b = keyValuesBytes({ a: 'x'.repeat(2000), b: true }, 1);
  t.equal(b.byteOffset, 0);
  t.equal(b.buffer.byteLength, b.length, 'not a view of the scratch buffer');
  const again = keyValuesBytes({ c: 1 }, 1);
  t.equal(b[b.length - 1], 1, 'unchanged by the next encoding (b: true ends in varint 1)');
  t.ok(again.length > 0);
});
