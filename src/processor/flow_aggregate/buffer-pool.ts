// Column buffers for the rows sent to workers, reused instead of allocated per
// batch. With several workers a chunk is a SharedArrayBuffer that every worker
// reads (each folds in the rows of its own partition) and that comes back here
// once all of them have replied; a single worker gets it transferred and hands
// it back with its reply. Either way the main thread writes the next chunk
// into memory that is already mapped, and no buffer waits for a worker's
// garbage collector (which runs on its own JS heap's schedule, not on these
// buffers').
//
// Chunks have a fixed row count and layout, so buffers come in one size per
// processor; the pool still keys its free lists by byte length, so a buffer of
// another size is never handed out for the wrong layout.

export class BufferPool {
  readonly #free = new Map<number, ArrayBufferLike[]>();
  readonly #maxPerSize: number;
  readonly #shared: boolean;

  /**
   * `maxPerSize`: buffers kept per byte length; more are left to the garbage
   * collector. `shared`: hand out SharedArrayBuffers (to post one chunk to
   * several workers without a copy each) rather than ArrayBuffers.
   */
  constructor(maxPerSize: number, shared = false) {
    this.#maxPerSize = maxPerSize;
    this.#shared = shared;
  }

  take(byteLength: number): ArrayBufferLike {
    const list = this.#free.get(byteLength);
    return list?.pop() ?? (this.#shared ? new SharedArrayBuffer(byteLength) : new ArrayBuffer(byteLength));
  }

  give(buffer: ArrayBufferLike): void {
    // A detached buffer (transferred away) has byteLength 0.
    if (buffer.byteLength === 0) return;
    let list = this.#free.get(buffer.byteLength);
    if (!list) this.#free.set(buffer.byteLength, (list = []));
    if (list.length < this.#maxPerSize) list.push(buffer);
  }

  /** Bytes held for reuse (for tests and diagnostics). */
  get heldBytes(): number {
    let n = 0;
    for (const [size, list] of this.#free) n += size * list.length;
    return n;
  }
}
