// Frees the memory of a large ArrayBuffer at once, for the code that owns it
// and knows nothing reads it any more: a serialized export request once it
// is compressed (otlp_http), a FlowBatch's columns once the pipeline has
// consumed the batch (FlowBatch.release).
//
// V8 frees an ArrayBuffer's bytes only when it collects the object that holds
// them. An array that lives across an await (a request's HTTP round trip, a
// batch's trip through the pipeline) is often promoted by then, and a promoted
// ArrayBuffer goes only in a full collection, which an agent whose JS heap
// stays small rarely runs: V8 starts one when the external memory it tracks
// has grown by tens of MiB. Until then every interval's requests and batches
// stay resident (pipeline bench: +5 MiB of array buffers per export; `podflow
// run` at 50k active flows: 40 MiB of array buffers at peaks, see
// FlowBatch.release). Transferring the buffer to a zero-length one releases
// the bytes at once. Only buffers of 64 KiB and more, and only detachable
// ones: Node marks the slabs of its shared Buffer pool, which other Buffers
// use, as not detachable, and transfer() refuses them; a SharedArrayBuffer
// may have readers on other threads and is left alone.

const MIN_BYTES = 64 * 1024;

/** ES2024's resizable-transfer members (Node 22+), outside the es2023 lib this project compiles against. */
interface TransferableArrayBuffer extends ArrayBuffer {
  readonly detached: boolean;
  transfer(newLength: number): ArrayBuffer;
}

/** Releases `of` (a buffer, or the whole buffer under a view): every view of it reads as empty afterwards. */
export function releaseLargeBuffer(of: ArrayBufferView | ArrayBufferLike): void {
  const b = ArrayBuffer.isView(of) ? of.buffer : of;
  if (!(b instanceof ArrayBuffer)) return;
  const buffer = b as TransferableArrayBuffer;
  if (buffer.detached || buffer.byteLength < MIN_BYTES) return;
  try {
    buffer.transfer(0);
  } catch {
    // Not detachable (a pool slab): it stays with its other users.
  }
}
