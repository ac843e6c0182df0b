// Joins the reduced batches of the partitions into the one batch emitted per
// interval. Partitions never share a group (rows are split by key hash), so
// this is a concatenation; only string indexes need remapping, because each
// worker built its own string table.

import { COUNTER_COLUMNS, FlowBatch, NO_STRING } from '../../pdata/flow-batch.ts';
import { HISTOGRAM_COLUMNS, emptyHistogramColumns, type FlowAggregation } from '../../pdata/flow-aggregation.ts';

export function concatReduced(parts: readonly FlowBatch[], groupBy: readonly string[]): FlowBatch {
  if (parts.length === 1) return parts[0]!;
  const total = parts.reduce((n, b) => n + b.length, 0);
  const out = new FlowBatch(Math.max(1, total));
  out.length = total;
  const first = parts[0]!.aggregation!;
  const agg: FlowAggregation = { groupBy: [...groupBy], histograms: {} as FlowAggregation['histograms'] };
  for (const c of HISTOGRAM_COLUMNS) agg.histograms[c] = emptyHistogramColumns(first.histograms[c].boundaries, total);
  let at = 0;
  for (const b of parts) {
    const n = b.length;
    out.family.set(b.family.subarray(0, n), at);
    out.protocol.set(b.protocol.subarray(0, n), at);
    out.flags.set(b.flags.subarray(0, n), at);
    out.srcAddr.set(b.srcAddr.subarray(0, n * 16), at * 16);
    out.dstAddr.set(b.dstAddr.subarray(0, n * 16), at * 16);
    out.srcPort.set(b.srcPort.subarray(0, n), at);
    out.dstPort.set(b.dstPort.subarray(0, n), at);
    for (const c of COUNTER_COLUMNS) out.counters[c].set(b.counters[c].subarray(0, n), at);
    const remap = Int32Array.from(b.strings.values(), (s) => out.strings.intern(s));
    for (const [name, col] of b.attributes) {
      const dst = out.attributeColumn(name);
      for (let i = 0; i < n; i++) dst[at + i] = col[i] === NO_STRING ? NO_STRING : remap[col[i]!]!;
    }
    for (const c of HISTOGRAM_COLUMNS) {
      const from = b.aggregation!.histograms[c];
      const to = agg.histograms[c];
      to.count.set(from.count, at);
      to.sum.set(from.sum, at);
      to.min.set(from.min, at);
      to.max.set(from.max, at);
      to.buckets.set(from.buckets, at * (from.boundaries.length + 1));
    }
    at += n;
  }
  out.aggregation = agg;
  return out;
}
