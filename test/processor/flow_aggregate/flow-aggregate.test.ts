// Property-style: for many seeds, the worker aggregation equals the reference
// single-threaded aggregation on the same random input, per interval (delta) and
// summed over intervals (cumulative), with 1 and 3 workers and several group_by
// sets; a killed worker is replaced and exactly its rows are counted as lost.

import t, { type Test } from 'tap';
import type { Problem } from '../../../src/config/schema.ts';
import type { FlowConsumer } from '../../../src/consumer/consumer.ts';
import { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { selectRows } from '../../../src/pdata/flow-batch-select.ts';
import { appendRows } from '../../../src/processor/batch/append-rows.ts';
import { CHUNK_ROWS } from '../../../src/processor/flow_aggregate/worker-rows.ts';
import { flowAggregateFactory } from '../../../src/processor/flow_aggregate/factory.ts';
import type { FlowAggregateConfig } from '../../../src/processor/flow_aggregate/config.ts';
import { FlowAggregateProcessor, MAX_IN_FLIGHT } from '../../../src/processor/flow_aggregate/flow-aggregate-processor.ts';
import { compileKeySpec } from '../../../src/processor/flow_aggregate/group-key.ts';
import { Partitioner } from '../../../src/processor/flow_aggregate/partition.ts';
import { SelfTelemetry } from '../../../src/service/telemetry/self-telemetry.ts';
import { CollectingConsumer } from '../../support/collecting-consumer.ts';
import { testSettings } from '../../support/test-settings.ts';
import { difference, fromReduced, randomBatches, refKey, referenceAggregate, type RefResult } from './reference.ts';

function decode(raw: Record<string, unknown>): FlowAggregateConfig {
  const problems: Problem[] = [];
  const cfg = flowAggregateFactory.configSchema.decodeOrDefault(raw, ['processors', 'flow_aggregate'], problems);
  if (!cfg) throw new Error(problems.map((p) => `${p.path.join('::')}: ${p.message}`).join('\n'));
  return cfg;
}

function make(raw: Record<string, unknown>, telemetry = new SelfTelemetry()) {
  const sink = new CollectingConsumer();
  // A long interval: the test decides when an interval ends by calling flush().
  const p = flowAggregateFactory.create(testSettings('flow_aggregate/t', { telemetry }), decode({ interval: '1h', ...raw }), sink) as FlowAggregateProcessor;
  return { p, sink, telemetry };
}

/** make(), started, shut down at the test's end; with the group_by its config resolved to. */
async function started(t: Test, raw: Record<string, unknown>) {
  const made = make(raw);
  await made.p.start();
  t.teardown(() => made.p.shutdown());
  return { ...made, keys: decode(raw).group_by };
}

/** `b` (filled: growing would give it new columns) with a column that is a view into a larger buffer: FlowBatch.moveOut refuses it, so it goes in copied chunks. */
function unmovable(b: FlowBatch): FlowBatch {
  const wider = new Uint8Array(b.capacity + 8);
  wider.set(b.flags);
  b.flags = wider.subarray(0, b.capacity);
  return b;
}

const GROUPINGS: Array<string[] | undefined> = [
  undefined, // the default
  ['source.address', 'destination.address', 'destination.port', 'network.transport', 'source.port'],
  ['destination.k8s.service.name', 'flow.observer', 'network.type', 'source.k8s.pod.name'],
];

t.test('config: defaults and path-named errors', async (t) => {
  const d = decode({});
  t.equal(d.interval, 10_000);
  t.equal(d.workers, 1);
  t.ok(d.group_by.includes('destination.port') && !d.group_by.includes('source.port'), 'ephemeral ports dropped by default');
  const problems: Problem[] = [];
  flowAggregateFactory.configSchema.decodeOrDefault({ workers: 0, group_by: ['a', 'a'], interval: 'soon' }, ['processors', 'flow_aggregate'], problems);
  t.same(problems.map((p) => p.path.join('::')).sort(), [
    'processors::flow_aggregate::group_by', 'processors::flow_aggregate::interval', 'processors::flow_aggregate::workers',
  ], 'all problems at once, each with its path');
});

for (const workers of [1, 3]) {
  for (const [gi, groupBy] of GROUPINGS.entries()) {
    t.test(`equals the reference: ${workers} worker(s), grouping ${gi}`, async (t) => {
      const { p, sink, telemetry, keys } = await started(t, { workers, ...(groupBy ? { group_by: groupBy } : {}) });
      const cumulative: RefResult = new Map();
      const cumulativeOut: RefResult = new Map();
      let flowsIn = 0;
      const SEEDS = 20;
      for (let seed = 1; seed <= SEEDS; seed++) {
        const input = randomBatches(seed * 7919 + workers * 31 + gi, 1 + (seed % 4), 300);
        // A copy each: with one worker the processor takes the batch it is given (FlowBatch.moveOut).
        for (const b of input) await p.consume(b.clone());
        flowsIn += input.reduce((n, b) => n + b.length, 0);
        const before = sink.batches.length;
        await p.flush();
        t.equal(sink.batches.length, before + 1, `seed ${seed}: one batch per interval`);
        const out = sink.batches.at(-1)!;
        t.equal(difference(fromReduced(out), referenceAggregate(input, keys)), undefined, `seed ${seed}: interval delta equals the reference`);
        t.equal(new Set(Array.from({ length: out.length }, (_, i) => refKey(out, i, keys))).size, out.length, `seed ${seed}: one row per group`);
        referenceAggregate(input, keys, cumulative);
        fromReduced(out, cumulativeOut);
      }
      t.equal(difference(cumulativeOut, cumulative), undefined, 'cumulative sums over all intervals equal the reference');
      const outRows = sink.batches.reduce((n, b) => n + b.length, 0);
      t.equal(telemetry.counter('podflow_processor_incoming_flows_total', '').get({ processor: 'flow_aggregate/t' }), flowsIn);
      t.equal(telemetry.counter('podflow_processor_outgoing_flows_total', '').get({ processor: 'flow_aggregate/t' }), outRows);
      t.equal(telemetry.gauge('podflow_processor_flow_aggregate_groups', '').get({ processor: 'flow_aggregate/t' }), sink.batches.at(-1)!.length);
      t.ok(outRows < flowsIn, 'rows were reduced');
    });
  }
}

t.test('batches of several chunks per worker, with an interval ending between chunks of a batch', async (t) => {
  // CHUNK_ROWS rows go to a worker per message, the string table with a batch's
  // first chunk only; a flush queued while consume() waits for room lands
  // between two chunks of one batch, and the next chunk must still resolve its strings.
  for (const workers of [1, 2]) {
    const { p, sink, keys } = await started(t, { workers });
    const batches = randomBatches(4242 + workers, 160, 1000);
    // Unmovable, so that one worker gets it in chunks too (a movable batch goes whole).
    const big = new FlowBatch(8);
    for (const b of batches) appendRows(big, b);
    unmovable(big);
    t.ok(big.length > CHUNK_ROWS * (MAX_IN_FLIGHT + 1), `${big.length} rows: more chunks than may be in flight`);
    const consumed = p.consume(big);
    const midway = p.flush();
    await consumed;
    await midway;
    await p.flush();
    t.equal(sink.batches.length, 2, 'the first interval ended while the batch was still being sent');
    const got: RefResult = new Map();
    for (const out of sink.batches) fromReduced(out, got);
    t.equal(difference(got, referenceAggregate([big], keys)), undefined, `${workers} worker(s): the intervals sum to the reference`);
    await p.shutdown();
  }
});

t.test('rows consumed while a flush waits for the chunks before it land in the next interval', async (t) => {
  // Chunks go to a worker without waiting for the previous reply, but the
  // flush waits for every chunk sent before it: one sent meanwhile must wait
  // for the flush, or the worker would fold it into the interval being emitted.
  // With 3, a moved batch visits up to three workers one after the other: the
  // flush waits for the last.
  for (const workers of [1, 2, 3]) {
    const { p, sink, keys } = await started(t, { workers });
    const [first, second] = [randomBatches(31 + workers, 4, 500), randomBatches(41 + workers, 4, 500)];
    for (const b of first) await p.consume(b.clone());
    const flushed = p.flush();
    // The flush has begun (its first step runs in the microtask before this one) and
    // waits for the chunks (or moved batches) of `first`, which consume() posted without waiting for them.
    await null;
    for (const b of second) await p.consume(b.clone());
    await flushed;
    await p.flush();
    t.equal(sink.batches.length, 2, `${workers} worker(s): two intervals`);
    t.equal(difference(fromReduced(sink.batches[0]!), referenceAggregate(first, keys)), undefined, 'the first holds exactly the rows before the flush');
    t.equal(difference(fromReduced(sink.batches[1]!), referenceAggregate(second, keys)), undefined, 'the second exactly the rows after it');
    await p.shutdown();
  }
});

t.test('shutdown while a batch waits for room: the rows not yet sent are counted, the rest emitted', async (t) => {
  const { p, sink, telemetry } = make({ workers: 1 });
  await p.start();
  const big = new FlowBatch(8);
  for (const b of randomBatches(777, 160, 1000)) appendRows(big, b);
  unmovable(big);
  big.counters.packets.fill(1); // so the output's packet sum counts the rows that made it
  t.ok(big.length > CHUNK_ROWS * (MAX_IN_FLIGHT + 1), 'more chunks than may be in flight');
  const consumed = p.consume(big);
  await p.shutdown();
  await consumed;
  const out = sink.batches.reduce((n, b) => n + b.counters.packets.subarray(0, b.length).reduce((a, v) => a + v, 0), 0);
  const dropped = telemetry.counter('podflow_processor_dropped_flows_total', '').get({ processor: 'flow_aggregate/t', reason: 'not_running' });
  t.ok(dropped > 0 && out > 0, `${out} rows emitted, ${dropped} counted as not_running`);
  t.equal(out + dropped, big.length, 'every row is either emitted or counted');
});

t.test('an empty interval emits nothing; shutdown flushes and is idempotent', async (t) => {
  const { p, sink } = make({});
  await p.start();
  await p.flush();
  t.equal(sink.batches.length, 0);
  const input = randomBatches(5, 2, 50);
  for (const b of input) await p.consume(b.clone());
  await p.shutdown();
  await p.shutdown();
  t.equal(sink.batches.length, 1, 'shutdown emitted the last interval');
  t.equal(difference(fromReduced(sink.batches[0]!), referenceAggregate(input, decode({}).group_by)), undefined);
  t.ok(sink.batches[0]!.endTimeMs >= sink.batches[0]!.startTimeMs);
});

t.test('a batch it cannot move is left untouched (the processor copies what it sends)', async (t) => {
  for (const workers of [1, 2]) {
    const { p, sink, keys } = await started(t, { workers });
    const [b] = randomBatches(9 + workers, 1, 100) as [FlowBatch];
    unmovable(b);
    const before = b.clone();
    await p.consume(b);
    await p.settled();
    t.same(b.counters.bytes.subarray(0, b.length), before.counters.bytes.subarray(0, before.length), `${workers} worker(s): rows unchanged`);
    t.equal(b.srcAddr.byteLength, before.srcAddr.byteLength, 'buffers not detached');
    await p.flush();
    t.equal(difference(fromReduced(sink.batches.at(-1)!), referenceAggregate([before], keys)), undefined, 'folded exactly');
  }
});

t.test('a worker takes the batch it is given whole: the caller holds an empty batch, the main thread copies no row', async (t) => {
  // With several workers the batch visits each in turn: each folds its own
  // partition's rows where they lie and hands the batch back to be posted on.
  for (const workers of [1, 2, 3]) {
    const { p, sink, keys } = await started(t, { workers });
    t.equal(p.mutatesData, true, `${workers} worker(s): it says it takes the batch (a fan-out hands it one of its own)`);
    const input = randomBatches(19 + workers, 3 * workers, 400);
    for (const b of input) {
      const given = b.clone();
      const buffer = given.srcAddr.buffer;
      await p.consume(given);
      t.equal(given.length, 0, 'the caller\'s batch is empty once consume() returns');
      t.equal(buffer.byteLength, 0, 'its buffers went to a worker (detached here)');
      given.release(); // what the stage that made it does next: harmless
    }
    t.equal(p.copiedChunks, 0, 'no row was copied on the main thread');
    await p.flush();
    t.equal(difference(fromReduced(sink.batches.at(-1)!), referenceAggregate(input, keys)), undefined, 'folded exactly');
  }
});

t.test('a batch sent in chunks keeps its string table while moved batches arrive between its chunks', async (t) => {
  // A worker gets a batch's string table with its first chunk only. With one
  // worker, batches consumed meanwhile move to it whole and reach it between
  // the big batch's chunks, each with a table of its own; the rest of the big
  // batch's chunks must still be read against the big batch's.
  const { p, sink, keys } = await started(t, { workers: 1 });
  const big = new FlowBatch(8);
  for (const x of randomBatches(71, 160, 1000)) appendRows(big, x);
  unmovable(big);
  const moved = randomBatches(72, 12, 2000);
  t.ok(big.length > CHUNK_ROWS * (MAX_IN_FLIGHT + 1), 'the big batch is more chunks than may be in flight');
  const input = [big.clone(), ...moved.map((b) => b.clone())];
  await Promise.all([p.consume(big), ...moved.map((b) => p.consume(b))]);
  await p.flush();
  t.equal(difference(fromReduced(sink.batches.at(-1)!), referenceAggregate(input, keys)), undefined, 'folded exactly');
});

t.test('moved batches beyond the in-flight bound wait for room; at shutdown the waiting one is counted', async (t) => {
  const { p, sink, telemetry } = make({ workers: 1 });
  await p.start();
  const big = (seed: number) => {
    const b = new FlowBatch(8);
    for (const x of randomBatches(seed, 90, 1000)) appendRows(b, x);
    b.counters.packets.fill(1, 0, b.length);
    return b;
  };
  const [a, b] = [big(61), big(62)];
  const rows = a.length + b.length;
  t.ok(a.length + b.length > CHUNK_ROWS * MAX_IN_FLIGHT, 'two batches are more rows than may be in flight');
  await p.consume(a); // nothing in flight: goes at once
  const second = p.consume(b); // waits for the first
  await p.shutdown();
  await second;
  const out = sink.batches.reduce((n, x) => n + x.counters.packets.subarray(0, x.length).reduce((s, v) => s + v, 0), 0);
  const dropped = telemetry.counter('podflow_processor_dropped_flows_total', '').get({ processor: 'flow_aggregate/t', reason: 'not_running' });
  t.equal(out + dropped, rows, `every row is emitted (${out}) or counted (${dropped})`);
});

t.test('the interval\'s batch it emits is its own: released once consumed', async (t) => {
  for (const workers of [1, 2]) {
    const seen: Array<{ batch: FlowBatch; rows: number }> = [];
    const spy: FlowConsumer = { mutatesData: false, consume: async (x) => { seen.push({ batch: x, rows: x.length }); } };
    const p = flowAggregateFactory.create(testSettings('flow_aggregate/t'), decode({ interval: '1h', workers }), spy) as FlowAggregateProcessor;
    await p.start();
    for (const b of randomBatches(4, 2, 50)) await p.consume(b);
    await p.flush();
    await p.shutdown();
    t.equal(seen.length, 1, `${workers} worker(s): one batch for the interval`);
    t.ok(seen[0]!.rows > 0, 'it had the groups while consumed');
    t.equal(seen[0]!.batch.length, 0, 'released after');
  }
});

t.test('a killed worker is replaced and exactly its rows are counted as lost', async (t) => {
  const workers = 2;
  const { p, sink, telemetry, keys } = await started(t, { workers });
  const before = randomBatches(101, 3, 400);
  for (const b of before) await p.consume(b.clone());
  await p.settled();

  // Which rows live in the partition we kill: the same split the processor made.
  const splitter = new Partitioner(compileKeySpec(keys), workers);
  const victim = 1;
  const survivors: FlowBatch[] = [];
  let lost = 0;
  for (const b of before) {
    const part = splitter.partitionOf(b);
    const kept = Int32Array.from({ length: b.length }, (_, i) => i).filter((i) => part[i] !== victim);
    lost += b.length - kept.length;
    survivors.push(selectRows(b, kept, kept.length));
  }
  t.ok(lost > 0, 'the victim partition held rows');

  const threadsBefore = p.workerThreads();
  const killed = threadsBefore[victim]!;
  const exited = new Promise((resolve) => killed.once('exit', resolve));
  await killed.terminate();
  await exited;

  const after = randomBatches(202, 3, 400);
  for (const b of after) await p.consume(b.clone());
  await p.flush();
  const out = sink.batches.at(-1)!;
  t.equal(difference(fromReduced(out), referenceAggregate([...survivors, ...after], keys)), undefined,
    'the interval holds every row except the killed worker\'s (rows sent after the kill reach its replacement)');
  t.equal(telemetry.counter('podflow_processor_dropped_flows_total', '').get({ processor: 'flow_aggregate/t', reason: 'worker_crash' }), lost,
    'the loss is counted exactly');
  t.equal(telemetry.counter('podflow_processor_flow_aggregate_worker_restarts_total', '').get({ processor: 'flow_aggregate/t' }), 1);
  t.equal(p.workerThreads().length, workers, 'the pool is back to full size');
  t.not(p.workerThreads()[victim], killed, 'with a new thread');

  const next = randomBatches(303, 2, 200);
  for (const b of next) await p.consume(b.clone());
  await p.flush();
  t.equal(difference(fromReduced(sink.batches.at(-1)!), referenceAggregate(next, keys)), undefined, 'the next interval is complete again');
});

t.test('a worker killed while a big batch is being folded: every row is emitted or counted', async (t) => {
  // In chunks (a batch that cannot move): chunks the dying worker had not
  // folded in fail, the rest of the batch reaches its replacement without the
  // string table and fails too: the main thread counts those rows of the
  // victim's partition itself; what the victim had folded in is counted at the
  // flush. Moved whole: the worker routing it may die before it replies (the
  // whole batch is counted) or the one its forwarded rows go to (those are).
  // Whenever the kill lands, nothing goes unaccounted.
  for (const how of ['in chunks', 'moved'] as const) {
    for (const victim of [0, 1]) {
      const { p, sink, telemetry } = await started(t, { workers: 2 });
      const big = new FlowBatch(8);
      for (const b of randomBatches(9000 + victim, 160, 1000)) appendRows(big, b);
      big.counters.packets.fill(1);
      if (how === 'in chunks') unmovable(big);
      const rows = big.length;
      t.ok(rows > CHUNK_ROWS * (MAX_IN_FLIGHT + 1), 'more chunks than may be in flight');
      const killed = p.workerThreads()[victim]!;
      const consumed = p.consume(big);
      await new Promise((resolve) => setTimeout(resolve, 2));
      await killed.terminate();
      await consumed;
      await p.flush();
      const out = sink.batches.reduce((n, b) => n + b.counters.packets.subarray(0, b.length).reduce((a, v) => a + v, 0), 0);
      const lost = telemetry.counter('podflow_processor_dropped_flows_total', '').get({ processor: 'flow_aggregate/t', reason: 'worker_crash' });
      t.equal(out + lost, rows, `${how}, victim ${victim}: ${out} rows emitted + ${lost} counted as lost = every row`);
      t.equal(telemetry.counter('podflow_processor_flow_aggregate_worker_restarts_total', '').get({ processor: 'flow_aggregate/t' }), 1);
      await p.shutdown();
    }
  }
});

t.test('attributesRead: only the group_by attributes, the built-in keys not among them', async (t) => {
  const { p } = make({ group_by: ['source.k8s.workload.name', 'destination.port', 'network.transport', 'destination.k8s.namespace.name'] });
  t.same([...p.attributesRead()].sort(), ['destination.k8s.namespace.name', 'source.k8s.workload.name']);
});
