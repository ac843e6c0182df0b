// The watch machinery against a misbehaving API server: restarts (names
// correct again well within 30 s), 410 Gone as HTTP status and as an ERROR
// event (relist), dropped connections, bookmarks, paged lists, bad credentials.

import t from 'tap';
import { node, pod } from '../../support/fake-kube-apiserver/objects.ts';
import type { FakeKubeApiServer } from '../../support/fake-kube-apiserver/server.ts';
import { decodeConfig, eventually, flow, side, startRig, type Rig } from './harness.ts';
import { K8sAttributesProcessor } from '../../../src/processor/k8s_attributes/processor.ts';
import { CollectingConsumer } from '../../support/collecting-consumer.ts';
import { testSettings } from '../../support/test-settings.ts';
import { FakeKubeApiServer as Api } from '../../support/fake-kube-apiserver/server.ts';
import { writeKubeconfig } from '../../support/fake-kube-apiserver/kubeconfig.ts';

function seed(api: FakeKubeApiServer): void {
  api.upsert('nodes', node('node-a', '192.168.0.10'));
  for (let i = 1; i <= 5; i++) api.upsert('pods', pod({ namespace: 'shop', name: `web-${i}`, ip: `10.244.7.${i}`, node: 'node-a' }));
}

async function nameOf(rig: Rig, ip: string): Promise<string | undefined> {
  const now = Date.now();
  return side((await rig.run([flow(ip, '10.244.7.1')], { start: now, end: now + 1 }))[0]!, 'source')['k8s.pod.name'];
}

const lists = (api: FakeKubeApiServer, path = '/api/v1/pods') => api.requests.filter((r) => r.path === path && r.query.watch === undefined);
const restarts = (rig: Rig, resource = 'pods') => rig.telemetry.counter('podflow_k8s_watch_restarts_total', '').get({ resource });

t.test('paged list: limit and continue, every object cached', async (t) => {
  const rig = await startRig(t, {}, { seed });
  const pages = lists(rig.api);
  t.equal(pages.length, 3, '5 pods in pages of 2');
  t.ok(pages.slice(1).every((r) => typeof r.query.continue === 'string'), 'later pages carry continue');
  for (let i = 1; i <= 5; i++) t.equal(await nameOf(rig, `10.244.7.${i}`), `web-${i}`);
  const watch = rig.api.requests.find((r) => r.path === '/api/v1/pods' && r.query.watch === 'true')!;
  t.equal(watch.query.allowWatchBookmarks, 'true', 'watch asks for bookmarks');
  t.equal(watch.query.resourceVersion, pages[0]!.listResourceVersion, 'the watch starts at the list\'s resourceVersion');
  t.ok(pages.every((p) => p.listResourceVersion === pages[0]!.listResourceVersion), 'all pages of one snapshot');
});

t.test('a continue token expired between pages (410 Expired): the list starts over', async (t) => {
  const rig = await startRig(t, {}, { seed });
  let expired = false;
  rig.api.beforeList = (rec) => {
    if (rec.query.continue && !expired) {
      expired = true;
      rig.api.upsert('nodes', node('node-c', '192.168.0.12'));
      rig.api.compact();
    }
  };
  const listsBefore = lists(rig.api).length;
  rig.api.upsert('nodes', node('node-d', '192.168.0.13'));
  rig.api.compact();
  rig.api.dropWatches('pods');
  rig.api.upsert('pods', pod({ namespace: 'shop', name: 'web-9', ip: '10.244.7.9', node: 'node-a' }));
  await eventually(async () => (await nameOf(rig, '10.244.7.9')) === 'web-9', 10_000, 'web-9 after the relists');
  const after = lists(rig.api).slice(listsBefore);
  t.ok(after.some((r) => r.status === 410 && r.query.continue), 'a page was refused as expired');
  t.ok(after.filter((r) => !r.query.continue).length >= 2, 'and the list started again from the first page');
  for (let i = 1; i <= 5; i++) t.equal(await nameOf(rig, `10.244.7.${i}`), `web-${i}`, `web-${i} still cached`);
});

t.test('API server restart that loses history: names correct again within 30 s', async (t) => {
  const rig = await startRig(t, {}, { seed });
  t.equal(await nameOf(rig, '10.244.7.2'), 'web-2');
  await rig.api.stop();
  // While it is down, web-2 is replaced by web-2b on the same IP and web-6 appears.
  rig.api.remove('pods', 'shop', 'web-2');
  rig.api.upsert('pods', pod({ namespace: 'shop', name: 'web-2b', ip: '10.244.7.2', node: 'node-a' }));
  rig.api.upsert('pods', pod({ namespace: 'shop', name: 'web-6', ip: '10.244.7.6', node: 'node-a' }));
  const listsBefore = lists(rig.api).length;
  await new Promise((r) => setTimeout(r, 300)); // the client sees connection refused and backs off
  const t0 = Date.now();
  await rig.api.restart({ loseHistory: true });
  await eventually(async () => (await nameOf(rig, '10.244.7.2')) === 'web-2b' && (await nameOf(rig, '10.244.7.6')) === 'web-6', 30_000, 'names after the restart');
  const took = Date.now() - t0;
  t.ok(took < 30_000, `names correct ${took} ms after the restart`);
  t.ok(lists(rig.api).length > listsBefore, 'relisted');
  t.ok(restarts(rig) >= 1, 'watch restarts counted');
});

