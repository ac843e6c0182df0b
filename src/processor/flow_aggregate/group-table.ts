// The per-interval state of one worker: an open-addressing hash table from
// group key (KeySpec words) to a group index, and per-group accumulators in
// flat typed arrays (summed counters; count/sum/min/max/buckets for the
// histogram inputs). Nothing per flow is allocated; after every flush the
// table is cleared in place, or allocated afresh when the next interval's size
// differs, so memory follows the interval's cardinality.

import { FlowBatch, NO_STRING, type CounterColumn } from '../../pdata/flow-batch.ts';
import {
  ADDITIVE_COLUMNS, HISTOGRAM_COLUMNS, bucketIndex, clearHistogramColumns, emptyHistogramColumns,
  type HistogramColumn, type HistogramColumns,
} from '../../pdata/flow-aggregation.ts';
import { StringTable } from '../../pdata/string-table.ts';
import { hashWords, writeKeys, writeRowFromKey, type KeySpec } from './group-key.ts';
import { rowsOfBatch, type WorkerRows } from './worker-rows.ts';

const TABLE_SEED = 0x2545f491;
/** Rows whose keys are built at a time: 2048 × words × 4 bytes stays in the CPU cache. */
const KEY_CHUNK = 2048;

export class GroupTable {
  readonly #spec: KeySpec;
  readonly #groupBy: string[];
  readonly #boundaries: Record<HistogramColumn, Float64Array>;
  /** Rows (flows) folded in since the last reset. */
  flowsIn = 0;
  size = 0;
  #cap = 0;
  #keys = new Int32Array(0);
  #slots = new Int32Array(0); // group index + 1; 0 = empty
  #mask = 0;
  #sums: Float64Array[] = [];
  #hist = {} as Record<HistogramColumn, HistogramColumns>;
  // Interval-wide string ids, so one group's key is the same in every batch.
  #strings: string[] = [];
  #stringIds = new Map<string, number>();
  #scratch: Int32Array;
  #groupOf = new Int32Array(0);
  #values = new Float64Array(0);
  /** The string table of the batch being added, and its ids here: string i's at i + 1, -1 at 0 (see writeKeys). */
  #batchStrings: readonly string[] | undefined;
  #batchIds = Int32Array.of(-1);

