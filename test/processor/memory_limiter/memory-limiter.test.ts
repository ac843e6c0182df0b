// memory_limiter: the Collector's config rules with paths; refusal above the
// soft limit with a forced GC first; and a real flood (a consumer that keeps
// every batch, like a stage backed up behind a dead backend): refusals are
// counted, the RSS grows by no more than the limit allows, and data flows again
// once memory is freed.

import t from 'tap';
import type { Problem } from '../../../src/config/schema.ts';
import type { FlowConsumer } from '../../../src/consumer/consumer.ts';
import { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { memoryLimiterFactory } from '../../../src/processor/memory_limiter/factory.ts';
import { resolveLimits, type MemoryLimiterConfig } from '../../../src/processor/memory_limiter/config.ts';
import { MemoryLimiterProcessor, MemoryLimitError } from '../../../src/processor/memory_limiter/memory-limiter.ts';
import { SelfTelemetry } from '../../../src/service/telemetry/self-telemetry.ts';
import { CollectingConsumer } from '../../support/collecting-consumer.ts';
import { testSettings } from '../../support/test-settings.ts';

const MiB = 2 ** 20;

function decode(raw: unknown): { config?: MemoryLimiterConfig; problems: string[] } {
  const problems: Problem[] = [];
  const config = memoryLimiterFactory.configSchema.decodeOrDefault(raw, ['processors', 'memory_limiter'], problems);
  if (config) problems.push(...memoryLimiterFactory.validate!(config).map((p) => ({ ...p, path: ['processors', 'memory_limiter', ...p.path] })));
  return { config, problems: problems.map((p) => `${p.path.join('::')}: ${p.message}`) };
}

t.test('config rules, all problems at once', async (t) => {
  t.same(decode({}).problems, [
    'processors::memory_limiter::check_interval: must be greater than zero (e.g. 1s)',
    'processors::memory_limiter::limit_mib: limit_mib or limit_percentage must be greater than zero',
  ]);
  t.same(decode({ check_interval: '1s', limit_mib: 100, spike_limit_mib: 100 }).problems, ['processors::memory_limiter::spike_limit_mib: must be smaller than limit_mib (100)']);
  t.same(decode({ check_interval: '1s', limit_percentage: 120 }).problems, ['processors::memory_limiter::limit_percentage: value 120 is above the maximum 100']);
  t.same(decode({ check_interval: '1s', limit_mib: 100, min_gc_interval_when_soft_limited: '10s' }).problems.length, 1, 'Go GC tuning keys are unknown');
  t.same(resolveLimits(decode({ check_interval: '1s', limit_mib: 100 }).config!, 0), { hardBytes: 100 * MiB, softBytes: 80 * MiB }, 'spike defaults to 20%');
  t.same(resolveLimits(decode({ check_interval: '1s', limit_percentage: 50, spike_limit_percentage: 10 }).config!, 1000 * MiB), { hardBytes: 500 * MiB, softBytes: 400 * MiB });
});

t.test('refuses above the soft limit after a forced GC, accepts again below', async (t) => {
  let used = 10 * MiB;
  let gcs = 0;
  const telemetry = new SelfTelemetry();
  const sink = new CollectingConsumer();
  const config = decode({ check_interval: '1h', limit_mib: 100, spike_limit_mib: 20 }).config!;
  const p = new MemoryLimiterProcessor(testSettings('memory_limiter', { telemetry }), config, sink, { measure: () => used, gc: () => { gcs++; } });
  await p.start();
  const b = new FlowBatch(3);
  b.addRow(); b.addRow(); b.addRow();
  await p.consume(b);
  used = 85 * MiB; // above soft (80), and a GC does not help
  p.check();
  t.equal(gcs, 1, 'a GC was forced first');
  await t.rejects(p.consume(b), MemoryLimitError);
  t.equal(telemetry.counter('podflow_processor_refused_flows_total', '').get({ processor: 'memory_limiter', reason: 'memory_limit' }), 3);
  used = 50 * MiB;
  p.check();
  await p.consume(b);
  t.equal(sink.rows, 6, 'accepted again');
  await p.shutdown();
});

t.test('a flood against a consumer that keeps everything: refusals counted, RSS under the limit', async (t) => {
  const rss0 = process.memoryUsage.rss();
  const m0 = process.memoryUsage();
  const held0 = m0.heapUsed + m0.external;
  const limitMib = Math.ceil(held0 / MiB) + 160;
  const telemetry = new SelfTelemetry();
  let kept: FlowBatch[] = [];
  const leaky: FlowConsumer = { mutatesData: false, consume: async (b) => { kept.push(b.clone()); } };
  const config = decode({ check_interval: '20ms', limit_mib: limitMib, spike_limit_mib: 60 }).config!;
  const p = memoryLimiterFactory.create(testSettings('memory_limiter', { telemetry }), config, leaky) as MemoryLimiterProcessor;
  await p.start();
  const batch = new FlowBatch(20_000);
  for (let i = 0; i < 20_000; i++) batch.addRow();
  let refused = 0;
  let accepted = 0;
  let maxRss = 0;
  const deadline = Date.now() + 20_000;
  while (refused < 50 && Date.now() < deadline) {
    try {
      await p.consume(batch);
      accepted++;
    } catch (e) {
      if (!(e instanceof MemoryLimitError)) throw e;
      refused++;
    }
    maxRss = Math.max(maxRss, process.memoryUsage.rss());
    await new Promise((r) => setTimeout(r, 2));
  }
  t.ok(accepted > 5, `accepted data before the limit (${accepted} batches of 20000 rows kept)`);
  t.equal(refused, 50, 'then refused');
  t.equal(telemetry.counter('podflow_processor_refused_flows_total', '').get({ processor: 'memory_limiter', reason: 'memory_limit' }), refused * 20_000, 'every refused row counted');
  // The flood may add at most limit − held0 = 160 MiB of held memory; RSS follows it (plus allocator slack).
  t.ok(maxRss - rss0 < 160 * MiB + 16 * MiB, `RSS grew by ${((maxRss - rss0) / MiB).toFixed(0)} MiB for a 160 MiB budget (limit ${limitMib} MiB held; RSS ${(rss0 / MiB).toFixed(0)} → max ${(maxRss / MiB).toFixed(0)} MiB)`);
  kept = [];
  t.equal(kept.length, 0);
  const until = Date.now() + 10_000;
  while (p.limited && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  t.notOk(p.limited, 'freed memory: after a forced GC the memory held is under the soft limit and data is accepted again');
  await p.consume(batch);
  await p.shutdown();
});

t.test('attributesRead: what the next stage reads', async (t) => {
  const next: FlowConsumer = { mutatesData: false, consume: async () => undefined, attributesRead: () => new Set(['a']) };
  const config = decode({ check_interval: '1s', limit_mib: 1000, spike_limit_mib: 100 }).config!;
  t.same([...memoryLimiterFactory.create(testSettings('memory_limiter'), config, next).attributesRead!()!], ['a']);
  t.equal(memoryLimiterFactory.create(testSettings('memory_limiter'), config, new CollectingConsumer()).attributesRead!(), undefined);
});
