// Splits a batch into one copy per worker by group-key hash, so every flow of
// a group always lands in the same worker and partitions never share a group.
//
// The hash must not depend on the batch (string indexes differ per batch), so
// string attributes enter it as a hash of their text, computed once per
// distinct string of the batch rather than once per row.

import type { FlowBatch } from '../../pdata/flow-batch.ts';
import { selectRows } from '../../pdata/flow-batch-select.ts';
import { hashWords, writeKeys, type KeySpec } from './group-key.ts';

const PARTITION_SEED = 0x7f4a7c15;

export class Partitioner {
  readonly #spec: KeySpec;
  readonly #n: number;
  #keys = new Int32Array(0);

  constructor(spec: KeySpec, partitions: number) {
    this.#spec = spec;
    this.#n = partitions;
  }

  /** One batch per partition (undefined where no row falls), each owning its buffers. */
  split(batch: FlowBatch): Array<FlowBatch | undefined> {
    // Workers read only the key's columns and the counters: addresses are copied only when grouped by.
    const addresses = this.#spec.parts.some((p) => p.kind === 'source.address' || p.kind === 'destination.address');
    const opts = { attributes: this.#spec.attributeNames, addresses };
    if (this.#n === 1) return [selectRows(batch, undefined, batch.length, opts)];
    const n = batch.length;
    const W = this.#spec.words;
    if (this.#keys.length < n * W) this.#keys = new Int32Array(Math.max(n * W, this.#keys.length * 2));
    const strings = batch.strings.values();
    const textHash = new Int32Array(strings.length);
    const known = new Uint8Array(strings.length);
    writeKeys(this.#spec, batch, this.#keys, (idx) => {
      if (!known[idx]) {
        textHash[idx] = hashText(strings[idx]!);
        known[idx] = 1;
      }
      return textHash[idx]!;
    });
    const part = new Int32Array(n);
    const counts = new Int32Array(this.#n);
    for (let i = 0; i < n; i++) {
      const p = hashWords(this.#keys, i * W, W, PARTITION_SEED) % this.#n;
      part[i] = p;
      counts[p]!++;
    }
    const rows = Array.from(counts, (c) => new Int32Array(c));
    const fill = new Int32Array(this.#n);
    for (let i = 0; i < n; i++) {
      const p = part[i]!;
      rows[p]![fill[p]!++] = i;
    }
    return rows.map((r, p) => (counts[p]! > 0 ? selectRows(batch, r, counts[p]!, opts) : undefined));
  }
}

/** FNV-1a over UTF-16 code units; only needs to be stable, not cryptographic. */
function hashText(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}
