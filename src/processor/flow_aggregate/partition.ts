// Which worker folds a row in: a hash of the row's group key, so every flow
// of a group always lands in the same worker and partitions never share a
// group. Every worker receives every chunk and computes this for its rows
// (aggregate.worker.ts), so the main thread does not split batches.
//
// The hash must not depend on the batch (string indexes differ per batch), so
// string attributes enter it as a hash of their text, computed once per
// distinct string of the batch rather than once per row. The hash is mixed
// column by column (hashKeys): the key is never written out.

import type { FlowBatch } from '../../pdata/flow-batch.ts';
import { hashKeys, type KeyColumns, type KeySpec } from './group-key.ts';

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

  /** The partition of every row of `batch` (a view valid until the next call). */
  partitionOf(batch: FlowBatch): Int32Array {
    return this.partitionOfRows(batch, textHashes(batch.strings.values()));
  }

  /**
   * The partition of every row of `rows`, whose attribute columns index a
   * string table with the text hashes `textHash` (see textHashes); a view
   * valid until the next call.
   */
  partitionOfRows(rows: KeyColumns, textHash: Int32Array): Int32Array {
    const n = rows.length;
    if (this.#hash.length < n) this.#hash = new Int32Array(Math.max(n, this.#hash.length * 2));
    const h = this.#hash;
    if (this.#n === 1) return h.fill(0, 0, n).subarray(0, n);
    const parts = this.#n;
    for (let from = 0; from < n; from += HASH_CHUNK) {
      const to = Math.min(n, from + HASH_CHUNK);
      hashKeys(this.#spec, rows, h, textHash, PARTITION_SEED, from, to);
      for (let i = from; i < to; i++) h[i] = (h[i]! >>> 0) % parts;
    }
    return h.subarray(0, n);
  }

  /** Rows of `rows` per partition. */
  countOfRows(rows: KeyColumns, textHash: Int32Array): Int32Array {
    const part = this.partitionOfRows(rows, textHash);
    const counts = new Int32Array(this.#n);
    for (let i = 0; i < part.length; i++) counts[part[i]!]!++;
    return counts;
  }
}

/** Per string of a table, the hash of its text: what the partition hash mixes in for an attribute. */
export function textHashes(strings: readonly string[]): Int32Array {
  const out = new Int32Array(strings.length);
  for (let j = 0; j < strings.length; j++) out[j] = hashText(strings[j]!);
  return out;
}

/** FNV-1a over UTF-16 code units; only needs to be stable, not cryptographic. */
function hashText(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}
