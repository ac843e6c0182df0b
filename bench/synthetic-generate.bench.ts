// Cost of the synthetic generator. The baseline builds the same rows through
// the object path (appendFlow() of FlowRecords), which is what the generator's
// direct column writes avoid; ratio = generator rows/s ÷ baseline rows/s.

import { FlowBatch } from '../src/pdata/flow-batch.ts';
import { appendFlow, readFlow, type FlowRecord } from '../src/pdata/flow-record.ts';
import { syntheticConfigSchema } from '../src/receiver/synthetic/config.ts';
import { generateInterval } from '../src/receiver/synthetic/generate.ts';

interface BenchResult { name: string; value: number; unit: string; baseline: number; ratio: number; extra?: Record<string, number | string> }

export default async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const config = syntheticConfigSchema.decodeOrDefault(
    { flows_per_interval: 50_000, connections_per_second: 1000, namespaces: 20, workloads_per_namespace: 10 }, [], [])!;
  const intervals = opts.quick ? 5 : 30;
  generateInterval(config, 0); // builds and caches the topology, outside the timing

  let rows = 0;
  let t0 = performance.now();
  for (let i = 1; i <= intervals; i++) rows += generateInterval(config, i).length;
  const generateMs = performance.now() - t0;

  const records: FlowRecord[] = [];
  const sample = generateInterval(config, 1);
  for (let r = 0; r < sample.length; r++) records.push(readFlow(sample, r));
  let baseRows = 0;
  t0 = performance.now();
  for (let i = 0; i < Math.max(1, Math.round(intervals / 5)); i++) {
    const b = new FlowBatch(records.length);
    for (const rec of records) appendFlow(b, rec);
    baseRows += b.length;
  }
  const baselineMs = performance.now() - t0;

  const value = rows / (generateMs / 1000);
  const baseline = baseRows / (baselineMs / 1000);
  return [{
    name: 'synthetic generateInterval', value: Math.round(value), unit: 'rows/s', baseline: Math.round(baseline),
    ratio: value / baseline, extra: { rowsPerInterval: sample.length, intervals, cpuMsPer100kRows: (generateMs / rows) * 1e5 },
  }];
}
