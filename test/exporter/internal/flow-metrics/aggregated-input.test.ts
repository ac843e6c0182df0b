// The accumulator fed by the real flow_aggregate processor: the reduced batches
// must give the same totals and the same histogram buckets as the raw flows.

import t from 'tap';
import type { Attributes } from '@opentelemetry/api';
import type { Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import type { Problem } from '../../../../src/config/schema.ts';
import { FlowMetricsAccumulator } from '../../../../src/exporter/internal/flow-metrics/flow-metrics-accumulator.ts';
import { flowAggregateFactory } from '../../../../src/processor/flow_aggregate/factory.ts';
import { syntheticReceiverFactory } from '../../../../src/receiver/synthetic/factory.ts';
import { generateInterval } from '../../../../src/receiver/synthetic/generate.ts';
import { CollectingConsumer } from '../../../support/collecting-consumer.ts';
import { testSettings } from '../../../support/test-settings.ts';

const newAcc = () => new FlowMetricsAccumulator({ temporality: 'cumulative', cardinalityLimit: 100_000, seriesExpiryMs: 0 });

function totals(ms: MetricData[]): Record<string, number | number[]> {
  const out: Record<string, number | number[]> = {};
  for (const m of ms) {
    for (const p of m.dataPoints as Array<{ value: number | Histogram }>) {
      if (typeof p.value === 'number') out[m.descriptor.name] = ((out[m.descriptor.name] as number | undefined) ?? 0) + p.value;
      else {
        const h = p.value;
        const key = `${m.descriptor.name} buckets`;
        const prev = (out[key] as number[] | undefined) ?? h.buckets.counts.map(() => 0);
        out[key] = prev.map((c, i) => c + h.buckets.counts[i]!);
        out[`${m.descriptor.name} count`] = ((out[`${m.descriptor.name} count`] as number | undefined) ?? 0) + h.count;
      }
    }
  }
  return out;
}

t.test('synthetic → flow_aggregate → accumulator equals synthetic → accumulator', async (t) => {
  const problems: Problem[] = [];
  const syn = syntheticReceiverFactory.configSchema.decodeOrDefault({ seed: 3, flows_per_interval: 300, connections_per_second: 200 }, [], problems)!;
  const aggConfig = flowAggregateFactory.configSchema.decodeOrDefault({ interval: '1h' }, [], problems)!;
  t.same(problems, []);
  const sink = new CollectingConsumer();
  const proc = flowAggregateFactory.create(testSettings('flow_aggregate'), aggConfig, sink);
  await proc.start();
  const raw = newAcc();
  for (let i = 0; i < 10; i++) {
    const b = generateInterval(syn, i);
    raw.consume(b);
    await proc.consume(b);
  }
  await proc.shutdown(); // emits the interval
  t.ok(sink.batches.length >= 1 && sink.batches.every((b) => b.aggregation !== undefined), 'reduced batches arrived');
  const reduced = newAcc();
  for (const b of sink.batches) reduced.consume(b);
  const rawMs = raw.collect();
  const redMs = reduced.collect();
  t.same(totals(redMs), totals(rawMs), 'same sums, histogram counts and buckets');
  const attrs = (ms: MetricData[]) => ms.find((m) => m.descriptor.name === 'network.flow.bytes')!.dataPoints.map((p) => p.attributes as Attributes);
  t.ok(attrs(redMs).length < attrs(rawMs).length, 'fewer series after aggregation');
  t.ok(attrs(redMs).every((a) => !('source.address' in a) && !('destination.original.address' in a)), 'no attribute outside group_by');
  t.ok(attrs(redMs).every((a) => Object.keys(a).every((k) => aggConfig.group_by.includes(k))), 'only group_by attributes');
});
