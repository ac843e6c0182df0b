import t from 'tap';
import { fmix32 } from '../../src/pdata/fmix32.ts';

/** The IPv4 address a.b.c.d as annotate reads it: one little-endian 32-bit word. */
const word = (a: number, b: number, c: number, d: number) => new Int32Array(Uint8Array.of(a, b, c, d).buffer)[0]!;

t.test('addresses that differ only in their top byte land in distinct low-bit buckets', async (t) => {
  // 600 pods 16 addresses apart in 10.0.0.0/16: the words differ in their two top bytes,
  // in multiples of 16; a table of 2048 slots masks off the low 11 bits.
  const buckets = new Set<number>();
  for (let p = 0; p < 600; p++) buckets.add(fmix32(word(10, 0, (p * 16) >> 8, (p * 16) & 255)) & 2047);
  // Random placement of 600 keys in 2048 slots fills ~527 distinct ones.
  t.ok(buckets.size > 480, `${buckets.size} distinct buckets of 600 keys`);
});

t.test('every input bit flips about half of the output bits', async (t) => {
  for (const x of [0, 1, 0x0a000010, -1, 0x7fffffff]) {
    for (let bit = 0; bit < 32; bit++) {
      const d = fmix32(x) ^ fmix32(x ^ (1 << bit));
      let flipped = 0;
      for (let k = 0; k < 32; k++) flipped += (d >>> k) & 1;
      t.ok(flipped >= 6 && flipped <= 26, `input ${x} bit ${bit}: ${flipped} output bits flip`);
    }
  }
});

t.test('is a 32-bit integer function with the reference values of murmur3 fmix32', async (t) => {
  // Computed with the reference C: h ^= h >> 16; h *= 0x85ebca6b; h ^= h >> 13; h *= 0xc2b2ae35; h ^= h >> 16.
  t.equal(fmix32(0) >>> 0, 0);
  t.equal(fmix32(1) >>> 0, 0x514e28b7);
  t.equal(Number.isInteger(fmix32(0x12345678)), true);
});
