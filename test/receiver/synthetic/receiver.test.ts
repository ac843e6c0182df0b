import t from 'tap';
import type { Problem } from '../../../src/config/schema.ts';
import type { FlowConsumer } from '../../../src/consumer/consumer.ts';
import type { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { syntheticConfigSchema, type SyntheticConfig } from '../../../src/receiver/synthetic/config.ts';
import { syntheticReceiverFactory } from '../../../src/receiver/synthetic/factory.ts';
import { generateInterval } from '../../../src/receiver/synthetic/generate.ts';
import { SyntheticReceiver } from '../../../src/receiver/synthetic/synthetic-receiver.ts';
import { SelfTelemetry } from '../../../src/service/telemetry/self-telemetry.ts';
import { CollectingConsumer } from '../../support/collecting-consumer.ts';
import { testSettings } from '../../support/test-settings.ts';

function decode(value: unknown): { config?: SyntheticConfig; problems: Problem[] } {
  const problems: Problem[] = [];
  const config = syntheticConfigSchema.decodeOrDefault(value, ['receivers', 'synthetic'], problems);
  if (config) problems.push(...(syntheticReceiverFactory.validate?.(config) ?? []));
  return { config, problems };
}

t.test('defaults and validation with paths, all problems at once', async (t) => {
  t.same(decode(null).config, {
    seed: 1, namespaces: 4, workloads_per_namespace: 3, pods_per_workload: 3, interval: 1000, flows_per_interval: 200,
    connections_per_second: 50, zipf_exponent: 1.1, udp_ratio: 0.15, ipv6_ratio: 0, stop_after: 0,
  });
  const bad = decode({ interval: 'soon', udp_ratio: 2, namespaces: 0, colour: 'red' });
  t.same(bad.problems.map((p) => p.path.join('::')).sort(), [
    'receivers::synthetic', 'receivers::synthetic::interval', 'receivers::synthetic::namespaces', 'receivers::synthetic::udp_ratio',
  ]);
  const big = decode({ namespaces: 256, workloads_per_namespace: 256, pods_per_workload: 2 });
  t.match(big.problems, [{ path: ['pods_per_workload'], message: /131072 pods, above the maximum 51200/ }]);
});

t.test('emits generateInterval(config, i, epoch) on its timer, stops after stop_after, counts accepted rows', async (t) => {
  const telemetry = new SelfTelemetry();
  const config = decode({ interval: '40ms', stop_after: 3, flows_per_interval: 20, connections_per_second: 100 }).config!;
  const sink = new CollectingConsumer();
  const r = new SyntheticReceiver(testSettings('synthetic/a', { telemetry }), config, sink);
  await r.start();
  await r.start();
  await sink.waitForBatches(3);
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(sink.batches.length, 3, 'no batch after stop_after');
  t.equal(r.intervalsEmitted, 3);
  sink.batches.forEach((b, i) => {
    const expected = generateInterval(config, i, r.epochMs);
    t.equal(b.length, expected.length, `interval ${i}: ${b.length} rows`);
    t.same([b.startTimeMs, b.endTimeMs], [r.epochMs + i * 40, r.epochMs + (i + 1) * 40]);
    t.same(Array.from(b.counters.bytes.subarray(0, b.length)), Array.from(expected.counters.bytes.subarray(0, expected.length)));
  });
  const accepted = telemetry.counter('podflow_receiver_accepted_flows_total', '').get({ receiver: 'synthetic/a' });
  t.equal(accepted, sink.rows, `${accepted} rows counted as accepted`);
  await r.shutdown();
  await r.shutdown();
});

t.test('a refusing pipeline is counted, and shutdown waits for the batch in flight', async (t) => {
  const telemetry = new SelfTelemetry();
  const config = decode({ interval: '20ms', flows_per_interval: 5, connections_per_second: 0 }).config!;
  let calls = 0;
  let release: () => void = () => undefined;
  const refusing: FlowConsumer = {
    mutatesData: false,
    consume: (_b: FlowBatch) => {
      calls++;
      if (calls === 1) throw new Error('queue full'); // thrown, not rejected: still counted, no crash
      return new Promise<void>((resolve) => { release = resolve; });
    },
  };
  const r = syntheticReceiverFactory.create(testSettings('synthetic', { telemetry }), config, refusing);
  await r.start();
  while (calls < 2) await new Promise((resolve) => setTimeout(resolve, 10));
  let stopped = false;
  const stopping = r.shutdown().then(() => { stopped = true; });
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.notOk(stopped, 'shutdown waits for the consume in flight');
  release();
  await stopping;
  t.equal(calls, 2, 'nothing is emitted after shutdown');
  t.equal(telemetry.counter('podflow_receiver_refused_flows_total', '').get({ receiver: 'synthetic' }), 10);
  t.equal(telemetry.counter('podflow_receiver_accepted_flows_total', '').get({ receiver: 'synthetic' }), 10);
});

t.test('a batch is released once the pipeline has consumed it, not before', async (t) => {
  const config = decode({ interval: '20ms', stop_after: 1, flows_per_interval: 20, connections_per_second: 0 }).config!;
  let given: FlowBatch | undefined;
  let rowsWhileConsuming = -1;
  let finish: () => void = () => undefined;
  const slow: FlowConsumer = {
    mutatesData: false,
    consume: async (b: FlowBatch) => {
      given = b;
      await new Promise<void>((resolve) => { finish = resolve; });
      rowsWhileConsuming = b.length;
    },
  };
  const r = syntheticReceiverFactory.create(testSettings('synthetic'), config, slow);
  await r.start();
  while (!given) await new Promise((resolve) => setTimeout(resolve, 5));
  const rows = given.length;
  t.ok(rows > 0);
  finish();
  await r.shutdown();
  t.equal(rowsWhileConsuming, rows, 'whole for as long as consume() runs');
  t.equal(given.length, 0, 'released after it');
});

t.test('ticks stay on the interval grid (no drift)', async (t) => {
  const config = decode({ interval: '25ms', stop_after: 8, flows_per_interval: 1, connections_per_second: 0 }).config!;
  const sink = new CollectingConsumer();
  const r = new SyntheticReceiver(testSettings('synthetic'), config, sink);
  await r.start();
  await sink.waitForBatches(8);
  const late = Date.now() - (r.epochMs + 8 * 25);
  t.ok(late < 150, `the 8th batch arrived ${late}ms after its window closed`);
  await r.shutdown();
});

t.test('a running receiver does not keep the process alive', async (t) => {
  const { execFile } = await import('node:child_process');
  const module = new URL('../../../src/receiver/synthetic/synthetic-receiver.ts', import.meta.url).href;
  const settings = new URL('../../support/test-settings.ts', import.meta.url).href;
  const script = `
    const { SyntheticReceiver } = await import(${JSON.stringify(module)});
    const { testSettings } = await import(${JSON.stringify(settings)});
    const config = { seed: 1, namespaces: 1, workloads_per_namespace: 1, pods_per_workload: 1, interval: 50,
      flows_per_interval: 1, connections_per_second: 0, zipf_exponent: 1, udp_ratio: 0, ipv6_ratio: 0, stop_after: 0 };
    let n = 0;
    await new SyntheticReceiver(testSettings('synthetic'), config, { mutatesData: false, consume: async () => { n++; } }).start();
    setTimeout(() => console.log('batches', n), 180);`;
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 }, (e, stdout) =>
      e ? reject(e) : resolve(stdout));
  });
  t.match(out, /batches [1-9]/, 'it ran, emitted, and the process exited on its own');
});
