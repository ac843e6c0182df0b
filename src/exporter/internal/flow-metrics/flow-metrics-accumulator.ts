// Turns FlowBatches into the flow metrics' series, bounded in cardinality.
//
// Every metric may hold at most `cardinalityLimit` attribute sets. An update
// for a new set beyond that goes to one overflow series per metric, with the
// single attribute otel.metric.overflow=true (as the OTel SDK spec does it), so
// the sum over all series stays exactly the total of what was consumed.
//
// Cumulative: series live until not updated for `seriesExpiryMs`, then are
// dropped (a backend sees a new start time if they return). Delta: every
// collect() hands out what accumulated since the previous one and starts empty,
// so idle series simply are not reported.

import { ValueType, type Attributes } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import { AggregationTemporality, DataPointType, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import type { FlowBatch } from '../../../pdata/flow-batch.ts';
import { FlowAttributeReader, OVERFLOW_ATTRIBUTES } from './flow-attributes.ts';
import { FlowSeries, METRIC_COUNT, popcount, type SeriesPoint } from './flow-series.ts';
import { ALL_METRICS, SUM_METRICS } from './metric-definitions.ts';

export type Temporality = 'cumulative' | 'delta';

/** Where the accumulator reports what it routed to overflow, expired or dropped. */
export interface AccumulatorEvents {
  overflow(updates: number): void;
  expired(series: number): void;
  invalid(values: number): void;
}

export interface AccumulatorOptions {
  temporality: Temporality;
  cardinalityLimit: number;
  /** Cumulative only; 0 keeps series forever. */
  seriesExpiryMs: number;
  events?: AccumulatorEvents;
  now?: () => number;
}

const NO_EVENTS: AccumulatorEvents = { overflow() {}, expired() {}, invalid() {} };
const SUM_COUNT = SUM_METRICS.length;
/** Bit m set: ALL_METRICS[m] is a histogram. */
const HISTOGRAM_BITS = ALL_METRICS.reduce((bits, def, m) => (def.kind === 'histogram' ? bits | (1 << m) : bits), 0);

export class FlowMetricsAccumulator {
  readonly temporality: Temporality;
  readonly #limit: number;
  readonly #expiryMs: number;
  readonly #events: AccumulatorEvents;
  readonly #now: () => number;
  readonly #reader = new FlowAttributeReader();
  #series = new Map<string, FlowSeries>();
  /**
   * Delta: the attributes of the period before's series, by key. A series
   * that comes back takes its attributes object from there rather than a new
   * one, so the encoder's bytes for that attribute set (kept while the object
   * lives) carry over. Only the attributes: the series' sums and histograms
   * are not kept a period longer.
   */
  #previous = new Map<string, Attributes>();
  #overflow: FlowSeries;
  /** Series per metric, counted against the limit. */
  readonly #active = new Int32Array(METRIC_COUNT);
  #periodStartMs: number;
  /** Scratch: the value row i contributes to each metric. */
  readonly #values = new Float64Array(METRIC_COUNT);

  constructor(opts: AccumulatorOptions) {
    this.temporality = opts.temporality;
    this.#limit = opts.cardinalityLimit;
    this.#expiryMs = opts.seriesExpiryMs;
    this.#events = opts.events ?? NO_EVENTS;
    this.#now = opts.now ?? Date.now;
    this.#periodStartMs = this.#now();
    this.#overflow = new FlowSeries(OVERFLOW_ATTRIBUTES, this.#periodStartMs);
  }

  /** Series currently held, over all metrics (the overflow series included). */
  get activeSeries(): number {
    let n = popcount(this.#overflow.present);
    for (let m = 0; m < METRIC_COUNT; m++) n += this.#active[m]!;
    return n;
  }

  consume(batch: FlowBatch): void {
    const now = this.#now();
    this.#reader.bind(batch);
    let overflowed = 0;
    let invalid = 0;
    const values = this.#values;
    const agg = batch.aggregation;
    // Per metric, the column a row's value is read from: flow_aggregate's
    // batches carry RTT and durations as pre-bucketed samples, whose count says
    // whether the row has any. Looked up once per batch, not per row and metric.
    const columns = ALL_METRICS.map((def) => (agg && def.kind === 'histogram' ? agg.histograms[def.column].count : batch.counters[def.column]));
    const bucketed = agg ? HISTOGRAM_BITS : 0;
    for (let row = 0; row < batch.length; row++) {
      let mask = 0;
      for (let m = 0; m < METRIC_COUNT; m++) {
        const raw = columns[m]![row]!;
        if (raw === 0) continue;
        if (bucketed & (1 << m)) {
          if (raw > 0) mask |= 1 << m;
          continue;
        }
        // A negative or NaN counter is corrupt input; a monotonic sum must never go down.
        if (!(raw > 0)) {
          invalid++;
          continue;
        }
        const def = ALL_METRICS[m]!;
        values[m] = def.kind === 'histogram' ? raw / def.divisor : raw;
        mask |= 1 << m;
      }
      if (mask === 0) continue;
      const key = this.#reader.key(row);
      let s = this.#series.get(key);
      if (!s && this.#hasRoom(mask)) {
        s = new FlowSeries(this.#previous.get(key) ?? this.#reader.attributes(row), now);
        this.#series.set(key, s);
      }
      for (let m = 0; m < METRIC_COUNT; m++) {
        const bit = 1 << m;
        if (!(mask & bit)) continue;
        let target = s;
        if (s && !(s.present & bit)) {
          if (this.#active[m]! < this.#limit) this.#active[m]!++;
          else target = undefined;
        }
        if (!target) {
          target = this.#overflow;
          overflowed++;
        }
        const def = ALL_METRICS[m]!;
        if (agg && def.kind === 'histogram') target.histogram(m).merge(agg.histograms[def.column], row, def.divisor);
        else target.add(m, values[m]!);
      }
      if (s) s.updatedMs = now;
    }
    if (overflowed) {
      this.#overflow.updatedMs = now;
      this.#events.overflow(overflowed);
    }
    if (invalid) this.#events.invalid(invalid);
  }

  #hasRoom(mask: number): boolean {
    for (let m = 0; m < METRIC_COUNT; m++) if (mask & (1 << m) && this.#active[m]! < this.#limit) return true;
    return false;
  }

  /**
   * The metrics as of now; in delta temporality this also starts a new period.
   *
   * Delta: new points, each the caller's to keep. Cumulative: each series'
   * own points, made at its first collection and updated in place (value and
   * end time) by every later one, so that a collection allocates next to
   * nothing: ~14k fresh points and histogram copies per export (~2 MB) lived
   * across the export's request, long enough for V8 to move them to the old
   * generation, whose growth set when the heap's next full collection came.
   * A caller that holds a collection past the next one therefore sees the
   * newer totals of the same series, which is what a cumulative consumer
   * sends anyway (the sending queue replaces an older cumulative item with
   * the newer one, and persists an item as bytes when it is queued).
   */
  collect(): MetricData[] {
    const now = this.#now();
    if (this.temporality === 'cumulative') this.#expire(now);
    const end = millisToHrTime(now);
    const sums: DataPoint<number>[][] = SUM_METRICS.map(() => []);
    const hists: DataPoint<Histogram>[][] = ALL_METRICS.slice(SUM_COUNT).map(() => []);
    const delta = this.temporality === 'delta';
    // Shared by the points (nothing downstream changes a point's times).
    const periodStart = millisToHrTime(this.#periodStartMs);
    const emitDelta = (s: FlowSeries): void => {
      for (let m = 0; m < METRIC_COUNT; m++) {
        if (!(s.present & (1 << m))) continue;
        if (m < SUM_COUNT) sums[m]!.push({ startTime: periodStart, endTime: end, attributes: s.attributes, value: s.sums[m]! });
        else hists[m - SUM_COUNT]!.push({ startTime: periodStart, endTime: end, attributes: s.attributes, value: s.histograms[m - SUM_COUNT]!.snapshot() });
      }
    };
    const emitCumulative = (s: FlowSeries): void => {
      const points = (s.points ??= new Array(METRIC_COUNT).fill(undefined));
      for (let m = 0; m < METRIC_COUNT; m++) {
        if (!(s.present & (1 << m))) continue;
        if (m < SUM_COUNT) {
          let p = points[m] as SeriesPoint<number> | undefined;
          if (p) {
            p.endTime = end;
            p.value = s.sums[m]!;
          } else points[m] = p = { startTime: s.startTime, endTime: end, attributes: s.attributes, value: s.sums[m]! };
          sums[m]!.push(p);
        } else {
          const state = s.histograms[m - SUM_COUNT]!;
          let p = points[m] as SeriesPoint<Histogram> | undefined;
          if (p) {
            p.endTime = end;
            state.refresh(p.value);
          } else points[m] = p = { startTime: s.startTime, endTime: end, attributes: s.attributes, value: state.snapshot() };
          hists[m - SUM_COUNT]!.push(p);
        }
      }
    };
    const emit = delta ? emitDelta : emitCumulative;
    for (const s of this.#series.values()) emit(s);
    emit(this.#overflow);
    if (delta) this.#reset(now);
    return toMetricData(sums, hists, delta);
  }

  #expire(now: number): void {
    if (this.#expiryMs <= 0) return;
    let expired = 0;
    for (const [key, s] of this.#series) {
      if (now - s.updatedMs < this.#expiryMs) continue;
      this.#series.delete(key);
      for (let m = 0; m < METRIC_COUNT; m++) if (s.present & (1 << m)) this.#active[m]!--;
      expired += popcount(s.present);
    }
    if (expired) this.#events.expired(expired);
  }

  #reset(now: number): void {
    this.#previous = new Map();
    for (const [key, s] of this.#series) this.#previous.set(key, s.attributes);
    this.#series = new Map();
    this.#active.fill(0);
    this.#periodStartMs = now;
    this.#overflow = new FlowSeries(OVERFLOW_ATTRIBUTES, now);
  }
}

function toMetricData(sums: DataPoint<number>[][], hists: DataPoint<Histogram>[][], delta: boolean): MetricData[] {
  const aggregationTemporality = delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
  const out: MetricData[] = [];
  SUM_METRICS.forEach((def, m) => {
    const dataPoints = sums[m]!;
    if (!dataPoints.length) return;
    out.push({
      descriptor: { name: def.name, description: def.description, unit: def.unit, valueType: ValueType.INT },
      aggregationTemporality, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints,
    });
  });
  ALL_METRICS.slice(SUM_COUNT).forEach((def, h) => {
    const dataPoints = hists[h]!;
    if (!dataPoints.length) return;
    out.push({
      descriptor: { name: def.name, description: def.description, unit: def.unit, valueType: ValueType.DOUBLE },
      aggregationTemporality, dataPointType: DataPointType.HISTOGRAM, dataPoints,
    });
  });
  return out;
}
