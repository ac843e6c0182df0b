// A split export that fails part-way: the retry sends only the parts not yet
// delivered, and the points already delivered are known until it succeeds.

import t from 'tap';
import { ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { encodeMetricsRequest, metricsRequestSize } from '../../../../src/exporter/internal/otlp/metrics-request-encoder.ts';
import { PartedMetricsSend } from '../../../../src/exporter/internal/otlp/parted-metrics-send.ts';
import { encodeWithin } from './encode-within.ts';

function request(points: number): ResourceMetrics {
  const metric = {
    descriptor: { name: 'network.flow.bytes', description: '', unit: 'By', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.DELTA,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: Array.from({ length: points }, (_, i) => ({ startTime: [1, 0], endTime: [2, 0], value: i, attributes: { id: `series-${i}`, pad: 'p'.repeat(60) } })),
  } as MetricData;
  return { resource: resourceFromAttributes({ 'service.name': 'podflow' }), scopeMetrics: [{ scope: { name: 'podflow' }, metrics: [metric] }] };
}

const signal = new AbortController().signal;

/** A backend that takes every request but the one at `failAt` (0-based), which fails once. */
function backendFailingOnce(failAt: number) {
  const received: Buffer[] = [];
  let fail = failAt;
  const send = async (body: Uint8Array) => {
    if (received.length === fail) {
      fail = -1;
      throw new Error('the backend is down');
    }
    received.push(Buffer.from(body));
  };
  return { received, send };
}

t.test('a retry resumes after the parts already delivered', async (t) => {
  const rm = request(400);
  const max = Math.floor(encodeMetricsRequest(rm).byteLength / 4);
  const expected = encodeWithin(rm, encodeMetricsRequest, max);
  t.ok(expected.length >= 4, `${expected.length} parts`);
  const { received, send } = backendFailingOnce(2);
  const parted = new PartedMetricsSend({ maxBytes: max, encode: encodeMetricsRequest, send });
  await t.rejects(parted.send(rm, signal), /the backend is down/);
  t.equal(received.length, 2, 'two parts went out before the failure');
  t.equal(parted.delivered(rm), expected[0]!.points + expected[1]!.points, 'their points are known as delivered');
  await parted.send(rm, signal);
  t.same(received, expected.map((p) => Buffer.from(p.body)), 'every part exactly once, in order');
  t.equal(parted.delivered(rm), 0, 'nothing pending once the item is through');
});

t.test('with the encoder\'s size, a retry encodes only the parts not yet delivered', async (t) => {
  const rm = request(400);
  const max = Math.floor(encodeMetricsRequest(rm).byteLength / 4);
  const expected = encodeWithin(rm, encodeMetricsRequest, max, metricsRequestSize);
  let encoded = 0;
  const { received, send } = backendFailingOnce(3);
  const parted = new PartedMetricsSend({
    maxBytes: max,
    encode: (x) => { encoded++; return encodeMetricsRequest(x); },
    size: metricsRequestSize,
    send,
  });
  await t.rejects(parted.send(rm, signal), /the backend is down/);
  t.equal(encoded, 4, 'the first attempt encoded the three parts delivered and the one that failed');
  await parted.send(rm, signal);
  t.equal(encoded, 4 + expected.length - 3, 'the retry encoded only the parts from the failed one on');
  t.same(received, expected.map((p) => Buffer.from(p.body)), 'every part exactly once, in order');
});

t.test('a request within the limit goes as it is', async (t) => {
  const rm = request(10);
  const bodies: Uint8Array[] = [];
  const parted = new PartedMetricsSend({ maxBytes: 4 << 20, encode: encodeMetricsRequest, send: async (b) => { bodies.push(b); } });
  await parted.send(rm, signal);
  t.same(bodies.map((b) => Buffer.from(b)), [Buffer.from(encodeMetricsRequest(rm))]);
  t.equal(parted.delivered(rm), 0);
});
