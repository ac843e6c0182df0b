// consumeAndRelease: the batch is whole while the consumer runs, and freed
// once it has settled, whether it accepted, rejected or threw.

import t from 'tap';
import { attributesReadBy, attributesReadByAll, consumeAndRelease, withMutatesData, type FlowConsumer } from '../../src/consumer/consumer.ts';
import { FlowBatch } from '../../src/pdata/flow-batch.ts';
import { appendFlow } from '../../src/pdata/flow-record.ts';

function batch(): FlowBatch {
  const b = new FlowBatch(1);
  appendFlow(b, { transport: 'udp', sourceAddress: '10.0.0.1', sourcePort: 1, destinationAddress: '10.0.0.2', destinationPort: 53 });
  return b;
}

t.test('accepted: released after the consume, not before', async (t) => {
  const b = batch();
  let seen = -1;
  await consumeAndRelease({ mutatesData: false, consume: async (x) => { await new Promise((r) => setTimeout(r, 5)); seen = x.length; } }, b);
  t.equal(seen, 1, 'whole while consumed');
  t.equal(b.length, 0, 'released after');
});

t.test('refused, by a rejection or a throw: released, and the refusal is passed on', async (t) => {
  const rejecting: FlowConsumer = { mutatesData: false, consume: async () => { throw new Error('full'); } };
  const throwing: FlowConsumer = { mutatesData: false, consume: () => { throw new Error('broken'); } };
  for (const [c, message] of [[rejecting, 'full'], [throwing, 'broken']] as const) {
    const b = batch();
    await t.rejects(consumeAndRelease(c, b), { message });
    t.equal(b.length, 0, `released after "${message}"`);
  }
});

t.test('attributesRead: absent means any attribute; a union is undefined as soon as one consumer reads any', async (t) => {
  const none: FlowConsumer = { mutatesData: false, consume: async () => undefined };
  const some = (...names: string[]): FlowConsumer => ({ mutatesData: false, consume: async () => undefined, attributesRead: () => new Set(names) });
  t.equal(attributesReadBy(none), undefined);
  t.same([...attributesReadBy(some('a', 'b'))!], ['a', 'b']);
  t.same([...attributesReadByAll([some('a'), some('b', 'a')])!].sort(), ['a', 'b']);
  t.equal(attributesReadByAll([some('a'), none]), undefined);
  t.same([...attributesReadByAll([])!], [], 'no consumer reads nothing');
  t.same([...attributesReadBy(withMutatesData(some('x'), true))!], ['x'], 'the mutatesData wrapper answers for what it wraps');
});
