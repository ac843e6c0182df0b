// gzipPayload: the gzip of a request, in a buffer whose backing store is the
// one zlib wrote, so that freeing the payload frees all of it; joinParts'
// copy when parts do not lie back to back frees what they were in.

import t from 'tap';
import { gunzipSync } from 'node:zlib';
import { gzipPayload, joinParts } from '../../../../src/exporter/internal/otlp/gzip-payload.ts';
import { releaseLargeBuffer } from '../../../../src/pdata/release-large-buffer.ts';

/** Half random, half a repeating pattern: compressible, as protobuf is, but not to nothing. */
function body(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = i % 2 === 0 ? x >>> 24 : i & 0x3f;
  }
  return b;
}

t.test('round trip at every size, from empty to a multi-megabyte export', async (t) => {
  for (const [n, seed] of [[0, 1], [1, 2], [100, 3], [70_000, 4], [1_000_000, 5], [2_400_000, 6]] as const) {
    const b = body(n, seed);
    const out = await gzipPayload(b);
    t.ok(gunzipSync(out).equals(Buffer.from(b)), `${n} bytes`);
  }
});

t.test('a large payload is a view of the buffer zlib wrote, and freeing it frees that buffer', async (t) => {
  const b = body(2_400_000, 7);
  const out = await gzipPayload(b);
  const compressedLength = out.length;
  // zlib.gzip() returned a copy of exactly the written length, and left the
  // buffer it wrote (sized for any result) to the collector.
  t.ok(out.buffer.byteLength > b.byteLength, `the backing store (${out.buffer.byteLength} B) is zlib's output buffer, sized for the input`);
  t.ok(compressedLength < b.byteLength, 'compressed');
  releaseLargeBuffer(out);
  t.equal(out.buffer.byteLength, 0, 'the whole output buffer is freed');
});

t.test('joinParts: parts back to back in one buffer become one view, without a copy', async (t) => {
  const whole = Buffer.alloc(200_000);
  for (let i = 0; i < whole.length; i++) whole[i] = i & 0xff;
  const parts = [whole.subarray(0, 50_000), whole.subarray(50_000, 150_000), whole.subarray(150_000, 180_000)];
  const joined = joinParts(parts);
  t.equal(joined.buffer, whole.buffer);
  t.equal(joined.byteOffset, 0);
  t.equal(joined.length, 180_000);
  t.ok(joined.equals(whole.subarray(0, 180_000)));
});

t.test('joinParts: parts in buffers of their own are copied, and those buffers freed at once', async (t) => {
  const a = Buffer.alloc(100_000, 1);
  const b = Buffer.alloc(100_000, 2);
  const gap = Buffer.alloc(300_000, 3);
  const parts = [a, b, gap.subarray(100_000, 200_000), gap.subarray(0, 10)]; // the last two: one buffer, not in order
  const joined = joinParts(parts);
  t.equal(joined.length, 300_010);
  t.equal(joined[0], 1);
  t.equal(joined[100_000], 2);
  t.equal(joined[200_000], 3);
  t.equal(joined[300_009], 3);
  t.equal(a.buffer.byteLength, 0, 'freed');
  t.equal(b.buffer.byteLength, 0, 'freed');
  t.equal(gap.buffer.byteLength, 0, 'freed');
  t.same(joinParts([]), Buffer.alloc(0));
});
