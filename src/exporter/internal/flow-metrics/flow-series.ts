// The state of one attribute set: a running value per flow metric. One object
// holds every metric of the set, so a FlowBatch row costs one map lookup however
// many metrics it feeds.

import type { Attributes, HrTime } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import type { DataPoint, Histogram } from '@opentelemetry/sdk-metrics';
import type { HistogramColumns } from '../../../pdata/flow-aggregation.ts';
import { ALL_METRICS, HISTOGRAM_METRICS, SUM_METRICS } from './metric-definitions.ts';

/** A data point a series keeps and updates in place (DataPoint's fields are read-only to its readers only). */
export type SeriesPoint<T> = { -readonly [K in keyof DataPoint<T>]: DataPoint<T>[K] };

export class HistogramState {
  readonly boundaries: readonly number[];
  readonly counts: Float64Array;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(boundaries: readonly number[]) {
    this.boundaries = boundaries;
    this.counts = new Float64Array(boundaries.length + 1);
  }

  record(v: number): void {
    this.counts[bucketOf(this.boundaries, v)]!++;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /**
   * Adds row `row` of flow_aggregate's pre-bucketed samples (values in the column's
   * unit, hence `divisor`). Each source bucket goes to the bucket of ours that holds
   * its upper bound: exact when our boundaries are theirs or a subset of them.
   */
  merge(h: HistogramColumns, row: number, divisor: number): void {
    const n = h.count[row]!;
    const B = h.boundaries.length;
    const base = row * (B + 1);
    for (let i = 0; i <= B; i++) {
      const c = h.buckets[base + i]!;
      if (c === 0) continue;
      const target = i === B ? this.boundaries.length : bucketOf(this.boundaries, h.boundaries[i]! / divisor);
      this.counts[target]! += c;
    }
    this.count += n;
    this.sum += h.sum[row]! / divisor;
    this.min = Math.min(this.min, h.min[row]! / divisor);
    this.max = Math.max(this.max, h.max[row]! / divisor);
  }

  /**
   * A copy the exporter may keep while this state goes on changing. The
   * boundaries never change: every point shares the metric's array.
   */
  snapshot(): Histogram {
    // A plain loop: Array.from goes through the typed array's iterator.
    const n = this.counts.length;
    const counts = new Array<number>(n);
    for (let i = 0; i < n; i++) counts[i] = this.counts[i]!;
    return {
      buckets: { boundaries: this.boundaries as number[], counts },
      count: this.count,
      sum: this.sum,
      min: this.min,
      max: this.max,
    };
  }

  /** Writes the current state into `h`, a snapshot() of this state taken earlier. */
  refresh(h: Histogram): void {
    const counts = h.buckets.counts;
    for (let i = 0; i < counts.length; i++) counts[i] = this.counts[i]!;
    h.count = this.count;
    h.sum = this.sum;
    h.min = this.min;
    h.max = this.max;
  }
}

export class FlowSeries {
  readonly attributes: Attributes;
  readonly startMs: number;
  /** startMs as the points' start time, made once for every collection. */
  readonly startTime: HrTime;
  updatedMs: number;
  /** Bit m set: metric ALL_METRICS[m] has a point in this series. */
  present = 0;
  readonly sums = new Float64Array(SUM_METRICS.length);
  readonly histograms: Array<HistogramState | undefined> = new Array(HISTOGRAM_METRICS.length).fill(undefined);
  /**
   * Cumulative only: this series' data point per metric, made at its first
   * collection and updated in place by every later one (see
   * FlowMetricsAccumulator.collect).
   */
  points: Array<SeriesPoint<number> | SeriesPoint<Histogram> | undefined> | undefined;

  constructor(attributes: Attributes, startMs: number) {
    // Frozen: nothing changes a series' attributes, and the OTLP encoder keeps
    // the bytes of frozen attribute sets instead of encoding them every export.
    this.attributes = Object.freeze(attributes);
    this.startMs = startMs;
    this.startTime = millisToHrTime(startMs);
    this.updatedMs = startMs;
  }

  histogram(m: number): HistogramState {
    this.present |= 1 << m;
    const h = m - SUM_METRICS.length;
    let state = this.histograms[h];
    if (!state) this.histograms[h] = state = new HistogramState(HISTOGRAM_METRICS[h]!.boundaries);
    return state;
  }

  /** Adds `v` to metric `m` (an index into ALL_METRICS); v is already in the metric's unit. */
  add(m: number, v: number): void {
    this.present |= 1 << m;
    if (m < SUM_METRICS.length) {
      this.sums[m]! += v;
      return;
    }
    this.histogram(m).record(v);
  }
}

export const METRIC_COUNT = ALL_METRICS.length;

export function popcount(x: number): number {
  let n = 0;
  for (let v = x; v; v &= v - 1) n++;
  return n;
}

/** Index of the bucket holding v; upper bounds are inclusive, as in OTLP explicit-bucket histograms. */
function bucketOf(b: readonly number[], v: number): number {
  let i = 0;
  while (i < b.length && v > b[i]!) i++;
  return i;
}
