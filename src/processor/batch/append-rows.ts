// Appends all rows of one raw FlowBatch to another, column by column, growing
// the target as needed. The source's string table is re-interned into the
// target's, so attribute indexes are remapped (each receiver batch has its own
// table). Aggregated batches (flow_aggregate) are not appended here: their
// histogram columns only combine with the same grouping.

import { COUNTER_COLUMNS, NO_STRING, type FlowBatch } from '../../pdata/flow-batch.ts';

export function appendRows(dst: FlowBatch, src: FlowBatch): void {
  const n = src.length;
  if (n === 0) return;
  const at = dst.length;
  if (at === 0 || src.startTimeMs < dst.startTimeMs) dst.startTimeMs = src.startTimeMs;
  if (src.endTimeMs > dst.endTimeMs) dst.endTimeMs = src.endTimeMs;
  if (at + n > dst.capacity) dst.grow(Math.max(at + n, dst.capacity * 2));
  dst.family.set(src.family.subarray(0, n), at);
  dst.protocol.set(src.protocol.subarray(0, n), at);
  dst.flags.set(src.flags.subarray(0, n), at);
  dst.srcAddr.set(src.srcAddr.subarray(0, n * 16), at * 16);
  dst.dstAddr.set(src.dstAddr.subarray(0, n * 16), at * 16);
  dst.origDstAddr.set(src.origDstAddr.subarray(0, n * 16), at * 16);
  dst.origSrcAddr.set(src.origSrcAddr.subarray(0, n * 16), at * 16);
  dst.srcPort.set(src.srcPort.subarray(0, n), at);
  dst.dstPort.set(src.dstPort.subarray(0, n), at);
  dst.origDstPort.set(src.origDstPort.subarray(0, n), at);
  dst.origSrcPort.set(src.origSrcPort.subarray(0, n), at);
  for (const c of COUNTER_COLUMNS) dst.counters[c].set(src.counters[c].subarray(0, n), at);
  const remap = Int32Array.from(src.strings.values(), (s) => dst.strings.intern(s));
  for (const [name, col] of src.attributes) {
    const out = dst.attributeColumn(name);
    for (let r = 0; r < n; r++) {
      const idx = col[r]!;
      out[at + r] = idx === NO_STRING ? NO_STRING : remap[idx]!;
    }
  }
  dst.length = at + n;
  // Columns the target has but the source lacks stay NO_STRING for the new rows.
  for (const [name, col] of dst.attributes) if (!src.attributes.has(name)) col.fill(NO_STRING, at, at + n);
}
