// Gzips a serialized export request into a buffer whose whole backing store
// belongs to the result, so that releaseLargeBuffer() can free every byte
// zlib wrote once the request is done with it.
//
// zlib.gzip() (the convenience call) hands back a copy of what it wrote: it
// collects its output chunks and concatenates them, even when there is only
// one. zlib's own output buffer is then garbage that V8 frees only in a full
// collection, which an agent's small heap seldom runs. Sized to hold the
// whole result (below), that buffer had ~1.6 MB written per request of the
// pipeline bench's exports (2.4 MB of protobuf each, two per export): pages
// that stayed resident export after export (bench/pipeline.child.ts with
// PODFLOW_BENCH_MEMTRACE=1: array buffers 8.8 → 30.1 MiB over three exports).
// Here the stream's chunks are views of that buffer, back to back, and the
// result is one view over all of them: nothing is copied and nothing is left
// behind.
//
// Still on libuv's thread pool, as zlib.gzip(): an interval's export is ~1 MB
// of protobuf, and compressing it on the main thread held the event loop for
// tens of milliseconds (bench/pipeline.bench.ts: gzip was ~9% of its CPU).

import { createGzip } from 'node:zlib';
import { releaseLargeBuffer } from '../../../pdata/release-large-buffer.ts';

/**
 * One output buffer that can hold any result (deflate's worst case is a few
 * bytes per 1000 over its input, plus the gzip header and trailer); zlib's
 * default 16 KiB chunks would each be a buffer of their own. Only the pages
 * zlib writes are ever touched.
 */
function outputBufferSize(inputBytes: number): number {
  return Math.max(16 * 1024, inputBytes + (inputBytes >> 8) + 1024);
}

/** The gzip of `body`, in a buffer whose backing store holds nothing else (see releaseLargeBuffer). */
export function gzipPayload(body: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const gz = createGzip({ chunkSize: outputBufferSize(body.byteLength) });
    gz.on('data', (chunk: Buffer) => parts.push(chunk));
    gz.once('error', reject);
    gz.once('end', () => resolve(joinParts(parts)));
    gz.end(body);
  });
}

/**
 * The parts as one buffer: a view when they lie back to back in one buffer
 * (zlib fills its output buffer from the start and moves to a new one only
 * when it is full, which the size above prevents), otherwise a copy, and the
 * buffers the parts were in are freed at once.
 */
export function joinParts(parts: Buffer[]): Buffer {
  const first = parts[0];
  if (first === undefined) return Buffer.alloc(0);
  let end = first.byteOffset + first.byteLength;
  let contiguous = true;
  for (let k = 1; k < parts.length && contiguous; k++) {
    const p = parts[k]!;
    contiguous = p.buffer === first.buffer && p.byteOffset === end;
    end += p.byteLength;
  }
  if (contiguous) return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
  const joined = Buffer.concat(parts);
  for (const p of new Set(parts.map((part) => part.buffer))) releaseLargeBuffer(p);
  return joined;
}
