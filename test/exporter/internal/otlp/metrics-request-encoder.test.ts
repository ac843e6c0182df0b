// encodeMetricsRequest against the official ProtobufMetricsSerializer: the
// same bytes for every shape of ResourceMetrics (random and hand-picked), and
// cached attribute bytes that stay right.

import t from 'tap';
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality, DataPointType, type DataPoint, type ExponentialHistogram, type Histogram, type MetricData, type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { encodeMetricsRequest, metricsRequestSize } from '../../../../src/exporter/internal/otlp/metrics-request-encoder.ts';
import { rng } from '../../../support/seeded-random.ts';

function official(rm: ResourceMetrics): Buffer {
  return Buffer.from(ProtobufMetricsSerializer.serializeRequest(rm)!);
}

function ours(rm: ResourceMetrics): Buffer {
  return Buffer.from(encodeMetricsRequest(rm));
}

const VALUES: unknown[] = [
  'cart', '', 'zürich-ü', '東京', '😀 pair', 'lone \ud800 surrogate', 'lone low \udc00', 'high at end \ud83d', 'x'.repeat(300),
  true, false, 0, 1, 127, 128, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -128, -(2 ** 40), 1.5, -0.25, Number.MAX_VALUE, NaN, Infinity, 2 ** 63,
  new Uint8Array([1, 2, 255]), ['a', 1, true, null], [], { nested: 'yes', n: 2 }, null, undefined,
];

function randomAttributes(r: () => number, freeze: boolean): Attributes {
  const a: Record<string, unknown> = {};
  const n = Math.floor(r() * 12);
  for (let i = 0; i < n; i++) a[`${['source', 'destination', 'k8s', 'network'][Math.floor(r() * 4)]}.key${Math.floor(r() * 40)}`] = VALUES[Math.floor(r() * VALUES.length)];
  if (r() < 0.1) a['10'] = 'an integer-like key, enumerated first';
  if (r() < 0.1) a['schlüssel.名'] = 'a non-ASCII key';
  return (freeze ? Object.freeze(a) : a) as Attributes;
}

function randomTime(r: () => number): HrTime {
  return [Math.floor(r() * 2 ** 31), Math.floor(r() * 1e9)];
}

function randomHistogram(r: () => number): Histogram {
  const b = Math.floor(r() * 16);
  const boundaries = Array.from({ length: b }, (_, i) => i * 2.5 + r());
  const counts = Array.from({ length: b ? b + 1 : 0 }, () => Math.floor(r() * (r() < 0.1 ? 2 ** 40 : 1000)));
  return {
    buckets: { boundaries, counts },
    count: counts.reduce((x, y) => x + y, 0),
    sum: r() < 0.8 ? r() * 1e6 : undefined,
    min: r() < 0.7 ? r() : undefined,
    max: r() < 0.7 ? r() * 100 : undefined,
  } as Histogram;
}

function randomExponential(r: () => number): ExponentialHistogram {
  const buckets = () => ({
    offset: r() < 0.3 ? 0 : Math.floor((r() - 0.5) * 2 ** (r() < 0.2 ? 31 : 8)),
    bucketCounts: Array.from({ length: Math.floor(r() * 12) }, () => Math.floor(r() * (r() < 0.1 ? 2 ** 45 : 300))),
  });
  return {
    count: Math.floor(r() * (r() < 0.1 ? 2 ** 40 : 5000)),
    sum: r() < 0.8 ? (r() - 0.3) * 1e6 : undefined,
    scale: r() < 0.2 ? 0 : Math.floor((r() - 0.5) * 40),
    zeroCount: Math.floor(r() * (r() < 0.1 ? 2 ** 36 : 10)),
    positive: buckets(),
    negative: buckets(),
    min: r() < 0.7 ? -r() : undefined,
    max: r() < 0.7 ? r() * 100 : undefined,
  } as ExponentialHistogram;
}

function randomMetric(r: () => number, shared: Attributes[]): MetricData {
  const kind = [DataPointType.SUM, DataPointType.GAUGE, DataPointType.HISTOGRAM, DataPointType.EXPONENTIAL_HISTOGRAM][Math.floor(r() * 4)]!;
  const points = Array.from({ length: Math.floor(r() * 30) }, () => {
    const attributes = r() < 0.5 ? shared[Math.floor(r() * shared.length)]! : randomAttributes(r, r() < 0.5);
    const base = { startTime: randomTime(r), endTime: randomTime(r), attributes };
    if (kind === DataPointType.HISTOGRAM) return { ...base, value: randomHistogram(r) };
    if (kind === DataPointType.EXPONENTIAL_HISTOGRAM) return { ...base, value: randomExponential(r) };
    const v = r() < 0.5 ? Math.floor(r() * 2 ** 45) * (r() < 0.2 ? -1 : 1) : (r() - 0.5) * 1e9;
    return { ...base, value: v };
  });
  const descriptor = {
    name: `network.flow.m${Math.floor(r() * 100)}`,
    description: r() < 0.7 ? 'Bytes sent — from source to destination.' : '',
    unit: r() < 0.7 ? 'By' : '',
    valueType: r() < 0.5 ? ValueType.INT : ValueType.DOUBLE,
  };
  const aggregationTemporality = [AggregationTemporality.DELTA, AggregationTemporality.CUMULATIVE, 7 as AggregationTemporality][Math.floor(r() * 3)]!;
  if (kind === DataPointType.SUM) return { descriptor, aggregationTemporality, dataPointType: kind, isMonotonic: r() < 0.5, dataPoints: points as DataPoint<number>[] } as MetricData;
  if (kind === DataPointType.GAUGE) return { descriptor, aggregationTemporality, dataPointType: kind, dataPoints: points as DataPoint<number>[] } as MetricData;
  return { descriptor, aggregationTemporality, dataPointType: kind, dataPoints: points } as MetricData;
}

