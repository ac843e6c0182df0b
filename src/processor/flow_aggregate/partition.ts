// Which worker folds a row in: a hash of the row's group key, so every flow
// of a group always lands in the same worker and partitions never share a
// group. The first worker a moved batch visits computes this for every row
// and passes it on with the batch; every worker receiving a chunk computes it
// for the chunk's rows (aggregate.worker.ts). The main thread never does.
//
// The hash must not depend on the batch (string indexes differ per batch), so
// string attributes enter it as a hash of their text, computed once per
// distinct string of the batch rather than once per row. It only has to be a
// function of the key that spreads groups evenly (a collision puts two groups
// in one partition, which is still right), so it is a sum of one salted term
// per key column, column by column, finished by a mixer: an unset attribute
// adds 0, so a column unset on every row of a chunk (and left out of it, see
// worker-rows.ts) costs no pass at all, and a set value costs a table load and
// an add per row.

import { FLAG_OBSERVER_DESTINATION, FLAG_SOURCE_IS_CLIENT, type FlowBatch } from '../../pdata/flow-batch.ts';
import { fmix32 } from '../../pdata/fmix32.ts';
import type { KeyColumns, KeySpec } from './group-key.ts';

/** Rows hashed at a time, so the hashes being summed stay in the CPU cache. */
const HASH_CHUNK = 4096;

export class Partitioner {
  readonly #spec: KeySpec;
  readonly #n: number;
  /** Per key part, an odd multiplier, so equal values in two columns add different terms. */
  readonly #salts: Int32Array;
  #hash = new Int32Array(0);
  /** The salted text hashes of each attribute part, for the textHash they were made from. */
  #salted: Int32Array[] = [];
  #saltedFor: Int32Array | undefined;

  constructor(spec: KeySpec, partitions: number) {
    this.#spec = spec;
    this.#n = partitions;
    this.#salts = Int32Array.from(spec.parts, (_, j) => fmix32(j + 0x7f4a7c15) | 1);
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
    if (this.#saltedFor !== textHash) this.#salt(textHash);
    const parts = this.#n;
    for (let from = 0; from < n; from += HASH_CHUNK) {
      const to = Math.min(n, from + HASH_CHUNK);
      h.fill(0, from, to);
      this.#sum(rows, h, from, to);
      // The mixed hash's top 16 bits scaled to [0, parts): integer arithmetic
      // throughout, where `(x >>> 0) % parts` takes V8 to a floating-point
      // modulo for hashes past 2^31 (half of them), ~40 ns a row.
      for (let i = from; i < to; i++) h[i] = ((fmix32(h[i]!) >>> 16) * parts) >>> 16;
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

  /** Per attribute part: 0 at 0 for unset (NO_STRING + 1), then each string's text hash × the part's salt. */
  #salt(textHash: Int32Array): void {
    this.#salted = this.#spec.parts.map((p, j) => {
      if (p.kind !== 'attribute') return new Int32Array(0);
      const t = new Int32Array(textHash.length + 1);
      for (let s = 0; s < textHash.length; s++) t[s + 1] = Math.imul(textHash[s]!, this.#salts[j]!);
      return t;
    });
    this.#saltedFor = textHash;
  }

  #sum(rows: KeyColumns, h: Int32Array, from: number, to: number): void {
    this.#spec.parts.forEach((p, j) => {
      const salt = this.#salts[j]!;
      switch (p.kind) {
        case 'source.address': sumAddress(rows.srcAddr!, salt, h, from, to); break;
        case 'destination.address': sumAddress(rows.dstAddr!, salt, h, from, to); break;
        case 'source.port': sumPort(rows.srcPort!, rows.flags!, FLAG_SOURCE_IS_CLIENT, salt, h, from, to); break;
        case 'destination.port': sumPort(rows.dstPort!, rows.flags!, 0, salt, h, from, to); break;
        case 'network.transport': sumByte(rows.protocol!, 0xff, salt, h, from, to); break;
        case 'network.type': sumByte(rows.family!, 0xff, salt, h, from, to); break;
        case 'flow.observer': sumByte(rows.flags!, FLAG_OBSERVER_DESTINATION, salt, h, from, to); break;
        case 'attribute': {
          const col = rows.attributes.get(p.name);
          if (col) sumString(col, this.#salted[j]!, h, from, to);
          break;
        }
      }
    });
  }
}

function sumAddress(a: Uint8Array, salt: number, h: Int32Array, from: number, to: number): void {
  const w = new Int32Array(a.buffer, a.byteOffset, a.length >> 2);
  for (let i = from; i < to; i++) {
    const s = i << 2;
    // Each word through the mixer first: a plain sum of the four would not tell ::1 from 1::.
    h[i] = (h[i]! + Math.imul(fmix32(w[s]! ^ fmix32(w[s + 1]! ^ fmix32(w[s + 2]! ^ fmix32(w[s + 3]!)))), salt)) | 0;
  }
}

/** The port, or 0 where this end is the client (as the group key has it, see group-key.ts). */
function sumPort(ports: Uint16Array, flags: Uint8Array, clientWhen: number, salt: number, h: Int32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const v = (flags[i]! & FLAG_SOURCE_IS_CLIENT) === clientWhen ? 0 : ports[i]!;
    h[i] = (h[i]! + Math.imul(v, salt)) | 0;
  }
}

function sumByte(col: Uint8Array, mask: number, salt: number, h: Int32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) h[i] = (h[i]! + Math.imul(col[i]! & mask, salt)) | 0;
}

function sumString(col: Int32Array, salted: Int32Array, h: Int32Array, from: number, to: number): void {
  for (let i = from; i < to; i++) h[i] = (h[i]! + salted[col[i]! + 1]!) | 0;
}

/** Per string of a table, the hash of its text: what the partition hash adds for an attribute. */
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

