// Cost of turning FlowBatch rows into metric series (the exporters' hot path).
// The accumulator keys each row by a string of its raw column values and builds
// the attribute object only for a new series. The baseline is the obvious
// alternative it avoids: an attribute object per row (readFlow) keyed by
// JSON.stringify, fed into the same kind of Map of running sums.
// ratio = accumulator rows/s ÷ baseline rows/s.

import { FlowMetricsAccumulator } from '../src/exporter/internal/flow-metrics/flow-metrics-accumulator.ts';
import { readFlow } from '../src/pdata/flow-record.ts';
import { syntheticConfigSchema } from '../src/receiver/synthetic/config.ts';
import { generateInterval } from '../src/receiver/synthetic/generate.ts';

interface BenchResult { name: string; value: number; unit: string; baseline: number; ratio: number; extra?: Record<string, number | string> }

export default async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const config = syntheticConfigSchema.decodeOrDefault(
    { flows_per_interval: 20_000, connections_per_second: 500, namespaces: 10, workloads_per_namespace: 6 }, [], [])!;
  const batches = Array.from({ length: opts.quick ? 3 : 12 }, (_, i) => generateInterval(config, i));
  const rows = batches.reduce((n, b) => n + b.length, 0);

  const acc = new FlowMetricsAccumulator({ temporality: 'cumulative', cardinalityLimit: 1_000_000, seriesExpiryMs: 0 });
  acc.consume(batches[0]!); // warm-up: JIT and the first series
  let t0 = performance.now();
  for (const b of batches) acc.consume(b);
  const accMs = performance.now() - t0;
  t0 = performance.now();
  const points = acc.collect().reduce((n, m) => n + m.dataPoints.length, 0);
  const collectMs = performance.now() - t0;

  const naive = new Map<string, Float64Array>();
  t0 = performance.now();
  for (const b of batches) {
    for (let r = 0; r < b.length; r++) {
      const f = readFlow(b, r);
      const attrs = { t: f.transport, s: f.sourceAddress, d: f.destinationAddress, p: f.destinationPort, o: f.observer,
        od: f.originalDestinationAddress, op: f.originalDestinationPort, ...f.attributes };
      const key = JSON.stringify(attrs);
      let v = naive.get(key);
      if (!v) naive.set(key, (v = new Float64Array(7)));
      const c = f.counters ?? {};
      v[0]! += c.bytes ?? 0; v[1]! += c.packets ?? 0; v[2]! += c.retransmits ?? 0; v[3]! += c.resets ?? 0;
      v[4]! += c.opened ?? 0; v[5]! += c.failed ?? 0; v[6]! += c.closed ?? 0;
    }
  }
  const naiveMs = performance.now() - t0;

  const value = rows / (accMs / 1000);
  const baseline = rows / (naiveMs / 1000);
  return [{
    name: 'flow-metrics accumulator consume', value: Math.round(value), unit: 'rows/s', baseline: Math.round(baseline),
    ratio: value / baseline,
    extra: { rows, series: naive.size, points, collectMs: Math.round(collectMs), cpuMsPer100kRows: (accMs / rows) * 1e5 },
  }];
}
