import t from 'tap';
import type { Attributes } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { FlowMetricsAccumulator, type AccumulatorOptions } from '../../../../src/exporter/internal/flow-metrics/flow-metrics-accumulator.ts';
import { emptyHistogramColumns } from '../../../../src/pdata/flow-aggregation.ts';
import { FlowBatch } from '../../../../src/pdata/flow-batch.ts';
import { appendFlow } from '../../../../src/pdata/flow-record.ts';
import { SAMPLE_BYTES, SERIES, sampleBatch } from '../../support/sample-flows.ts';

function acc(opts: Partial<AccumulatorOptions> & { clock?: { now: number } } = {}) {
  const clock = opts.clock ?? { now: 1_000_000 };
  const events = { overflow: 0, expired: 0, invalid: 0 };
  const a = new FlowMetricsAccumulator({
    temporality: 'cumulative', cardinalityLimit: 100, seriesExpiryMs: 0, now: () => clock.now,
    events: { overflow: (n) => (events.overflow += n), expired: (n) => (events.expired += n), invalid: (n) => (events.invalid += n) },
    ...opts,
  });
  return { a, clock, events };
}

function metric(ms: MetricData[], name: string): MetricData | undefined {
  return ms.find((m) => m.descriptor.name === name);
}

function sumOf(ms: MetricData[], name: string, attrs?: Attributes): number {
  const m = metric(ms, name);
  if (!m) return 0;
  return (m.dataPoints as Array<{ attributes: Attributes; value: number }>)
    .filter((p) => !attrs || Object.entries(attrs).every(([k, v]) => p.attributes[k] === v))
    .reduce((s, p) => s + p.value, 0);
}

function hist(ms: MetricData[], name: string, attrs: Attributes): Histogram | undefined {
  const m = metric(ms, name);
  const p = (m?.dataPoints as Array<{ attributes: Attributes; value: Histogram }> | undefined)
    ?.find((d) => Object.entries(attrs).every(([k, v]) => d.attributes[k] === v));
  return p?.value;
}

t.test('values, attributes, units and types of one batch', async (t) => {
  const { a } = acc();
  a.consume(sampleBatch());
  const ms = a.collect();
  t.same(ms.map((m) => m.descriptor.name).sort(), [
    'network.flow.bytes', 'network.flow.connection.duration', 'network.flow.connections.closed',
    'network.flow.connections.opened', 'network.flow.packets', 'network.flow.tcp.retransmits', 'network.flow.tcp.rtt',
  ], 'metrics with data only (no resets, no failures in the sample)');
  const bytes = metric(ms, 'network.flow.bytes')!;
  t.equal(bytes.descriptor.unit, 'By');
  t.equal(bytes.dataPointType, DataPointType.SUM);
  t.ok(bytes.dataPointType === DataPointType.SUM && bytes.isMonotonic);
  t.equal(bytes.aggregationTemporality, AggregationTemporality.CUMULATIVE);
  t.equal(bytes.dataPoints.length, 3, 'the two shop connections share one series: source port is not an attribute');
  t.same(bytes.dataPoints.map((p) => p.attributes).find((x) => x['network.transport'] === 'udp'), SERIES.dns);
  t.same(bytes.dataPoints.map((p) => p.attributes).find((x) => x['destination.port'] === 8080), SERIES.shop);
  t.same(bytes.dataPoints.map((p) => p.attributes).find((x) => x['destination.port'] === 8443), SERIES.nat);
  t.equal(sumOf(ms, 'network.flow.bytes'), SAMPLE_BYTES);
  t.equal(sumOf(ms, 'network.flow.bytes', SERIES.shop), 1500);
  t.equal(sumOf(ms, 'network.flow.packets', SERIES.shop), 15);
  t.equal(metric(ms, 'network.flow.packets')!.descriptor.unit, '{packet}');
  t.equal(metric(ms, 'network.flow.tcp.retransmits')!.dataPoints.length, 1, 'no 0-valued retransmit series for UDP or NAT');
  t.equal(sumOf(ms, 'network.flow.connections.opened'), 2);
  const rtt = hist(ms, 'network.flow.tcp.rtt', SERIES.shop)!;
  t.equal(metric(ms, 'network.flow.tcp.rtt')!.descriptor.unit, 's');
  t.equal(rtt.count, 2);
  t.ok(Math.abs(rtt.sum! - 0.004) < 1e-12, 'µs converted to seconds');
  t.equal(rtt.min, 0.0015);
  t.equal(rtt.max, 0.0025);
  t.equal(rtt.buckets.counts.reduce((x, y) => x + y, 0), 2);
  t.equal(rtt.buckets.counts[rtt.buckets.boundaries.indexOf(0.0025)], 2, '0.0015 and 0.0025 land in the (0.001, 0.0025] bucket');
  const dur = hist(ms, 'network.flow.connection.duration', SERIES.shop)!;
  t.equal(dur.count, 1);
  t.equal(dur.sum, 2);
});

