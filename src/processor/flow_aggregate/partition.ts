// Splits a batch's rows between the workers by group-key hash, so every
// flow of a group always lands in the same worker and partitions never share a
// group.
//
// The hash must not depend on the batch (string indexes differ per batch), so
// string attributes enter it as a hash of their text, computed once per
// distinct string of the batch rather than once per row. The hash is mixed
// column by column (hashKeys): the main thread never writes a key out.

import type { FlowBatch } from '../../pdata/flow-batch.ts';
import { hashKeys, type KeySpec } from './group-key.ts';

const PARTITION_SEED = 0x7f4a7c15;
/** Rows hashed at a time, so the hashes being mixed stay in the CPU cache. */
const HASH_CHUNK = 4096;

export class Partitioner {
  readonly #spec: KeySpec;
  readonly #n: number;
  #hash = new Int32Array(0);

  constructor(spec: KeySpec, partitions: number) {
    this.#spec = spec;
    this.#n = partitions;
  }

  /**
   * Which rows of `batch` go to each partition: per partition the row indexes
   * (undefined for all rows, in order: the single-partition case) and their count.
   */
  plan(batch: FlowBatch): Array<{ rows: Int32Array | undefined; count: number }> {
    const n = batch.length;
    if (this.#n === 1) return [{ rows: undefined, count: n }];
    const part = this.partitionOf(batch);
    const counts = new Int32Array(this.#n);
    for (let i = 0; i < n; i++) counts[part[i]!]!++;
    const rows = Array.from(counts, (c) => new Int32Array(c));
    const fill = new Int32Array(this.#n);
    for (let i = 0; i < n; i++) {
      const p = part[i]!;
      rows[p]![fill[p]!++] = i;
    }
    return rows.map((r, p) => ({ rows: r, count: counts[p]! }));
  }

  /** The partition of every row of `batch` (a view valid until the next call). */
  partitionOf(batch: FlowBatch): Int32Array {
    const n = batch.length;
    if (this.#hash.length < n) this.#hash = new Int32Array(Math.max(n, this.#hash.length * 2));
    const h = this.#hash;
    if (this.#n === 1) return h.fill(0, 0, n).subarray(0, n);
    const strings = batch.strings.values();
    const textHash = new Int32Array(strings.length);
    for (let j = 0; j < strings.length; j++) textHash[j] = hashText(strings[j]!);
    const parts = this.#n;
    for (let from = 0; from < n; from += HASH_CHUNK) {
      const to = Math.min(n, from + HASH_CHUNK);
      hashKeys(this.#spec, batch, h, textHash, PARTITION_SEED, from, to);
      for (let i = from; i < to; i++) h[i] = (h[i]! >>> 0) % parts;
    }
    return h.subarray(0, n);
  }
}

/** FNV-1a over UTF-16 code units; only needs to be stable, not cryptographic. */
function hashText(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}
