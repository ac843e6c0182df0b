// Frees the memory of a large serialized request once nothing reads it any
// more (the otlp_http transport: as soon as it is compressed).
//
// A request's bytes (~5 MB for 14k data points) would live across the await of
// its HTTP round trip, long enough for V8 to promote the array that holds them;
// a promoted ArrayBuffer is freed only by a full collection, which an agent
// whose JS heap stays small rarely runs. Each export left its request
// resident until one did (pipeline bench: +5 MiB of array buffers per
// export). Transferring the buffer to a zero-length one releases the bytes at
// once. Only buffers of 64 KiB and more, and only detachable ones: Node marks
// the slabs of its shared Buffer pool, which other Buffers use, as not
// detachable, and transfer() refuses them.

const MIN_BYTES = 64 * 1024;

/** ES2024's resizable-transfer members (Node 22+), outside the es2023 lib this project compiles against. */
interface TransferableArrayBuffer extends ArrayBuffer {
  readonly detached: boolean;
  transfer(newLength: number): ArrayBuffer;
}

export function releaseLargeBuffer(view: ArrayBufferView): void {
  if (!(view.buffer instanceof ArrayBuffer)) return;
  const buffer = view.buffer as TransferableArrayBuffer;
  if (buffer.detached || buffer.byteLength < MIN_BYTES) return;
  try {
    buffer.transfer(0);
  } catch {
    // Not detachable (a pool slab): it stays with its other users.
  }
}
