import t from 'tap';
import type { FlowConsumer } from '../../src/consumer/consumer.ts';
import { FanOut, fanOut } from '../../src/consumer/fan-out.ts';
import { FlowBatch } from '../../src/pdata/flow-batch.ts';
import { appendFlow } from '../../src/pdata/flow-record.ts';

function batch(): FlowBatch {
  const b = new FlowBatch(1);
  appendFlow(b, { transport: 'udp', sourceAddress: '10.0.0.1', sourcePort: 1, destinationAddress: '10.0.0.2', destinationPort: 53 });
  return b;
}

const seen: Array<{ who: string; batch: FlowBatch; tag: string | undefined }> = [];
const reader = (who: string): FlowConsumer => ({
  mutatesData: false,
  consume: async (b) => { seen.push({ who, batch: b, tag: b.getAttribute(0, 'tag') }); },
});
const mutator = (who: string): FlowConsumer => ({
  mutatesData: true,
  consume: async (b) => { b.setAttribute(0, 'tag', who); seen.push({ who, batch: b, tag: b.getAttribute(0, 'tag') }); },
});

t.beforeEach(() => { seen.length = 0; });

t.test('readers share the original; mutators get clones while a reader shares it', async (t) => {
  const b = batch();
  await new FanOut([reader('r1'), mutator('m1'), mutator('m2'), reader('r2')]).consume(b);
  const by = Object.fromEntries(seen.map((s) => [s.who, s]));
  t.equal(by.r1!.batch, b);
  t.equal(by.r2!.batch, b);
  t.not(by.m1!.batch, b);
  t.not(by.m2!.batch, b);
  t.not(by.m1!.batch, by.m2!.batch);
  t.equal(b.getAttribute(0, 'tag'), undefined, 'the shared original was never written');
});

t.test('with no reader, the last mutator takes the original (one clone saved)', async (t) => {
  const b = batch();
  await new FanOut([mutator('m1'), mutator('m2')]).consume(b);
  const by = Object.fromEntries(seen.map((s) => [s.who, s]));
  t.not(by.m1!.batch, b);
  t.equal(by.m2!.batch, b);
});

t.test('a fan-out writes to its input when a mutator takes the original, and says so', async (t) => {
  t.equal(new FanOut([mutator('m1'), mutator('m2')]).mutatesData, true, 'no reader: the last mutator takes the original');
  t.equal(new FanOut([reader('r1'), mutator('m1')]).mutatesData, false, 'a reader shares it: mutators get clones');
  t.equal(new FanOut([reader('r1'), reader('r2')]).mutatesData, false);
});

t.test('the clones it made are released once consumed; the original is the caller\'s', async (t) => {
  const b = batch();
  await new FanOut([reader('r1'), mutator('m1')]).consume(b);
  const by = Object.fromEntries(seen.map((s) => [s.who, s]));
  t.equal(by.m1!.tag, 'm1', 'the mutator saw its clone whole');
  t.equal(by.m1!.batch.length, 0, 'the clone is released');
  t.equal(b.length, 1, 'the original is left to its maker');
});

t.test('a failing consumer does not stop the others; the error surfaces', async (t) => {
  const failing: FlowConsumer = { mutatesData: false, consume: async () => { throw new Error('down'); } };
  await t.rejects(new FanOut([failing, reader('r1')]).consume(batch()), { message: 'down' });
  t.equal(seen.length, 1, 'the healthy consumer still got the batch');
  t.equal(fanOut([failing]), failing, 'a single consumer is not wrapped');
});

t.test('attributesRead: what any consumer reads; any attribute when one does not say', async (t) => {
  const some = (...names: string[]): FlowConsumer => ({ ...reader('x'), attributesRead: () => new Set(names) });
  t.same([...new FanOut([some('a'), some('b'), { ...mutator('m'), attributesRead: () => new Set(['c']) }]).attributesRead()!].sort(), ['a', 'b', 'c']);
  t.equal(new FanOut([some('a'), reader('r')]).attributesRead(), undefined);
});