function randomRequest(seed: number): ResourceMetrics {
  const r = rng(seed);
  const shared = Array.from({ length: 5 }, () => randomAttributes(r, true));
  const resource = resourceFromAttributes({ 'service.name': 'podflow', 'host.name': 'node-1', 'k8s.node.name': r() < 0.5 ? 'node-1' : 'ü', pid: 42 });
  const scopeMetrics = Array.from({ length: 1 + Math.floor(r() * 3) }, () => ({
    scope: {
      name: r() < 0.9 ? 'podflow' : '',
      version: r() < 0.5 ? '0.1.0' : undefined,
      schemaUrl: r() < 0.3 ? 'https://opentelemetry.io/schemas/1.26.0' : undefined,
    },
    metrics: Array.from({ length: Math.floor(r() * 6) }, () => randomMetric(r, shared)),
  }));
  return { resource, scopeMetrics };
}

t.test('the same bytes as the official serializer on random requests', async (t) => {
  let bytes = 0;
  const wrong: number[] = [];
  const wrongSize: number[] = [];
  for (let seed = 1; seed <= 300; seed++) {
    const rm = randomRequest(seed);
    const want = official(rm);
    bytes += want.length;
    // Twice: the second time frozen attribute sets come from the cache.
    if (!ours(rm).equals(want) || !ours(rm).equals(want)) wrong.push(seed);
    if (metricsRequestSize(rm) !== want.length) wrongSize.push(seed);
  }
  t.same(wrong, [], `300 requests, ${bytes} bytes in all`);
  t.same(wrongSize, [], 'metricsRequestSize tells each one\'s size');
});

t.test('long messages: length prefixes of several bytes at every level', async (t) => {
  const attributes = Object.freeze({ 'source.k8s.workload.name': 'w'.repeat(20_000), 'destination.port': 8080 });
  const points: DataPoint<number>[] = Array.from({ length: 300 }, (_, i) => ({ startTime: [1_790_000_000, i], endTime: [1_790_000_010, 999_999_999], attributes, value: i * 1000 }));
  const rm: ResourceMetrics = {
    resource: resourceFromAttributes({ 'service.name': 'podflow' }),
    scopeMetrics: [{ scope: { name: 'podflow' }, metrics: [{
      descriptor: { name: 'network.flow.bytes', description: 'd', unit: 'By', valueType: ValueType.INT },
      aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints: points,
    }] }],
  };
  const want = official(rm);
  t.ok(want.length > 2 ** 21, `${want.length} bytes: four-byte length prefixes around the points' three-byte ones`);
  t.ok(ours(rm).equals(want));
});

t.test('a mutable attributes object is encoded as it is now; a frozen one once', async (t) => {
  const attributes: Attributes = { 'network.transport': 'tcp' };
  const rm = (): ResourceMetrics => ({
    resource: resourceFromAttributes({}),
    scopeMetrics: [{ scope: { name: 'podflow' }, metrics: [{
      descriptor: { name: 'm', description: '', unit: '', valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.DELTA, dataPointType: DataPointType.GAUGE,
      dataPoints: [{ startTime: [1, 0], endTime: [2, 0], attributes, value: 1 }],
    }] }],
  });
  t.ok(ours(rm()).equals(official(rm())));
  attributes['network.type'] = 'ipv6';
  t.ok(ours(rm()).equals(official(rm())), 'the added key is there');
});

t.test('an exponential histogram as the SDK makes one', async (t) => {
  const rm: ResourceMetrics = {
    resource: resourceFromAttributes({ 'service.name': 'podflow' }),
    scopeMetrics: [{ scope: { name: 'sdk' }, metrics: [{
      descriptor: { name: 'h', description: '', unit: 's', valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
      dataPoints: [{ startTime: [1, 0], endTime: [2, 0], attributes: {}, value: {
        count: 3, sum: 4, scale: 2, zeroCount: 1, min: 0, max: 3,
        positive: { offset: 1, bucketCounts: [1, 1] }, negative: { offset: 0, bucketCounts: [] },
      } }],
    }] }],
  };
  t.ok(ours(rm).equals(official(rm)));
});
