// FlowAggregation: what a FlowBatch carries when it was reduced by the
// flow_aggregate processor (one row per group and interval instead of one row
// per flow). It is an additive extension of FlowBatch (`batch.aggregation`,
// undefined for raw batches), so every stage keeps working on plain columns.
//
// How a consumer (the exporters' flow-metrics accumulator) reads such a batch:
//
//  - `groupBy` lists the attribute names the rows were grouped by. Only those
//    carry meaning: a built-in (source.address, destination.port, ...) not listed
//    is zero in its column and must not be exported as an attribute; string
//    attribute columns are present only for the listed names.
//  - The additive counters (ADDITIVE_COLUMNS: bytes, packets, ..., drops,
//    dnsRequests) are the sums over the group's flows for the interval: a delta.
//  - `rttUs`, `durationMs`, `connectUs` and `dnsDurationUs` cannot be summed. Their counter columns are 0 in an
//    aggregated batch; the samples are in `histograms[column]` instead: per row the
//    sample count, sum, min, max and explicit-bucket counts, with the bucket
//    boundaries in the column's own unit (µs, or ms for durationMs). A
//    bucket i counts samples v with boundaries[i-1] < v <= boundaries[i] (the
//    OpenTelemetry convention); the last bucket is (boundaries[B-1], +Inf).
//    An accumulator whose boundaries equal these (DEFAULT_HISTOGRAM_BOUNDARIES,
//    or a subset of them: buckets then merge exactly) records them without loss.
//
// Every array has exactly `length` rows (buckets: length × (B + 1)) and owns its
// ArrayBuffer, so the extension transfers with the batch.

export const HISTOGRAM_COLUMNS = ['rttUs', 'durationMs', 'connectUs', 'dnsDurationUs'] as const;
export type HistogramColumn = (typeof HISTOGRAM_COLUMNS)[number];

/** The counter columns that are summed when flows are merged. */
export const ADDITIVE_COLUMNS = [
  'bytes', 'packets', 'retransmits', 'resets', 'opened', 'failed', 'closed', 'drops', 'dropBytes', 'dnsRequests',
] as const;

/**
 * Default bucket boundaries, in the column's unit. RTT: 100 µs … 1 s (in seconds:
 * 0.0001 … 1); connection duration: 1 ms … 1 h. Dividing a boundary by 1e6 (µs) or
 * 1e3 (ms) gives exactly the double of the decimal literal in seconds, so an
 * exporter that compares seconds against seconds boundaries buckets identically.
 */
export const DEFAULT_HISTOGRAM_BOUNDARIES: Readonly<Record<HistogramColumn, readonly number[]>> = {
  rttUs: [100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000],
  durationMs: [1, 5, 10, 50, 100, 500, 1000, 5000, 10_000, 30_000, 60_000, 300_000, 600_000, 1_800_000, 3_600_000],
  // Handshake and DNS times: 50 µs (same node) … 5 s (a lookup that waited for retries).
  connectUs: [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 5_000_000],
  dnsDurationUs: [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 5_000_000],
};

export interface HistogramColumns {
  /** Sorted upper bounds (B of them), in the column's unit. */
  boundaries: Float64Array;
  count: Float64Array;
  sum: Float64Array;
  /** +Infinity / -Infinity where count is 0. */
  min: Float64Array;
  max: Float64Array;
  /** Row-major: row r's buckets are [r × (B+1), (r+1) × (B+1)). */
  buckets: Float64Array;
}

export interface FlowAggregation {
  groupBy: string[];
  histograms: Record<HistogramColumn, HistogramColumns>;
}

/** The bucket index of `v` for upper-inclusive `boundaries` (binary search). */
export function bucketIndex(boundaries: Float64Array, v: number): number {
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v <= boundaries[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function emptyHistogramColumns(boundaries: readonly number[] | Float64Array, rows: number): HistogramColumns {
  const b = Float64Array.from(boundaries);
  const h: HistogramColumns = {
    boundaries: b,
    count: new Float64Array(rows),
    sum: new Float64Array(rows),
    min: new Float64Array(rows),
    max: new Float64Array(rows),
    buckets: new Float64Array(rows * (b.length + 1)),
  };
  // New arrays are zero already: writing zeros would only make every page of
  // them resident, where a table sized ahead of its rows touches few of them.
  h.min.fill(Infinity);
  h.max.fill(-Infinity);
  return h;
}

/** Rows [0, rows) of `h` (all of them by default) back to no samples (count 0, min +Infinity, max -Infinity), in place. */
export function clearHistogramColumns(h: HistogramColumns, rows = h.count.length): void {
  h.count.fill(0, 0, rows);
  h.sum.fill(0, 0, rows);
  h.min.fill(Infinity, 0, rows);
  h.max.fill(-Infinity, 0, rows);
  h.buckets.fill(0, 0, rows * (h.boundaries.length + 1));
}

export function copyAggregation(a: FlowAggregation): FlowAggregation {
  const histograms = {} as Record<HistogramColumn, HistogramColumns>;
  for (const c of HISTOGRAM_COLUMNS) {
    const h = a.histograms[c];
    histograms[c] = {
      boundaries: h.boundaries.slice(), count: h.count.slice(), sum: h.sum.slice(),
      min: h.min.slice(), max: h.max.slice(), buckets: h.buckets.slice(),
    };
  }
  return { groupBy: a.groupBy.slice(), histograms };
}

/** Every array of the extension (for a postMessage transfer list: their buffers). */
export function aggregationArrays(a: FlowAggregation): Float64Array[] {
  return HISTOGRAM_COLUMNS.flatMap((c) => {
    const h = a.histograms[c];
    return [h.boundaries, h.count, h.sum, h.min, h.max, h.buckets];
  });
}
