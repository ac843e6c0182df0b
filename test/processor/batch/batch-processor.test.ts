// batch: rows are combined by size and timeout, split at send_batch_max_size,
// every row and string attribute arrives intact and in order, shutdown flushes,
// downstream failures are counted; config errors name their path.

import t from 'tap';
import type { Problem } from '../../../src/config/schema.ts';
import type { FlowConsumer } from '../../../src/consumer/consumer.ts';
import { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { appendFlow, readFlow } from '../../../src/pdata/flow-record.ts';
import { batchFactory } from '../../../src/processor/batch/factory.ts';
import type { BatchConfig } from '../../../src/processor/batch/config.ts';
import { SelfTelemetry } from '../../../src/service/telemetry/self-telemetry.ts';
import { CollectingConsumer } from '../../support/collecting-consumer.ts';
import { testSettings } from '../../support/test-settings.ts';

function decode(raw: unknown): { config?: BatchConfig; problems: string[] } {
  const problems: Problem[] = [];
  const config = batchFactory.configSchema.decodeOrDefault(raw, ['processors', 'batch'], problems);
  if (config) problems.push(...batchFactory.validate!(config).map((p) => ({ ...p, path: ['processors', 'batch', ...p.path] })));
  return { config, problems: problems.map((p) => `${p.path.join('::')}: ${p.message}`) };
}

/** A batch of n rows whose bytes are first..first+n-1 and whose pod name encodes the same number. */
function rows(first: number, n: number): FlowBatch {
  const b = new FlowBatch(n);
  for (let i = 0; i < n; i++) {
    appendFlow(b, {
      transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 1000, destinationAddress: '10.0.0.2', destinationPort: 80,
      sourceIsClient: true, counters: { bytes: first + i + 1 }, attributes: { 'source.k8s.pod.name': `pod-${first + i}`, ...(i % 2 ? { 'destination.k8s.service.name': 'svc' } : {}) },
    });
  }
  return b;
}

function make(raw: unknown, next: FlowConsumer = new CollectingConsumer(), telemetry = new SelfTelemetry()) {
  const { config, problems } = decode(raw);
  if (!config) throw new Error(problems.join('\n'));
  return { p: batchFactory.create(testSettings('batch', { telemetry }), config, next), telemetry };
}

t.test('the batches it sends are its own: each released once consumed; its inputs are the callers\'', async (t) => {
  const seen: Array<{ batch: FlowBatch; rows: number }> = [];
  const spy: FlowConsumer = { mutatesData: false, consume: async (x) => { seen.push({ batch: x, rows: x.length }); } };
  const { p } = make({ send_batch_size: 10, send_batch_max_size: 12, timeout: '10s' }, spy);
  await p.start();
  const inputs = [rows(0, 8), rows(8, 8)];
  for (const b of inputs) await p.consume(b);
  await p.shutdown();
  t.same(seen.map((s) => s.rows), [12, 4], 'split at send_batch_max_size');
  t.same(seen.map((s) => s.batch.length), [0, 0], 'each released after its consume');
  t.same(inputs.map((b) => b.length), [8, 8], 'the inputs are left whole');
});

t.test('defaults and config errors', async (t) => {
  t.match(decode({}).config, { send_batch_size: 8192, send_batch_max_size: 0, timeout: 200 });
  t.same(decode({ metadata_keys: ['tenant'] }).problems, ['processors::batch::metadata_keys: not applicable: podflow flows carry no client metadata to batch by (remove the key)']);
  t.same(decode({ send_batch_size: 100, send_batch_max_size: 10, timeout: 'x' }).problems, ['processors::batch::timeout: expected a duration such as "5s" or "250ms", got "x"']);
  t.same(decode({ send_batch_size: 100, send_batch_max_size: 10 }).problems, ['processors::batch::send_batch_max_size: must be greater than or equal to send_batch_size (100)']);
  t.same(decode({ unknown_key: 1 }).problems.length, 1);
});

t.test('size trigger, split at send_batch_max_size, every row in order with its strings', async (t) => {
  const sink = new CollectingConsumer();
  const { p, telemetry } = make({ send_batch_size: 100, send_batch_max_size: 120, timeout: '10s' }, sink);
  await p.start();
  let next = 0;
  for (const n of [30, 50, 60, 7]) {
    const b = rows(next, n);
    await p.consume(b);
    next += n;
  }
  // 30+50+60 = 140 ≥ 100 → one send, split into 120 + 20; 7 rows pending.
  t.same(sink.batches.map((b) => b.length), [120, 20]);
  await p.shutdown();
  t.same(sink.batches.map((b) => b.length), [120, 20, 7], 'shutdown flushes the rest');
  const all = sink.batches.flatMap((b) => Array.from({ length: b.length }, (_, r) => readFlow(b, r)));
  t.same(all.map((f) => f.counters?.bytes), Array.from({ length: 147 }, (_, i) => i + 1), 'every row once, in order');
  t.same(all.map((f) => f.attributes?.['source.k8s.pod.name']), Array.from({ length: 147 }, (_, i) => `pod-${i}`), 'strings remapped');
  t.equal(all.filter((f) => f.attributes?.['destination.k8s.service.name'] === 'svc').length, 15 + 25 + 30 + 3);
  const sends = telemetry.counter('podflow_processor_batch_sends_total', '');
  t.equal(sends.get({ processor: 'batch', trigger: 'size' }), 2);
  t.equal(sends.get({ processor: 'batch', trigger: 'shutdown' }), 1);
});

t.test('timeout trigger', async (t) => {
  const sink = new CollectingConsumer();
  const { p } = make({ send_batch_size: 1000, timeout: '100ms' }, sink);
  await p.start();
  await p.consume(rows(0, 5));
  await p.consume(rows(5, 5));
  t.equal(sink.batches.length, 0, 'buffered');
  await sink.waitForBatches(1, 2000);
  t.same(sink.batches.map((b) => b.length), [10], 'one batch after the timeout');
  await p.shutdown();
});

t.test('the input batch is only read; a downstream failure is counted', async (t) => {
  const failing: FlowConsumer = { mutatesData: false, consume: async () => { throw new Error('nope'); } };
  const { p, telemetry } = make({ send_batch_size: 10, timeout: '1s' }, failing);
  await p.start();
  const b = rows(0, 12);
  const before = b.counters.bytes.slice();
  await p.consume(b);
  t.same(b.counters.bytes, before);
  await p.shutdown();
  t.equal(telemetry.counter('podflow_processor_dropped_flows_total', '').get({ processor: 'batch', reason: 'downstream_error' }), 12);
});

t.test('attributesRead: what the next stage reads', async (t) => {
  const next: FlowConsumer = { mutatesData: false, consume: async () => undefined, attributesRead: () => new Set(['a']) };
  t.same([...make({}, next).p.attributesRead!()!], ['a']);
  t.equal(make({}).p.attributesRead!(), undefined);
});
