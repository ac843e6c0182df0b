// The NAT join's sharing rules that need no kernel: feeders publish only while
// a consumer looks up, the first consumer has them backfill the index with a
// dump before its acquire resolves, and the index is cleared when the last
// consumer leaves. (Opening the join's own conntrack session is covered by
// test/e2e/conntrack-ebpf-nat.root-netns.test.ts.)

import t from 'tap';
import { acquireNatJoin, natWanted } from '../../src/nat/nat-join.ts';
import { silentLogger } from '../../src/service/logger.ts';
import { SelfTelemetry } from '../../src/service/telemetry/self-telemetry.ts';

const tuples = () => ({
  family: 4, proto: 6, origSport: 40000, origDport: 80, replySport: 8080, replyDport: 40000,
  addrs: Uint8Array.from([...v4(10, 0, 0, 1), ...v4(10, 96, 0, 10), ...v4(10, 1, 0, 5), ...v4(10, 0, 0, 1)]),
});
function v4(a: number, b: number, c: number, d: number): number[] {
  return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d];
}

t.test('feeders publish only for consumers; the first consumer is backfilled; the last one clears', async (t) => {
  const netns = '/nonexistent/pf-nat-join-test';
  const base = { netns, logger: silentLogger, telemetry: new SelfTelemetry(), where: 'receivers::test' };
  let backfills = 0;
  const feeder = await acquireNatJoin({ ...base, feeder: true, backfill: async () => { backfills++; } });
  t.equal(natWanted(netns), false, 'a feeder alone: nobody to publish for');
  t.equal(backfills, 0);
  const a = await acquireNatJoin({ ...base, feeder: false });
  t.equal(backfills, 1, 'the first consumer had the feeder dump the table into the index');
  t.equal(natWanted(netns), true);
  t.equal(a.index, feeder.index, 'one index per namespace');
  const b = await acquireNatJoin({ ...base, feeder: false });
  t.equal(backfills, 1, 'later consumers find it filled');
  feeder.index.upsert(tuples());
  await a.release();
  t.equal(natWanted(netns), true);
  t.equal(feeder.index.size, 1);
  await b.release();
  t.equal(natWanted(netns), false, 'no consumer left');
  t.equal(feeder.index.size, 0, 'what nobody keeps fresh is cleared');
  await feeder.release();
  t.equal(natWanted(netns), false);
});
