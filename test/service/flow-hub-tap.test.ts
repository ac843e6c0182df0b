// FlowHubTap's answer to what follows it reads: a flows_api subscriber sees
// every attribute of every batch, so while one is subscribed nothing may be
// left out upstream; without one, what the next stage reads.

import t from 'tap';
import type { FlowConsumer } from '../../src/consumer/consumer.ts';
import { subscribeFlows } from '../../src/extension/flows_api/flow-hub.ts';
import { FlowHubTap } from '../../src/service/flow-hub-tap.ts';

t.test('attributesRead: any while a subscriber listens, else what the next stage reads', async (t) => {
  const next: FlowConsumer = { mutatesData: false, consume: async () => undefined, attributesRead: () => new Set(['a']) };
  const tap = new FlowHubTap('r', next);
  t.same([...tap.attributesRead()!], ['a']);
  const unsubscribe = subscribeFlows(() => undefined);
  t.equal(tap.attributesRead(), undefined);
  unsubscribe();
  t.same([...tap.attributesRead()!], ['a']);
});
