// The per-interval state of one worker: an open-addressing hash table from
// group key (KeySpec words) to a group index, and per-group accumulators in
// flat typed arrays (summed counters; count/sum/min/max/buckets for the
// histogram inputs). Nothing per flow is allocated; the table is dropped and
// rebuilt after every flush, so memory follows the interval's cardinality.

import { FlowBatch, type CounterColumn } from '../../pdata/flow-batch.ts';
import {
  ADDITIVE_COLUMNS, HISTOGRAM_COLUMNS, bucketIndex, emptyHistogramColumns,
  type HistogramColumn, type HistogramColumns,
} from '../../pdata/flow-aggregation.ts';
import { StringTable } from '../../pdata/string-table.ts';
import { hashWords, writeKeys, writeRowFromKey, type KeySpec } from './group-key.ts';

const TABLE_SEED = 0x2545f491;
/** The additive columns after the seven unrolled in the hot loop (ADDITIVE_COLUMNS order). */
const RARE_FIRST = 7;
const RARE_ADDITIVE: readonly CounterColumn[] = ADDITIVE_COLUMNS.slice(RARE_FIRST);

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
  #scratch = new Int32Array(0);

  constructor(spec: KeySpec, groupBy: readonly string[], boundaries: Record<HistogramColumn, readonly number[]>) {
    this.#spec = spec;
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
    this.flowsIn = 0;
    this.size = 0;
    this.#strings = [];
    this.#stringIds = new Map();
    this.#allocate(groups);
  }

  #allocate(groups: number): void {
    this.#cap = groups;
    this.#keys = new Int32Array(groups * this.#spec.words);
    this.#sums = ADDITIVE_COLUMNS.map(() => new Float64Array(groups));
    for (const c of HISTOGRAM_COLUMNS) this.#hist[c] = emptyHistogramColumns(this.#boundaries[c], groups);
    this.#slots = new Int32Array(groups * 2); // load factor ≤ 0.5
    this.#mask = groups * 2 - 1;
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
    const n = batch.length;
    const W = this.#spec.words;
    if (this.#scratch.length < n * W) this.#scratch = new Int32Array(Math.max(n * W, this.#scratch.length * 2));
    const keys = this.#scratch;
    const local = batch.strings.values();
    const ids = new Int32Array(local.length).fill(-1);
    writeKeys(this.#spec, batch, keys, (idx) => {
      let id = ids[idx]!;
      if (id < 0) {
        const s = local[idx]!;
        id = this.#stringIds.get(s) ?? -1;
        if (id < 0) {
          id = this.#strings.length;
          this.#strings.push(s);
          this.#stringIds.set(s, id);
        }
        ids[idx] = id;
      }
      return id;
    });
    // The hot loop: columns and accumulators in locals, the seven sums unrolled
    // (V8 keeps each access monomorphic), re-read only after the table grows.
    const c = batch.counters;
    const [bytes, packets, retransmits, resets, opened, failed, closed] =
      [c.bytes, c.packets, c.retransmits, c.resets, c.opened, c.failed, c.closed];
    const rtt = c.rttUs;
    const dur = c.durationMs;
    const connect = c.connectUs;
    const dns = c.dnsDurationUs;
    // Drops and DNS are zero on nearly every row: one cheap test each, no unrolling.
    const rare = RARE_ADDITIVE.map((name) => c[name]);
    let [sBytes, sPackets, sRetransmits, sResets, sOpened, sFailed, sClosed] = this.#sums as
      [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    let cap = this.#cap;
    for (let i = 0; i < n; i++) {
      const g = this.#find(keys, i * W);
      if (this.#cap !== cap) {
        cap = this.#cap;
        [sBytes, sPackets, sRetransmits, sResets, sOpened, sFailed, sClosed] = this.#sums as
          [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
      }
      sBytes[g] += bytes[i]!;
      sPackets[g] += packets[i]!;
      sRetransmits[g] += retransmits[i]!;
      sResets[g] += resets[i]!;
      sOpened[g] += opened[i]!;
      sFailed[g] += failed[i]!;
      sClosed[g] += closed[i]!;
      const r = rtt[i]!;
      if (r > 0) this.#record(this.#hist.rttUs, g, r);
      const d = dur[i]!;
      if (d > 0) this.#record(this.#hist.durationMs, g, d);
      const cu = connect[i]!;
      if (cu > 0) this.#record(this.#hist.connectUs, g, cu);
      const du = dns[i]!;
      if (du > 0) this.#record(this.#hist.dnsDurationUs, g, du);
      for (let j = 0; j < rare.length; j++) {
        const v = rare[j]![i]!;
        if (v !== 0) this.#sums[RARE_FIRST + j]![g] += v;
      }
    }
    this.flowsIn += n;
  }

  #record(h: HistogramColumns, g: number, v: number): void {
    h.count[g] += 1;
    h.sum[g] += v;
    if (v < h.min[g]!) h.min[g] = v;
    if (v > h.max[g]!) h.max[g] = v;
    h.buckets[g * (h.boundaries.length + 1) + bucketIndex(h.boundaries, v)] += 1;
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
    out.strings = StringTable.from(this.#strings);
    for (const name of this.#spec.attributeNames) out.attributeColumn(name);
    for (let g = 0; g < n; g++) writeRowFromKey(this.#spec, this.#keys, g, out, g);
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
