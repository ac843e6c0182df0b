// Splitting an export into requests within a size limit: every point exactly
// once, in order, under its own metric and scope, and each request within the
// limit (encoded by podflow's encoder, which writes the official bytes).

import t from 'tap';
import { ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { encodeMetricsRequest, metricsRequestSize } from '../../../../src/exporter/internal/otlp/metrics-request-encoder.ts';
import { countPoints } from '../../../../src/exporter/internal/otlp/queued-metric-exporter.ts';
import { splitByPoints } from '../../../../src/exporter/internal/otlp/split-metrics-request.ts';
import { encodeWithin } from './encode-within.ts';

function sum(name: string, points: number, attrBytes = 40): MetricData {
  return {
    descriptor: { name, description: '', unit: 'By', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: Array.from({ length: points }, (_, i) => ({
      startTime: [1, 0], endTime: [2, 0], value: i,
      attributes: Object.freeze({ 'series.id': `${name}-${i}`, pad: 'x'.repeat(attrBytes) }),
    })),
  } as MetricData;
}

function request(): ResourceMetrics {
  return {
    resource: resourceFromAttributes({ 'service.name': 'podflow' }),
    scopeMetrics: [
      { scope: { name: 'podflow' }, metrics: [sum('a', 37), sum('empty', 0), sum('b', 1), sum('c', 120)] },
      { scope: { name: 'other', version: '2' }, metrics: [sum('d', 55)] },
    ],
  };
}

/** Every point as "scope/metric/series", in order. */
function flat(rms: ResourceMetrics[]): string[] {
  return rms.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.flatMap((m) =>
    m.dataPoints.map((p) => `${sm.scope.name}/${m.descriptor.name}/${String(p.attributes['series.id'])}`))));
}

t.test('splitByPoints: every point once, in order, in parts of near-equal size', async (t) => {
  const rm = request();
  const all = flat([rm]);
  t.equal(all.length, 213);
  for (const n of [1, 2, 3, 7, 213, 500]) {
    const parts = splitByPoints(rm, n);
    t.equal(parts.length, Math.min(n, 213), `${n}: as many parts as asked (at most one per point)`);
    t.same(flat(parts), all, `${n}: the same points in the same order`);
    const sizes = parts.map(countPoints);
    t.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${n}: sizes ${Math.min(...sizes)}..${Math.max(...sizes)}`);
    for (const p of parts) {
      t.equal(p.resource, rm.resource);
      for (const sm of p.scopeMetrics) {
        t.ok(sm.metrics.length > 0 && sm.metrics.every((m) => m.dataPoints.length > 0), 'no empty metric or scope');
        const original = rm.scopeMetrics.find((o) => o.scope === sm.scope)!;
        for (const m of sm.metrics) t.ok(original.metrics.some((o) => o.descriptor === m.descriptor && o.dataPointType === m.dataPointType), 'descriptor kept');
      }
    }
  }
});

t.test('planWithin: one request when it fits, else parts each within the limit', async (t) => {
  const rm = request();
  const whole = encodeMetricsRequest(rm);
  t.same(encodeWithin(rm, encodeMetricsRequest, whole.byteLength).map((p) => p.points), [213], 'exactly at the limit: one request');
  for (const divisor of [2, 5, 17]) {
    const max = Math.floor(whole.byteLength / divisor);
    const parts = encodeWithin(rm, encodeMetricsRequest, max);
    t.ok(parts.length >= divisor, `1/${divisor} of the size: ${parts.length} requests`);
    t.ok(parts.every((p) => p.body.byteLength <= max), 'each within the limit');
    t.equal(parts.reduce((n, p) => n + p.points, 0), 213, 'every point sent');
  }
});

t.test('planWithin: points of very different sizes are split again; a point over the limit goes alone', async (t) => {
  const rm = request();
  // One point ~30x the size of the others.
  (rm.scopeMetrics[0]!.metrics[3]!.dataPoints[60]! as { attributes: object }).attributes = Object.freeze({ 'series.id': 'c-big', pad: 'y'.repeat(1400) });
  const max = 3000;
  const parts = encodeWithin(rm, encodeMetricsRequest, max);
  t.ok(parts.every((p) => p.body.byteLength <= max), 'each within the limit');
  t.equal(parts.reduce((n, p) => n + p.points, 0), 213);

  (rm.scopeMetrics[0]!.metrics[3]!.dataPoints[60]! as { attributes: object }).attributes = Object.freeze({ 'series.id': 'c-huge', pad: 'z'.repeat(5000) });
  const withHuge = encodeWithin(rm, encodeMetricsRequest, max);
  const over = withHuge.filter((p) => p.body.byteLength > max);
  t.same(over.map((p) => p.points), [1], 'only the point larger than the limit is over it, alone');
  t.equal(withHuge.reduce((n, p) => n + p.points, 0), 213);
});

t.test('planWithin with the encoder\'s size: the same requests, and only they are encoded', async (t) => {
  const rm = request();
  const whole = encodeMetricsRequest(rm);
  t.equal(metricsRequestSize(rm), whole.byteLength, 'the size matches the encoding');
  const max = Math.floor(whole.byteLength / 5);
  let encoded = 0;
  const counting = (x: ResourceMetrics) => { encoded++; return encodeMetricsRequest(x); };
  const parts = encodeWithin(rm, counting, max, metricsRequestSize);
  t.same(parts.map((p) => Buffer.from(p.body)), encodeWithin(rm, encodeMetricsRequest, max).map((p) => Buffer.from(p.body)));
  t.equal(encoded, parts.length, 'nothing encoded but the requests sent');
});
