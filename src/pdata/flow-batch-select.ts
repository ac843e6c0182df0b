// Copies chosen rows of a FlowBatch into a new, exactly sized batch, column by
// column (no object per row). Used to drop filtered rows and to split a batch
// into per-worker partitions. The string table is shared by value (copied
// array), so attribute indexes stay valid without re-interning.

import { COUNTER_COLUMNS, FlowBatch } from './flow-batch.ts';
import { HISTOGRAM_COLUMNS, type FlowAggregation, type HistogramColumns } from './flow-aggregation.ts';

export interface SelectOptions {
  /** Attribute columns to keep; all when absent. */
  attributes?: readonly string[];
  /**
   * Copy the four address columns and the NAT ports (default true). A consumer
   * that never reads them skips 64+ bytes per row; left uncopied, they stay
   * zero and cost no memory until written.
   */
  addresses?: boolean;
}

/**
 * The rows `rows[0..n)` of `src` (in that order) as a new batch; `rows`
 * undefined means all rows (a trimmed deep copy made with bulk copies).
 */
export function selectRows(src: FlowBatch, rows: Int32Array | undefined, n: number, opts: SelectOptions = {}): FlowBatch {
  const count = rows ? n : src.length;
  const out = new FlowBatch(Math.max(1, count));
  out.length = count;
  out.startTimeMs = src.startTimeMs;
  out.endTimeMs = src.endTimeMs;
  const keys = opts.attributes ?? [...src.attributes.keys()];
  const addresses = opts.addresses ?? true;
  if (!rows) {
    out.family.set(src.family.subarray(0, count));
    out.protocol.set(src.protocol.subarray(0, count));
    out.flags.set(src.flags.subarray(0, count));
    if (addresses) {
      out.srcAddr.set(src.srcAddr.subarray(0, count * 16));
      out.dstAddr.set(src.dstAddr.subarray(0, count * 16));
      out.origDstAddr.set(src.origDstAddr.subarray(0, count * 16));
      out.origSrcAddr.set(src.origSrcAddr.subarray(0, count * 16));
      out.origDstPort.set(src.origDstPort.subarray(0, count));
      out.origSrcPort.set(src.origSrcPort.subarray(0, count));
    }
    out.srcPort.set(src.srcPort.subarray(0, count));
    out.dstPort.set(src.dstPort.subarray(0, count));
    for (const c of COUNTER_COLUMNS) out.counters[c].set(src.counters[c].subarray(0, count));
    for (const k of keys) {
      const col = src.attributes.get(k);
      if (col) out.attributeColumn(k).set(col.subarray(0, count));
    }
  } else {
    gather(src.family, out.family, rows, count);
    gather(src.protocol, out.protocol, rows, count);
    gather(src.flags, out.flags, rows, count);
    if (addresses) {
      gatherAddresses(src.srcAddr, out.srcAddr, rows, count);
      gatherAddresses(src.dstAddr, out.dstAddr, rows, count);
      gatherAddresses(src.origDstAddr, out.origDstAddr, rows, count);
      gatherAddresses(src.origSrcAddr, out.origSrcAddr, rows, count);
      gather(src.origDstPort, out.origDstPort, rows, count);
      gather(src.origSrcPort, out.origSrcPort, rows, count);
    }
    gather(src.srcPort, out.srcPort, rows, count);
    gather(src.dstPort, out.dstPort, rows, count);
    for (const c of COUNTER_COLUMNS) gather(src.counters[c], out.counters[c], rows, count);
    for (const k of keys) {
      const col = src.attributes.get(k);
      if (col) gather(col, out.attributeColumn(k), rows, count);
    }
  }
  for (const s of src.strings.values()) out.strings.intern(s);
  if (src.aggregation) out.aggregation = selectAggregation(src.aggregation, rows, count);
  return out;
}

/** The histogram columns of a reduced batch follow its rows. */
function selectAggregation(a: FlowAggregation, rows: Int32Array | undefined, n: number): FlowAggregation {
  const histograms = {} as FlowAggregation['histograms'];
  for (const c of HISTOGRAM_COLUMNS) {
    const h = a.histograms[c];
    const B = h.boundaries.length + 1;
    const pick = (col: Float64Array): Float64Array => {
      if (!rows) return col.slice(0, n);
      const o = new Float64Array(n);
      gather(col, o, rows, n);
      return o;
    };
    const buckets = rows ? new Float64Array(n * B) : h.buckets.slice(0, n * B);
    if (rows) for (let j = 0; j < n; j++) buckets.set(h.buckets.subarray(rows[j]! * B, rows[j]! * B + B), j * B);
    const out: HistogramColumns = {
      boundaries: h.boundaries.slice(), count: pick(h.count), sum: pick(h.sum), min: pick(h.min), max: pick(h.max), buckets,
    };
    histograms[c] = out;
  }
  return { groupBy: a.groupBy.slice(), histograms };
}

type Column = Uint8Array | Uint16Array | Int32Array | Float64Array;

function gather<T extends Column>(src: T, dst: T, rows: Int32Array, n: number): void {
  for (let j = 0; j < n; j++) dst[j] = src[rows[j]!]!;
}

/**
 * Rows `rows[0..n)` of a 16-byte address column into the first n rows of
 * `dst`, as four 32-bit words each (columns own 4-byte aligned buffers).
 */
export function gatherAddresses(src: Uint8Array, dst: Uint8Array, rows: Int32Array, n: number): void {
  const s = new Int32Array(src.buffer, src.byteOffset, src.length >> 2);
  const d = new Int32Array(dst.buffer, dst.byteOffset, dst.length >> 2);
  for (let j = 0; j < n; j++) {
    const a = rows[j]! << 2;
    const b = j << 2;
    d[b] = s[a]!;
    d[b + 1] = s[a + 1]!;
    d[b + 2] = s[a + 2]!;
    d[b + 3] = s[a + 3]!;
  }
}