t.test('cumulative keeps adding; delta resets and starts at the previous collect', async (t) => {
  const c = acc();
  c.a.consume(sampleBatch());
  c.a.collect();
  c.a.consume(sampleBatch());
  const cum = c.a.collect();
  t.equal(sumOf(cum, 'network.flow.bytes'), 2 * SAMPLE_BYTES);
  t.equal(hist(cum, 'network.flow.tcp.rtt', SERIES.shop)!.count, 4);

  const d = acc({ temporality: 'delta' });
  d.a.consume(sampleBatch());
  d.clock.now += 10_000;
  const first = d.a.collect();
  t.equal(metric(first, 'network.flow.bytes')!.aggregationTemporality, AggregationTemporality.DELTA);
  t.equal(sumOf(first, 'network.flow.bytes'), SAMPLE_BYTES);
  d.clock.now += 10_000;
  t.same(d.a.collect(), [], 'nothing new: no series at all (idle series are dropped in delta)');
  d.a.consume(sampleBatch());
  d.clock.now += 5_000;
  const third = d.a.collect();
  t.equal(sumOf(third, 'network.flow.bytes'), SAMPLE_BYTES);
  const p = metric(third, 'network.flow.bytes')!.dataPoints[0]!;
  t.same(p.startTime, [1_020, 0], 'start = the previous collect');
  t.same(p.endTime, [1_025, 0]);
});

t.test('a series keeps one frozen attributes object from period to period (delta) and export to export (cumulative)', async (t) => {
  for (const temporality of ['delta', 'cumulative'] as const) {
    const c = acc({ temporality });
    const points = (ms: MetricData[]) => metric(ms, 'network.flow.bytes')!.dataPoints as Array<{ attributes: Attributes }>;
    c.a.consume(sampleBatch());
    const first = points(c.a.collect());
    c.a.consume(sampleBatch());
    const second = points(c.a.collect());
    t.ok(first.length > 1 && first.every((p) => Object.isFrozen(p.attributes)), `${temporality}: frozen`);
    t.ok(second.every((p) => first.some((q) => q.attributes === p.attributes)), `${temporality}: the same objects the second time`);
  }
});

t.test('delta points are the caller\'s: the next period does not change them', async (t) => {
  const { a } = acc({ temporality: 'delta' });
  a.consume(sampleBatch());
  const first = a.collect();
  const copy = structuredClone(first);
  a.consume(sampleBatch());
  a.consume(sampleBatch());
  const second = a.collect();
  t.same(first, copy);
  t.equal(sumOf(second, 'network.flow.bytes'), 2 * sumOf(first, 'network.flow.bytes'));
});

function wideBatch(n: number, from = 0): FlowBatch {
  const b = new FlowBatch(n);
  for (let i = 0; i < n; i++) {
    appendFlow(b, {
      transport: 'tcp', sourceAddress: `10.1.${(from + i) >> 8}.${(from + i) & 255}`, sourcePort: 1000, destinationAddress: '10.2.0.1',
      destinationPort: 80, counters: { bytes: i + 1, packets: 1 },
    });
  }
  return b;
}

t.test('cardinality limit: overflow series keeps the total exact', async (t) => {
  const { a, events } = acc({ cardinalityLimit: 10 });
  a.consume(wideBatch(50));
  a.consume(wideBatch(50));
  const ms = a.collect();
  const bytes = metric(ms, 'network.flow.bytes')!;
  t.equal(bytes.dataPoints.length, 11, '10 series + the overflow series');
  const overflow = bytes.dataPoints.find((p) => p.attributes['otel.metric.overflow'] === true)!;
  t.same(overflow.attributes, { 'otel.metric.overflow': true }, 'overflow has that single attribute');
  const total = 2 * (50 * 51) / 2;
  t.equal(sumOf(ms, 'network.flow.bytes'), total, 'grand total exact');
  t.equal(overflow.value, total - 2 * (10 * 11) / 2);
  t.equal(events.overflow, 2 * 40 * 2, 'updates routed to overflow, bytes and packets');
  t.equal(a.activeSeries, 22);
});

t.test('expiry drops idle cumulative series and frees their room', async (t) => {
  const { a, clock, events } = acc({ cardinalityLimit: 10, seriesExpiryMs: 60_000 });
  a.consume(wideBatch(5));
  clock.now += 30_000;
  a.consume(wideBatch(1, 100));
  t.equal(metric(a.collect(), 'network.flow.bytes')!.dataPoints.length, 6);
  clock.now += 40_000;
  const ms = a.collect();
  t.equal(metric(ms, 'network.flow.bytes')!.dataPoints.length, 1, 'only the series updated 40s ago is left');
  t.equal(events.expired, 10, '5 series × (bytes, packets)');
  t.equal(a.activeSeries, 2);
  a.consume(wideBatch(9, 200));
  t.equal(metric(a.collect(), 'network.flow.bytes')!.dataPoints.length, 10, 'expired series no longer count against the limit');
  t.equal(events.overflow, 0);
});

t.test('negative counters are dropped and counted', async (t) => {
  const { a, events } = acc();
  const b = new FlowBatch(1);
  appendFlow(b, { transport: 'udp', sourceAddress: '10.0.0.1', sourcePort: 1, destinationAddress: '10.0.0.2', destinationPort: 2, counters: { bytes: -5, packets: 1 } });
  a.consume(b);
  const ms = a.collect();
  t.equal(metric(ms, 'network.flow.bytes'), undefined);
  t.equal(sumOf(ms, 'network.flow.packets'), 1);
  t.equal(events.invalid, 1);
});

