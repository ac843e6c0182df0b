// The rows the workers receive in an 'add' task: only the columns the group
// key and the accumulators read, in one buffer: transferred to a single
// worker, or shared by several, each reading it in place (no copy per worker,
// no structured clone of row objects). A counter column that is zero on every
// row of the chunk is left out (adding zeros changes no sum and records no
// histogram sample), and so is an attribute column unset on every row of it:
// receivers append their drop and DNS rows after the flows, so most chunks
// carry none of those columns.
//
// Cost per row on the main thread is one copy of what the workers read (about
// 120 bytes for the default group_by with the usual counters) instead of a
// whole FlowBatch (addresses, NAT columns, every counter and attribute), into
// pooled buffers (buffer-pool.ts), whatever the number of workers. A worker
// folds its partition's rows in where they lie in the chunk (GroupTable.addRows
// with a selection).

import { COUNTER_COLUMNS, NO_STRING, type CounterColumn, type FlowBatch } from '../../pdata/flow-batch.ts';
import type { BufferPool } from './buffer-pool.ts';
import { keyColumnsOf, type KeyColumnName, type KeyColumns, type KeySpec } from './group-key.ts';

export interface WorkerRows extends KeyColumns {
  /**
   * The source batch's string table: attribute columns index into it. Sent
   * with a batch's first chunk for a worker only; absent, it is the table of
   * the previous rows this worker received (the same batch's).
   */
  strings?: readonly string[];
  /** Absent columns are zero on every row. */
  counters: Partial<Record<CounterColumn, Float64Array>>;
  /** The one buffer every column above is a view of (absent for rowsOfBatch). */
  buffer?: ArrayBufferLike;
}

/** What RowsCopier copies from: a FlowBatch, or rows a worker received. */
export interface RowsSource extends KeyColumns {
  counters: Partial<Record<CounterColumn, Float64Array>>;
}

/** Rows per WorkerRows message: bounds a message's memory (about 1 MiB) whatever the batch size. */
export const CHUNK_ROWS = 8192;

/**
 * Builds WorkerRows for one key spec. All columns of a chunk are views of one
 * pooled buffer at fixed offsets, so a message carries one buffer and the
 * pool holds buffers of a single size.
 */
export class RowsCopier {
  readonly #fixed: Array<{ name: KeyColumnName; offset: number }> = [];
  readonly #attributes: Array<{ name: string; offset: number }> = [];
  readonly #counters = {} as Record<CounterColumn, number>;
  readonly #chunkBytes: number;
  readonly #pool: BufferPool;
  #chunks = 0;

  constructor(spec: KeySpec, pool: BufferPool) {
    let bytes = 0;
    // Every column starts 8-byte aligned (Float64Array views need it).
    const place = (bytesPerRow: number): number => {
      const at = bytes;
      bytes += Math.ceil((CHUNK_ROWS * bytesPerRow) / 8) * 8;
      return at;
    };
    for (const name of keyColumnsOf(spec)) this.#fixed.push({ name, offset: place(FIXED_WIDTH[name]) });
    for (const name of spec.attributeNames) this.#attributes.push({ name, offset: place(4) });
    for (const c of COUNTER_COLUMNS) this.#counters[c] = place(8);
    this.#chunkBytes = bytes;
    this.#pool = pool;
  }

  /**
   * The counter columns of `batch` with at least one non-zero row in [from,
   * from + count) (the ones to send). Asked per chunk: receivers append their
   * drop and DNS rows after the flows, so most chunks of a batch that has some
   * carry none, and a column left out costs neither the copy nor the worker's sum.
   */
  static presentCounters(batch: RowsSource, from = 0, count = batch.length): CounterColumn[] {
    return COUNTER_COLUMNS.filter((c) => {
      const col = batch.counters[c];
      return col !== undefined && anyNonZero(col, from, from + count);
    });
  }

  /**
   * The `count` (≤ CHUNK_ROWS) rows [from, from+count) of `batch`, with the
   * counter columns `counters`, and `strings` as the string table when given
   * (a copy the caller will not change: the rows' attribute columns index into it).
   */
  copy(
    batch: RowsSource, from: number, count: number, counters: readonly CounterColumn[], strings: readonly string[] | undefined,
  ): WorkerRows {
    this.#chunks++;
    const buffer = this.#pool.take(this.#chunkBytes);
    const attributes = new Map<string, Int32Array>();
    const out: WorkerRows = { length: count, counters: {}, attributes, buffer };
    if (strings) out.strings = strings;
    for (const { name, offset } of this.#fixed) {
      if (name === 'srcPort' || name === 'dstPort') {
        const v = new Uint16Array(buffer, offset, count);
        v.set(batch[name]!.subarray(from, from + count));
        out[name] = v;
      } else {
        const w = FIXED_WIDTH[name];
        const v = new Uint8Array(buffer, offset, count * w);
        v.set(batch[name]!.subarray(from * w, (from + count) * w));
        out[name] = v;
      }
    }
    for (const { name, offset } of this.#attributes) {
      const col = batch.attributes.get(name);
      // A column unset on every row of the range keys like an absent one
      // (writeKeys writes -1 for both; the partition hash adds 0 for both):
      // not sent, like the drop and DNS attributes of the chunks without such rows.
      if (!col || allUnset(col, from, from + count)) continue;
      const v = new Int32Array(buffer, offset, count);
      v.set(col.subarray(from, from + count));
      attributes.set(name, v);
    }
    for (const c of counters) {
      const col = batch.counters[c]!;
      const v = new Float64Array(buffer, this.#counters[c], count);
      v.set(col.subarray(from, from + count));
      out.counters[c] = v;
    }
    return out;
  }

  /** Chunks copied so far (for tests and diagnostics). */
  get chunks(): number {
    return this.#chunks;
  }

  /** Takes back the buffer of rows no worker reads any more (a detached one is ignored). */
  recycle(buffer: ArrayBufferLike | undefined): void {
    if (buffer) this.#pool.give(buffer);
  }
}

const FIXED_WIDTH: Record<KeyColumnName, number> = { family: 1, protocol: 1, flags: 1, srcAddr: 16, dstAddr: 16, srcPort: 2, dstPort: 2 };

/** The same rows read in place from a FlowBatch (no copy), e.g. to fold a batch on this thread. */
export function rowsOfBatch(batch: FlowBatch): WorkerRows {
  return {
    length: batch.length, family: batch.family, protocol: batch.protocol, flags: batch.flags,
    srcAddr: batch.srcAddr, dstAddr: batch.dstAddr, srcPort: batch.srcPort, dstPort: batch.dstPort,
    attributes: batch.attributes, strings: batch.strings.values(), counters: batch.counters,
  };
}

function anyNonZero(col: Float64Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (col[i] !== 0) return true;
  return false;
}

function allUnset(col: Int32Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (col[i] !== NO_STRING) return false;
  return true;
}