t.test('410 Gone as HTTP status on re-watch: relist, deletes made meanwhile applied', async (t) => {
  const rig = await startRig(t, {}, { seed, api: { goneMode: 'http', bookmarkIntervalMs: 0 } });
  const listsBefore = lists(rig.api).length;
  rig.api.upsert('nodes', node('node-b', '192.168.0.11')); // history moves past the pods watch's resourceVersion
  rig.api.compact();
  rig.api.dropWatches('pods');
  rig.api.remove('pods', 'shop', 'web-3'); // missed: no watch is open and history is gone
  await eventually(() => rig.processor.cache!.pods.tombstoneCount === 1, 10_000, 'web-3 deleted by the relist');
  t.ok(lists(rig.api).length > listsBefore, 'relisted after 410');
  t.ok(rig.api.requests.some((r) => r.status === 410), 'the server answered 410');
  t.ok(restarts(rig) >= 1, 'counted');
});

t.test('410 Gone as an ERROR event in the stream: relist', async (t) => {
  const rig = await startRig(t, {}, { seed, api: { goneMode: 'event', bookmarkIntervalMs: 0 } });
  const listsBefore = lists(rig.api).length;
  t.equal(rig.api.expireWatches('pods'), 1, 'one pods watch open');
  rig.api.upsert('pods', pod({ namespace: 'shop', name: 'web-7', ip: '10.244.7.7', node: 'node-a' }));
  await eventually(async () => (await nameOf(rig, '10.244.7.7')) === 'web-7', 10_000, 'web-7 after the relist');
  t.ok(lists(rig.api).length > listsBefore, 'relisted after the ERROR event');
});

t.test('a dropped watch connection is resumed from the last resourceVersion, without a relist', async (t) => {
  const rig = await startRig(t, {}, { seed, api: { bookmarkIntervalMs: 0 } });
  const listsBefore = lists(rig.api).length;
  rig.api.dropWatches('pods');
  rig.api.upsert('pods', pod({ namespace: 'shop', name: 'web-8', ip: '10.244.7.8', node: 'node-a' }));
  await eventually(async () => (await nameOf(rig, '10.244.7.8')) === 'web-8', 10_000, 'web-8 after the re-watch');
  t.equal(lists(rig.api).length, listsBefore, 'replayed from history, no relist');
  t.ok(restarts(rig) >= 1, 'restart counted');
});

t.test('bookmarks keep the resourceVersion fresh, so a compaction needs no relist', async (t) => {
  const rig = await startRig(t, {}, { seed, api: { bookmarkIntervalMs: 0 } });
  // Other resources move the resourceVersion on; pods see none of it except by bookmark.
  for (let i = 0; i < 5; i++) rig.api.upsert('nodes', node(`node-x${i}`, `192.168.1.${i}`));
  rig.api.bookmarkNow();
  const rv = String(rig.api.resourceVersion);
  await new Promise((r) => setTimeout(r, 200));
  const listsBefore = lists(rig.api).length;
  rig.api.compact();
  rig.api.dropWatches('pods');
  await eventually(() => rig.api.requests.some((r) => r.path === '/api/v1/pods' && r.query.watch === 'true' && r.query.resourceVersion === rv),
    10_000, 're-watch from the bookmark\'s resourceVersion');
  await rig.api.waitForWatchers('pods');
  t.equal(lists(rig.api).length, listsBefore, 'no relist');
  t.notOk(rig.api.requests.some((r) => r.status === 410), 'no 410');
});

t.test('bad credentials: start with wait_for_metadata fails naming what did not sync', async (t) => {
  const api = new Api({ token: 'right' });
  await api.start();
  t.teardown(() => api.stop());
  const cfg = decodeConfig({
    auth_type: 'kubeConfig', kubeconfig_path: writeKubeconfig(api.url, 'wrong'),
    wait_for_metadata: true, wait_for_metadata_timeout: '300ms', watch: { initial_backoff: '50ms', max_backoff: '100ms' },
  });
  const p = new K8sAttributesProcessor(testSettings('k8s_attributes'), cfg, new CollectingConsumer());
  t.teardown(() => p.shutdown());
  await t.rejects(p.start(), { code: 'PODFLOW_COMPONENT_START', message: /not synced within 300ms \(waiting for: pods, nodes/ });
  t.ok(api.requests.filter((r) => r.status === 401).length >= 2, 'retried with backoff');
});