t.test('flow_aggregate batches: only grouped attributes, pre-bucketed histograms merge exactly', async (t) => {
  const { a } = acc();
  const b = new FlowBatch(2);
  for (const ns of ['shop', 'pay']) {
    const i = b.addRow();
    b.setAttribute(i, 'source.k8s.namespace.name', ns);
    b.dstPort[i] = 443;
    b.counters.bytes[i] = 100;
  }
  const rtt = emptyHistogramColumns([100, 1000], 2);
  rtt.count[0] = 3; rtt.sum[0] = 1600; rtt.min[0] = 100; rtt.max[0] = 1000;
  rtt.buckets.set([1, 2, 0], 0);
  b.aggregation = { groupBy: ['source.k8s.namespace.name', 'destination.port'], histograms: { rttUs: rtt, durationMs: emptyHistogramColumns([1], 2), connectUs: emptyHistogramColumns([1], 2), dnsDurationUs: emptyHistogramColumns([1], 2) } };
  a.consume(b);
  const ms = a.collect();
  const bytes = metric(ms, 'network.flow.bytes')!;
  t.same(bytes.dataPoints.map((p) => p.attributes).sort((x, y) => String(x['source.k8s.namespace.name']).localeCompare(String(y['source.k8s.namespace.name']))), [
    { 'destination.port': 443, 'source.k8s.namespace.name': 'pay' },
    { 'destination.port': 443, 'source.k8s.namespace.name': 'shop' },
  ], 'no built-in that was not grouped by');
  const h = hist(ms, 'network.flow.tcp.rtt', { 'source.k8s.namespace.name': 'shop' })!;
  t.equal(h.count, 3);
  t.ok(Math.abs(h.sum! - 0.0016) < 1e-12);
  t.equal(h.buckets.counts[h.buckets.boundaries.indexOf(0.0001)], 1, 'bucket (…, 100µs]');
  t.equal(h.buckets.counts[h.buckets.boundaries.indexOf(0.001)], 2, 'bucket (…, 1000µs] (our bounds are a superset)');
  t.equal(metric(ms, 'network.flow.tcp.rtt')!.dataPoints.length, 1, 'no histogram point for a row without samples');
});

t.test('flow_aggregate batches: one series per grouping and group across batches; cumulative points are updated in place', async (t) => {
  const { a } = acc();
  const reduced = (groupBy: string[], bytes: number, rttSamples: number): FlowBatch => {
    const b = new FlowBatch(1);
    const i = b.addRow();
    b.dstPort[i] = 443; // every other built-in column is 0, whatever the grouping
    b.counters.bytes[i] = bytes;
    const rtt = emptyHistogramColumns([100, 1000], 1);
    rtt.count[0] = rttSamples; rtt.sum[0] = 50 * rttSamples; rtt.min[0] = 50; rtt.max[0] = 50;
    rtt.buckets.set([rttSamples, 0, 0], 0);
    b.aggregation = { groupBy, histograms: { rttUs: rtt, durationMs: emptyHistogramColumns([1], 1), connectUs: emptyHistogramColumns([1], 1), dnsDurationUs: emptyHistogramColumns([1], 1) } };
    return b;
  };
  a.consume(reduced(['destination.port'], 100, 1));
  a.consume(reduced(['network.type', 'destination.port'], 10, 1));
  a.consume(reduced(['destination.port'], 1, 1));
  const first = a.collect();
  t.same(metric(first, 'network.flow.bytes')!.dataPoints.map((p) => [p.attributes, p.value]).sort((x, y) => Number(x[1]) - Number(y[1])), [
    [{ 'destination.port': 443, 'network.type': 'ipv4' }, 10],
    [{ 'destination.port': 443 }, 101],
  ], 'equal zero columns of two groupings are two series; the same grouping in two batches is one');
  // The series grouped by destination.port alone (the other one has network.type too).
  const rttOf = (ms: MetricData[]) => (metric(ms, 'network.flow.tcp.rtt')!.dataPoints as Array<{ attributes: Attributes; value: Histogram }>)
    .find((p) => Object.keys(p.attributes).length === 1)!.value;
  const before = structuredClone(rttOf(first));
  t.equal(before.count, 2, 'two samples in that series');
  a.consume(reduced(['destination.port'], 1, 5));
  const second = a.collect();
  t.equal(rttOf(second).count, 7);
  t.equal(rttOf(second), rttOf(first), 'the next collection updates the same histogram (no copy per export)');
  t.equal(rttOf(first).count, 7, 'a point held from the collection before carries the newest totals');
  t.equal(rttOf(first).sum, before.sum! + 5 * 50e-6);
  t.equal(metric(second, 'network.flow.bytes')!.dataPoints[0]!.startTime, metric(first, 'network.flow.bytes')!.dataPoints[0]!.startTime,
    'cumulative points keep their series start time');
});
