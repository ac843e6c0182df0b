// Column buffers for the rows sent to workers, reused instead of allocated per
// batch. A worker hands every buffer back with its reply (transferred, not
// copied), so the main thread writes the next chunk into memory that is
// already mapped, and no buffer waits in a worker for that thread's garbage
// collector (which runs on its own JS heap's schedule, not on these buffers').
//
// Chunks have a fixed row count and layout, so buffers come in one size per
// processor; the pool still keys its free lists by byte length, so a buffer of
// another size is never handed out for the wrong layout.

export class BufferPool {
  readonly #free = new Map<number, ArrayBuffer[]>();
  readonly #maxPerSize: number;

  /** `maxPerSize`: buffers kept per byte length; more are left to the garbage collector. */
  constructor(maxPerSize: number) {
    this.#maxPerSize = maxPerSize;
  }

  take(byteLength: number): ArrayBuffer {
    const list = this.#free.get(byteLength);
    return list?.pop() ?? new ArrayBuffer(byteLength);
  }

  give(buffer: ArrayBuffer): void {
    // A detached buffer (already transferred again) has byteLength 0.
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