  constructor(spec: KeySpec, groupBy: readonly string[], boundaries: Record<HistogramColumn, readonly number[]>) {
    this.#spec = spec;
    this.#scratch = new Int32Array(KEY_CHUNK * spec.words);
    this.#groupBy = [...groupBy];
    this.#boundaries = Object.fromEntries(
      HISTOGRAM_COLUMNS.map((c) => [c, Float64Array.from(boundaries[c])]),
    ) as Record<HistogramColumn, Float64Array>;
    this.reset();
  }

  reset(): void {
    // Sized for the interval that just ended: cardinality changes slowly, and
    // growing (rehashing) from small every interval would cost more than the memory.
    let groups = 256;
    while (groups < this.size * 1.25) groups *= 2;
    const used = this.size;
    this.flowsIn = 0;
    this.size = 0;
    this.#strings = [];
    this.#stringIds = new Map();
    // The same size as the interval before (the usual case): cleared in place.
    // New arrays every flush (~3 MiB at 4096 groups) would be garbage that
    // waits in the worker's heap for a full collection.
    if (groups === this.#cap) this.#clear(used);
    else this.#allocate(groups);
    // A batch's next chunks may follow: its strings need ids in the new interval's table.
    if (this.#batchStrings) this.#resolve(this.#batchStrings);
  }

  #allocate(groups: number): void {
    this.#cap = groups;
    this.#keys = new Int32Array(groups * this.#spec.words);
    this.#sums = ADDITIVE_COLUMNS.map(() => new Float64Array(groups));
    for (const c of HISTOGRAM_COLUMNS) this.#hist[c] = emptyHistogramColumns(this.#boundaries[c], groups);
    this.#slots = new Int32Array(groups * 2); // load factor ≤ 0.5
    this.#mask = groups * 2 - 1;
  }

  /**
   * Back to no groups, in place. Only the `used` rows that held groups are
   * cleared (the rows past them were never written): the table is sized a
   * quarter or more above the interval's groups, and those pages stay untouched.
   */
  #clear(used: number): void {
    this.#sums.forEach((s) => s.fill(0, 0, used));
    for (const c of HISTOGRAM_COLUMNS) clearHistogramColumns(this.#hist[c], used);
    this.#slots.fill(0);
  }

  #grow(): void {
    const old = { keys: this.#keys, sums: this.#sums, hist: this.#hist, size: this.size };
    this.#hist = {} as Record<HistogramColumn, HistogramColumns>;
    this.#allocate(this.#cap * 2);
    this.#keys.set(old.keys);
    old.sums.forEach((s, j) => this.#sums[j]!.set(s));
    for (const c of HISTOGRAM_COLUMNS) {
      const from = old.hist[c];
      const to = this.#hist[c];
      to.count.set(from.count); to.sum.set(from.sum); to.min.set(from.min); to.max.set(from.max);
      to.buckets.set(from.buckets);
    }
    const W = this.#spec.words;
    for (let g = 0; g < old.size; g++) {
      let s = hashWords(this.#keys, g * W, W, TABLE_SEED) & this.#mask;
      while (this.#slots[s] !== 0) s = (s + 1) & this.#mask;
      this.#slots[s] = g + 1;
    }
  }

  /** Folds every row of `batch` into its group. */
  add(batch: FlowBatch): void {
    this.addRows(rowsOfBatch(batch));
  }

  /**
   * Folds every row into its group (only the rows `select` lists, when given),
   * in passes: keys, then each row's group, then one tight loop per counter
   * column present. No loop nests inside another over the rows, so V8
   * optimises each as a whole instead of entering (and deoptimising out of)
   * an inner loop on every row.
   */
  addRows(rows: WorkerRows, select?: Int32Array): void {
    const n = select ? select.length : rows.length;
    const W = this.#spec.words;
    if (this.#groupOf.length < n) this.#groupOf = new Int32Array(Math.max(n, this.#groupOf.length * 2));
    const keys = this.#scratch;
    if (rows.strings) {
      // Chunks of one batch may each carry its table: resolved once, unless it has grown since (tables only append).
      if (rows.strings !== this.#batchStrings || this.#batchIds.length !== rows.strings.length + 1) {
        this.#batchStrings = rows.strings;
        this.#resolve(rows.strings);
      }
    } else if (!this.#batchStrings) {
      // A chunk whose batch's first chunk went to a worker that has since been replaced.
      throw new Error('rows without a string table and none before them');
    }
    const ids = this.#batchIds;
    const groupOf = this.#groupOf;
    for (let from = 0; from < n; from += KEY_CHUNK) {
      const to = Math.min(n, from + KEY_CHUNK);
      writeKeys(this.#spec, rows, keys, ids, from, to, select);
      this.#findAll(keys, groupOf, from, to);
    }
    // Groups are all inserted (and the table grown) by now: the accumulators stay put.
    const c = rows.counters;
    ADDITIVE_COLUMNS.forEach((name, j) => {
      const col = c[name];
      if (col) sumInto(this.#sums[j]!, this.#selected(col, select), groupOf, n);
    });
    for (const h of HISTOGRAM_COLUMNS) {
      const col = c[h];
      if (col) recordInto(this.#hist[h], this.#selected(col, select), groupOf, n);
    }
    this.flowsIn += n;
  }

  /** `col`, or its rows `select` lists, gathered into a scratch column (valid until the next call). */
  #selected(col: Float64Array, select: Int32Array | undefined): Float64Array {
    if (!select) return col;
    if (this.#values.length < select.length) this.#values = new Float64Array(Math.max(select.length, this.#values.length * 2));
    const v = this.#values;
    for (let i = 0; i < select.length; i++) v[i] = col[select[i]!]!;
    return v;
  }

  /**
   * Ids for every string of a batch's table, once per batch: strings no key
   * reads get one too (they are left out of toBatch's table), and the key
   * loop then never stops to look a string up.
   */
  #resolve(strings: readonly string[]): void {
    const ids = new Int32Array(strings.length + 1);
    ids[0] = -1;
    for (let j = 0; j < strings.length; j++) ids[j + 1] = this.#intern(strings[j]!);
    this.#batchIds = ids;
  }

  #intern(s: string): number {
    let id = this.#stringIds.get(s);
    if (id === undefined) {
      id = this.#strings.length;
      this.#strings.push(s);
      this.#stringIds.set(s, id);
    }
    return id;
  }

  /** Groups of rows [from, to), whose keys start at keys[0]. */
  #findAll(keys: Int32Array, groupOf: Int32Array, from: number, to: number): void {
    const W = this.#spec.words;
    for (let i = from, k = 0; i < to; i++, k += W) groupOf[i] = this.#find(keys, k);
  }

  /** The group index of the key at keys[at], inserted when new. */
  #find(keys: Int32Array, at: number): number {
    const W = this.#spec.words;
    let s = hashWords(keys, at, W, TABLE_SEED) & this.#mask;
    for (;;) {
      const e = this.#slots[s]!;
      if (e === 0) break;
      const base = (e - 1) * W;
      let j = 0;
      while (j < W && this.#keys[base + j] === keys[at + j]) j++;
      if (j === W) return e - 1;
      s = (s + 1) & this.#mask;
    }
    if (this.size === this.#cap) {
      this.#grow();
      return this.#find(keys, at);
    }
    const g = this.size++;
    this.#keys.set(keys.subarray(at, at + W), g * W);
    this.#slots[s] = g + 1;
    return g;
  }

  /** The groups as a reduced FlowBatch (one row each, with its aggregation extension). */
  toBatch(): FlowBatch {
    const n = this.size;
    const out = new FlowBatch(Math.max(1, n));
    out.length = n;
    for (const name of this.#spec.attributeNames) out.attributeColumn(name);
    for (let g = 0; g < n; g++) writeRowFromKey(this.#spec, this.#keys, g, out, g);
    // Only the strings some group's key holds, renumbered in order of first use.
    const index = new Int32Array(this.#strings.length).fill(-1);
    const used: string[] = [];
    for (const col of out.attributes.values()) renumber(col, n, index, this.#strings, used);
    out.strings = StringTable.from(used);
    ADDITIVE_COLUMNS.forEach((c: CounterColumn, j) => out.counters[c].set(this.#sums[j]!.subarray(0, n)));
    const histograms = {} as Record<HistogramColumn, HistogramColumns>;
    for (const c of HISTOGRAM_COLUMNS) {
      const h = this.#hist[c];
      const B = h.boundaries.length + 1;
      histograms[c] = {
        boundaries: h.boundaries.slice(), count: h.count.slice(0, n), sum: h.sum.slice(0, n),
        min: h.min.slice(0, n), max: h.max.slice(0, n), buckets: h.buckets.slice(0, n * B),
      };
    }
    out.aggregation = { groupBy: [...this.#groupBy], histograms };
    return out;
  }
}

/**
 * Rewrites the first n ids of `col` as indexes into `used`, adding each
 * string of `strings` the first time it is met (`index`: id → its index there, -1 before).
 * A function of its own: a loop nested in toBatch's loop over columns would be
 * entered by on-stack replacement and deoptimised on every exit.
 */
function renumber(col: Int32Array, n: number, index: Int32Array, strings: readonly string[], used: string[]): void {
  for (let g = 0; g < n; g++) {
    const id = col[g]!;
    if (id === NO_STRING) continue;
    if (index[id] === -1) index[id] = used.push(strings[id]!) - 1;
    col[g] = index[id]!;
  }
}

function sumInto(sum: Float64Array, col: Float64Array, groupOf: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) sum[groupOf[i]!] += col[i]!;
}

/** Samples are the column's positive values; 0 means the row has none. */
function recordInto(h: HistogramColumns, col: Float64Array, groupOf: Int32Array, n: number): void {
  const { count, sum, min, max, buckets, boundaries } = h;
  const B = boundaries.length + 1;
  for (let i = 0; i < n; i++) {
    const v = col[i]!;
    if (v > 0) {
      const g = groupOf[i]!;
      count[g] += 1;
      sum[g] += v;
      if (v < min[g]!) min[g] = v;
      if (v > max[g]!) max[g] = v;
      buckets[g * B + bucketIndex(boundaries, v)] += 1;
    }
  }
}
