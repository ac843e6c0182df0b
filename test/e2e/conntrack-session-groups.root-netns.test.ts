// Needs root: namespaces, iptables DNAT, conntrack over netlink. A conntrack
// session subscribes to the UPDATE group only when asked: the NAT join follows
// births and deaths alone (a translation is in the NEW event), so the kernel
// builds no state-change event for it and it parses none. Two sessions on the
// same table, one with UPDATE and one without, see the same connections.

import t from 'tap';
import { ConntrackSession } from '../../src/native/conntrack-session.ts';
import { REC_DESTROY, REC_NEW, REC_UPDATE } from '../../src/native/conntrack-record.ts';
import { createServiceNet, VIP } from './support/conntrack-netns.ts';

const N = 10;

const net = createServiceNet(t, 'ctgrp', 47);

function counting(updateEvents: boolean): { session: ConntrackSession; seen: Record<number, number> } {
  const session = new ConntrackSession({ netns: net.routerNetns, dumpIntervalMs: 0, enableAcct: false, updateEvents }, 'test');
  t.teardown(() => session.close());
  const seen: Record<number, number> = { [REC_NEW]: 0, [REC_UPDATE]: 0, [REC_DESTROY]: 0 };
  session.addListener({
    onEvents: (v) => {
      // Only this test's connections (to its VIP); the router namespace is its own anyway.
      for (let i = 0; i < v.count; i++) seen[v.type(i)] = (seen[v.type(i)] ?? 0) + 1;
    },
  });
  return { session, seen };
}

t.test('NEW and DESTROY always; UPDATE only when asked', async (t) => {
  const all = counting(true);
  const births = counting(false);
  await Promise.all([all.session.ready, births.session.ready]);
  const servers = net.backends.map((b) => net.spawn(b, ['server', b, '8080', '500']));
  for (const s of servers) await s.next();
  const client = net.spawn(net.client, ['client', VIP, '80', String(N), '1']);
  const result = await client.next() as { failed: number };
  t.equal(result.failed, 0, 'every connection through the VIP succeeded');
  // Deleting the entries makes the DESTROY events now, not after TIME_WAIT.
  net.run(net.router, 'conntrack', ['-D', '-d', VIP]);
  await new Promise((r) => setTimeout(r, 500));
  t.ok(all.seen[REC_NEW]! >= N && births.seen[REC_NEW]! >= N, `NEW in both (${all.seen[REC_NEW]}, ${births.seen[REC_NEW]})`);
  t.ok(all.seen[REC_DESTROY]! >= N && births.seen[REC_DESTROY]! >= N, `DESTROY in both (${all.seen[REC_DESTROY]}, ${births.seen[REC_DESTROY]})`);
  t.ok(all.seen[REC_UPDATE]! >= N, `UPDATE when asked: ${all.seen[REC_UPDATE]} for ${N} TCP connections`);
  t.equal(births.seen[REC_UPDATE], 0, 'no UPDATE otherwise');
  t.equal(births.session.stats().update, 0, 'and none counted by the session');
});
