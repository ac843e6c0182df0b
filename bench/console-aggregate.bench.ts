// Cost of rolling rows into the console's top-flows edges (EdgeAggregator.add,
// which sees every row the console exporter receives). Baseline, measured side
// by side: the obvious version that builds a string key per row from
// getAttribute(); ratio = aggregator rows/s ÷ baseline rows/s.

import { EdgeAggregator } from '../src/exporter/console/top-flows.ts';
import type { FlowBatch } from '../src/pdata/flow-batch.ts';
import { syntheticConfigSchema } from '../src/receiver/synthetic/config.ts';
import { generateInterval } from '../src/receiver/synthetic/generate.ts';

interface BenchResult { name: string; value: number; unit: string; baseline: number; ratio: number; extra?: Record<string, number | string> }

function naive(b: FlowBatch, sums: Map<string, number>): void {
  for (let r = 0; r < b.length; r++) {
    const key = `${b.getAttribute(r, 'source.k8s.namespace.name')}/${b.getAttribute(r, 'source.k8s.workload.name')}>`
      + `${b.getAttribute(r, 'destination.k8s.namespace.name')}/${b.getAttribute(r, 'destination.k8s.workload.name')}:${b.dstPort[r]}`;
    sums.set(key, (sums.get(key) ?? 0) + b.counters.bytes[r]!);
  }
}

export default async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const config = syntheticConfigSchema.decodeOrDefault(
    { flows_per_interval: 50_000, connections_per_second: 1000, namespaces: 20, workloads_per_namespace: 10 }, [], [])!;
  const batches = Array.from({ length: opts.quick ? 3 : 10 }, (_, i) => generateInterval(config, i));
  const rows = batches.reduce((n, b) => n + b.length, 0);

  const agg = new EdgeAggregator();
  let t0 = performance.now();
  for (const b of batches) agg.add(b);
  const edges = agg.drain().edges.length;
  const aggMs = performance.now() - t0;

  const sums = new Map<string, number>();
  t0 = performance.now();
  for (const b of batches) naive(b, sums);
  const naiveMs = performance.now() - t0;

  const value = rows / (aggMs / 1000);
  const baseline = rows / (naiveMs / 1000);
  return [{ name: 'console EdgeAggregator.add', value: Math.round(value), unit: 'rows/s', baseline: Math.round(baseline), ratio: value / baseline, extra: { rows, edges } }];
}
