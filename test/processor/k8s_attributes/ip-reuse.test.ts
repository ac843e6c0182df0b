// IP reuse: a deleted pod's IP taken by a new pod names new flows after the
// new pod, while flows that began before the delete keep the old name until
// they end; after the grace period the old pod is forgotten.

import t from 'tap';
import { node, pod } from '../../support/fake-kube-apiserver/objects.ts';
import { eventually, flow, side, startRig } from './harness.ts';

const REUSED = '10.244.5.5';

t.test('a reused IP: old flows keep the deleted pod until they end, new ones get the new pod', async (t) => {
  let clock = 1_000_000;
  const rig = await startRig(t, { deleted_pod_grace: '1m' }, {
    hooks: { now: () => clock },
    seed: (api) => {
      api.upsert('nodes', node('node-a', '192.168.0.10'));
      api.upsert('pods', pod({ namespace: 'shop', name: 'old-0', ip: REUSED, node: 'node-a' }));
      api.upsert('pods', pod({ namespace: 'shop', name: 'client', ip: '10.244.5.6', node: 'node-a' }));
    },
  });
  const podName = async (src: string, port: number, times: { start: number; end: number }, extra = {}) =>
    side((await rig.run([flow(src, '10.244.5.6', { sourcePort: port, ...extra })], times))[0]!, 'source')['k8s.pod.name'];

  // The old pod dies at clock 2_000_000; the new one gets its IP at 2_005_000.
  clock = 2_000_000;
  rig.api.remove('pods', 'shop', 'old-0');
  await eventually(() => rig.processor.cache!.pods.tombstoneCount === 1, 5000, 'the delete');
  clock = 2_005_000;
  rig.api.upsert('pods', pod({ namespace: 'shop', name: 'new-0', ip: REUSED, node: 'node-a' }));
  await eventually(() => rig.processor.cache!.pods.liveCount === 2, 5000, 'the new pod');
  clock = 2_010_000;

  // A long-lived connection from before the delete, seen in an interval that began before the reuse.
  t.equal(await podName(REUSED, 1111, { start: 1_995_000, end: 2_004_000 }), 'old-0', 'interval before the reuse: old pod');
  // The same connection in a later interval still has the old pod (bound to its 5-tuple) ...
  t.equal(await podName(REUSED, 1111, { start: 2_006_000, end: 2_010_000 }), 'old-0', 'ongoing old connection keeps the old name');
  // ... until it ends.
  t.equal(await podName(REUSED, 1111, { start: 2_010_000, end: 2_011_000 }, { connectionEnded: true }), 'old-0', 'and on its last row');
  t.equal(await podName(REUSED, 1111, { start: 2_011_000, end: 2_012_000 }), 'new-0', 'the same 5-tuple after the end is a new connection');
  // A new connection after the reuse: the new pod.
  t.equal(await podName(REUSED, 2222, { start: 2_006_000, end: 2_010_000 }), 'new-0', 'flow seen after the reuse: new pod');
  // A connection that closed after the reuse but began before the delete (duration known).
  const closed = await rig.run([flow(REUSED, '10.244.5.6', { sourcePort: 3333, connectionEnded: true, counters: { bytes: 1, durationMs: 20_000 } })],
    { start: 2_008_000, end: 2_010_000 });
  t.equal(side(closed[0]!, 'source')['k8s.pod.name'], 'old-0', 'closed connection whose start (end − duration) predates the reuse');

  // After the grace period the old pod is forgotten entirely.
  clock = 2_000_000 + 61_000;
  rig.processor.purgeNow();
  t.equal(rig.processor.cache!.pods.tombstoneCount, 0, 'tombstone purged after deleted_pod_grace');
  t.equal(await podName(REUSED, 1111, { start: 1_995_000, end: 2_004_000 }), 'new-0', 'only the new pod is left');
});

t.test('a finished pod (Succeeded) gives up its IP like a deleted one', async (t) => {
  const rig = await startRig(t, {}, {
    seed: (api) => {
      api.upsert('pods', pod({ namespace: 'batch', name: 'task-1', ip: '10.244.6.6', owner: { kind: 'Job', name: 'task' } }));
    },
  });
  rig.api.upsert('pods', pod({ namespace: 'batch', name: 'task-1', ip: '10.244.6.6', owner: { kind: 'Job', name: 'task' }, phase: 'Succeeded' }));
  await eventually(() => rig.processor.cache!.pods.tombstoneCount === 1, 5000, 'the Succeeded pod to become a tombstone');
  rig.api.upsert('pods', pod({ namespace: 'web', name: 'web-1', ip: '10.244.6.6' }));
  // Intervals that begin now: after the reuse.
  await eventually(async () => side((await rig.run([flow('10.244.6.6', '10.1.1.1')], { start: Date.now(), end: Date.now() + 1 }))[0]!, 'source')['k8s.pod.name'] === 'web-1', 5000, 'the new owner');
  t.pass('new owner of the finished pod\'s IP named');
});
