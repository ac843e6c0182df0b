// Every attribute, on both ends, through the fake API server and the real
// @kubernetes/client-node: workloads (Deployment via the ReplicaSet's
// pod-template-hash, StatefulSet, DaemonSet, Job, CronJob via a metadata-only
// Job watch, bare pod), nodes and hostNetwork pods, Services (ClusterIP with
// and without NAT, headless via EndpointSlices), labels and annotations.

import t from 'tap';
import { endpointSlice, job, namespace, node, pod, service } from '../../support/fake-kube-apiserver/objects.ts';
import type { FakeKubeApiServer } from '../../support/fake-kube-apiserver/server.ts';
import { eventually, flow, side, startRig } from './harness.ts';

function seed(api: FakeKubeApiServer): void {
  api.upsert('namespaces', namespace('shop', { team: 'checkout-team' }, { 'owner.example.com/oncall': 'alice' }));
  api.upsert('namespaces', namespace('batch'));
  api.upsert('nodes', node('node-a', '192.168.0.10', { 'topology.kubernetes.io/zone': 'zone-a' }));
  api.upsert('nodes', node('node-b', '192.168.0.11', { 'topology.kubernetes.io/zone': 'zone-b' }));
  api.upsert('pods', pod({
    namespace: 'shop', name: 'checkout-7d9f8b6c5d-x2x9k', ip: '10.244.1.7', node: 'node-a',
    owner: { kind: 'ReplicaSet', name: 'checkout-7d9f8b6c5d' }, labels: { 'pod-template-hash': '7d9f8b6c5d', tier: 'frontend' },
    annotations: { 'example.com/version': 'v42' },
  }));
  api.upsert('pods', pod({ namespace: 'shop', name: 'payments-0', ip: '10.244.2.9', node: 'node-b', owner: { kind: 'StatefulSet', name: 'payments' } }));
  api.upsert('pods', pod({ namespace: 'shop', name: 'logs-abcde', ip: '10.244.1.20', node: 'node-a', owner: { kind: 'DaemonSet', name: 'logs' } }));
  api.upsert('pods', pod({ namespace: 'batch', name: 'report-28476543-q7x2p', ip: '10.244.2.30', node: 'node-b', owner: { kind: 'Job', name: 'report-28476543' } }));
  api.upsert('pods', pod({ namespace: 'batch', name: 'migrate-abc12', ip: '10.244.2.31', node: 'node-b', owner: { kind: 'Job', name: 'migrate' } }));
  api.upsert('pods', pod({ namespace: 'shop', name: 'debug', ip: '10.244.1.40', node: 'node-a' }));
  api.upsert('pods', pod({ namespace: 'shop', name: 'legacy-rs-x1', ip: '10.244.1.41', node: 'node-a', owner: { kind: 'ReplicaSet', name: 'legacy-rs' }, labels: { 'pod-template-hash': 'zzz' } }));
  // hostNetwork pod: its IP is node-a's; it must never name flows from that IP.
  api.upsert('pods', pod({ namespace: 'kube-system', name: 'kube-proxy-abcde', ip: '192.168.0.10', node: 'node-a', hostNetwork: true, owner: { kind: 'DaemonSet', name: 'kube-proxy' } }));
  api.upsert('jobs', job('batch', 'report-28476543', 'report'));
  api.upsert('jobs', job('batch', 'migrate'));
  api.upsert('services', service('shop', 'payments', '10.96.0.20'));
  api.upsert('endpointslices', endpointSlice('shop', 'payments', ['10.244.2.9']));
  api.upsert('services', service('shop', 'payments-headless', 'None'));
  api.upsert('endpointslices', endpointSlice('shop', 'payments-headless', ['10.244.2.9'], 'payments-headless-xyz'));
  api.upsert('services', service('shop', 'logs', '10.96.0.30'));
  api.upsert('endpointslices', endpointSlice('shop', 'logs', ['10.244.1.20']));
}

t.test('both ends of a flow get every pod, workload, node and Service attribute', async (t) => {
  const rig = await startRig(t, {}, { seed });
  const [row] = await rig.run([flow('10.244.1.7', '10.244.2.9', { originalDestinationAddress: '10.96.0.20', originalDestinationPort: 80 })]);
  const checkout = rig.api.get('pods', 'shop', 'checkout-7d9f8b6c5d-x2x9k')!.metadata.uid!;
  const payments = rig.api.get('pods', 'shop', 'payments-0')!.metadata.uid!;
  t.same(side(row!, 'source'), {
    'k8s.namespace.name': 'shop', 'k8s.pod.name': 'checkout-7d9f8b6c5d-x2x9k', 'k8s.pod.uid': checkout, 'k8s.node.name': 'node-a',
    'k8s.workload.name': 'checkout', 'k8s.workload.kind': 'Deployment', 'k8s.deployment.name': 'checkout',
  });
  t.same(side(row!, 'destination'), {
    'k8s.namespace.name': 'shop', 'k8s.pod.name': 'payments-0', 'k8s.pod.uid': payments, 'k8s.node.name': 'node-b',
    'k8s.workload.name': 'payments', 'k8s.workload.kind': 'StatefulSet', 'k8s.statefulset.name': 'payments',
    'k8s.service.name': 'payments',
  }, 'the Service comes from the original (VIP) destination');
});

t.test('workload kinds: DaemonSet, Job, CronJob via the Job, bare ReplicaSet, bare pod', async (t) => {
  const rig = await startRig(t, {}, { seed });
  const rows = await rig.run([
    flow('10.244.1.20', '10.244.2.30'),
    flow('10.244.2.31', '10.244.1.40'),
    flow('10.244.1.41', '10.244.1.40'),
  ]);
  const s0 = side(rows[0]!, 'source');
  t.match(s0, { 'k8s.workload.kind': 'DaemonSet', 'k8s.workload.name': 'logs', 'k8s.daemonset.name': 'logs' });
  const d0 = side(rows[0]!, 'destination');
  t.match(d0, { 'k8s.workload.kind': 'CronJob', 'k8s.workload.name': 'report', 'k8s.job.name': 'report-28476543', 'k8s.cronjob.name': 'report' });
  const s1 = side(rows[1]!, 'source');
  t.match(s1, { 'k8s.workload.kind': 'Job', 'k8s.workload.name': 'migrate', 'k8s.job.name': 'migrate' });
  t.notOk('k8s.cronjob.name' in s1, 'a Job without a CronJob owner has no cronjob name, whatever its name looks like');
  t.match(side(rows[1]!, 'destination'), { 'k8s.workload.kind': 'Pod', 'k8s.workload.name': 'debug', 'k8s.pod.name': 'debug' });
  const s2 = side(rows[2]!, 'source');
  t.match(s2, { 'k8s.workload.kind': 'ReplicaSet', 'k8s.workload.name': 'legacy-rs' });
  t.notOk('k8s.deployment.name' in s2, 'no Deployment when the ReplicaSet name does not end in the hash');
  // Jobs were listed and watched metadata-only; ReplicaSets were never asked for.
  const jobReqs = rig.api.requests.filter((r) => r.path === '/apis/batch/v1/jobs');
  t.ok(jobReqs.length >= 2, 'jobs listed and watched');
  t.ok(jobReqs.every((r) => /as=PartialObjectMetadata/.test(r.accept)), 'every Jobs request asked for PartialObjectMetadata');
  t.notOk(rig.api.requests.some((r) => r.path.includes('replicasets')), 'no ReplicaSet requests');
});

t.test('node IPs and hostNetwork pods resolve to the node only; Services by VIP and headless backends', async (t) => {
  const rig = await startRig(t, {}, { seed });
  const rows = await rig.run([
    flow('192.168.0.10', '10.244.2.9'), // hostNetwork pod (kube-proxy) / node-a → payments (no NAT info)
    flow('10.244.1.7', '10.96.0.30'), // to a VIP without conntrack translation
    flow('10.244.1.7', '192.168.0.11'), // to node-b's IP
  ]);
  t.same(side(rows[0]!, 'source'), { 'k8s.node.name': 'node-a' }, 'node name only, never the hostNetwork pod');
  t.equal(side(rows[0]!, 'destination')['k8s.service.name'], 'payments', 'backend pod → first Service by name via EndpointSlices');
  t.same(side(rows[1]!, 'destination'), { 'k8s.namespace.name': 'shop', 'k8s.service.name': 'logs' }, 'a ClusterIP VIP names its Service');
  t.same(side(rows[2]!, 'destination'), { 'k8s.node.name': 'node-b' });
});

t.test('a NAT row names the Service its original destination was; other rows the one backed by their destination', async (t) => {
  const rig = await startRig(t, {}, { seed });
  const viaLogsVip = { originalDestinationAddress: '10.96.0.30', originalDestinationPort: 80 };
  const rows = await rig.run([
    flow('10.244.1.7', '10.244.2.9', viaLogsVip), // sent to logs' VIP, answered by a pod that backs payments
    flow('10.244.1.7', '10.244.2.9'), // no translation: the backend's Service
    flow('10.244.1.7', '10.244.2.9', { originalDestinationAddress: '192.168.0.11', originalDestinationPort: 30080 }), // a NodePort: no VIP
    flow('10.244.1.41', '10.244.2.9', viaLogsVip), // the same VIP again, another row
    flow('10.244.1.7', '10.244.1.40', { originalDestinationAddress: '10.96.0.20', originalDestinationPort: 80 }), // payments' VIP, a pod backing nothing
  ]);
  const service = (i: number) => side(rows[i]!, 'destination')['k8s.service.name'];
  t.equal(service(0), 'logs', 'the VIP it was sent to, not the backend\'s Service');
  t.equal(service(1), 'payments');
  t.equal(service(2), 'payments', 'an original destination that is no VIP: the backend\'s Service');
  t.equal(service(3), 'logs');
  t.equal(service(4), 'payments', 'the VIP names a Service its answering pod does not back');
});

t.test('headless Service names its backend pods through EndpointSlices', async (t) => {
  const rig = await startRig(t, {}, { seed });
  rig.api.remove('endpointslices', 'shop', 'payments-abcde');
  // Once the delete arrived, only the headless Service backs payments-0.
  let row: Record<string, string> = {};
  await eventually(async () => {
    [row] = (await rig.run([flow('10.244.1.7', '10.244.2.9')])) as [Record<string, string>];
    return side(row, 'destination')['k8s.service.name'] === 'payments-headless';
  }, 10_000, 'the headless Service name');
  t.equal(side(row, 'destination')['k8s.pod.name'], 'payments-0');
});

t.test('labels and annotations per extract, from pod, namespace and node, with tag_name and key_regex', async (t) => {
  const rig = await startRig(t, {
    extract: {
      metadata: ['k8s.pod.name', 'k8s.namespace.name'],
      labels: [
        { key: 'tier' },
        { key: 'team', from: 'namespace', tag_name: 'team' },
        { key_regex: 'topology\\.kubernetes\\.io/(.*)', from: 'node', tag_name: 'node.$1' },
      ],
      annotations: [{ key: 'example.com/version', tag_name: 'app.version' }, { key: 'owner.example.com/oncall', from: 'namespace' }],
    },
  }, { seed });
  const [row] = await rig.run([flow('10.244.1.7', '10.244.2.9')]);
  t.same(side(row!, 'source'), {
    'k8s.pod.name': 'checkout-7d9f8b6c5d-x2x9k', 'k8s.namespace.name': 'shop',
    'k8s.pod.labels.tier': 'frontend', 'app.version': 'v42', team: 'checkout-team',
    'k8s.namespace.annotations.owner.example.com/oncall': 'alice', 'node.zone': 'zone-a',
  });
  t.same(side(row!, 'destination'), {
    'k8s.pod.name': 'payments-0', 'k8s.namespace.name': 'shop', team: 'checkout-team',
    'k8s.namespace.annotations.owner.example.com/oncall': 'alice', 'node.zone': 'zone-b',
  }, 'only the configured metadata; no Service name when not asked for');
  t.notOk(rig.api.requests.some((r) => r.path.includes('endpointslices')), 'EndpointSlices not watched when k8s.service.name is off');
  // A namespace label change reaches pods already cached.
  rig.api.upsert('namespaces', namespace('shop', { team: 'platform' }));
  await eventually(async () => side((await rig.run([flow('10.244.1.7', '10.244.2.9')]))[0]!, 'source').team === 'platform',
    10_000, 'the new namespace label');
  t.pass('namespace label update applied');
});

t.test('watch events: a new pod and a delete show up; self-metrics count objects and misses', async (t) => {
  const rig = await startRig(t, {}, { seed });
  rig.api.upsert('pods', pod({ namespace: 'shop', name: 'cart-0', ip: '10.244.3.3', node: 'node-b', owner: { kind: 'StatefulSet', name: 'cart' } }));
  const name = async () => side((await rig.run([flow('10.244.3.3', '10.244.1.7')]))[0]!, 'source')['k8s.pod.name'];
  await eventually(async () => (await name()) === 'cart-0', 10_000, 'the added pod');
  t.pass('added pod named');
  const misses = rig.telemetry.counter('podflow_k8s_lookup_misses_total', '').get();
  const [row] = await rig.run([flow('203.0.113.9', '10.244.1.7')]);
  t.same(side(row!, 'source'), {}, 'an unknown address gets nothing');
  t.equal(rig.telemetry.counter('podflow_k8s_lookup_misses_total', '').get(), misses + 1, 'and is counted as a miss');
  const objects = rig.telemetry.gauge('podflow_k8s_cache_objects', '');
  t.equal(objects.get({ kind: 'pod' }), 9, 'live pods (the hostNetwork one included) in the cache');
  rig.api.remove('pods', 'shop', 'cart-0');
  await eventually(() => objects.get({ kind: 'deleted_pod' }) === 1, 10_000, 'the delete');
  t.equal(objects.get({ kind: 'pod' }), 8, 'the deleted pod left the live count');
  t.equal(await name(), 'cart-0', 'and still names flows during the grace period (no new owner of its IP)');
  t.equal(objects.get({ kind: 'node' }), 2);
  t.equal(objects.get({ kind: 'job' }), 1, 'only the CronJob-owned Job is kept');
  t.ok(rig.telemetry.gauge('podflow_k8s_cache_bytes', '').get() > 1000, 'cache bytes estimated');
});

t.test('a malformed object is rejected with its path and counted, the rest is cached', async (t) => {
  const rig = await startRig(t, {}, {
    seed: (api) => {
      seed(api);
      const bad = pod({ namespace: 'shop', name: 'broken', node: 'node-a' });
      (bad.status as Record<string, unknown>).podIPs = [{ ip: '10.244.999.1' }];
      api.upsert('pods', bad);
    },
  });
  t.equal(rig.telemetry.counter('podflow_k8s_objects_rejected_total', '').get({ resource: 'pods' }), 1, 'counted by resource');
  const [row] = await rig.run([flow('10.244.1.7', '10.244.2.9')]);
  t.equal(side(row!, 'source')['k8s.pod.name'], 'checkout-7d9f8b6c5d-x2x9k', 'the good objects are cached');
  t.same(rig.logged.filter((l) => l.msg === 'k8s_attributes: object not cached').map((l) => l.fields),
    [{ resource: 'pods', object: 'shop/broken', problem: 'status.podIPs[0].ip: "10.244.999.1" is not an IP address' }], 'logged with its path');
});

t.test('filter: namespace and node_from_env_var restrict what is watched', async (t) => {
  process.env.PF_K8S_TEST_NODE = 'node-b';
  t.teardown(() => { delete process.env.PF_K8S_TEST_NODE; });
  const rig = await startRig(t, { filter: { namespace: 'shop', node_from_env_var: 'PF_K8S_TEST_NODE' } }, { seed });
  const rows = await rig.run([flow('10.244.1.7', '10.244.2.9'), flow('10.244.2.30', '10.244.2.9')]);
  t.same(side(rows[0]!, 'source'), {}, 'a pod on another node is not cached');
  t.equal(side(rows[0]!, 'destination')['k8s.pod.name'], 'payments-0', 'shop pod on node-b');
  t.same(side(rows[1]!, 'source'), {}, 'a pod in another namespace is not cached');
  const podReqs = rig.api.requests.filter((r) => r.path.endsWith('/pods'));
  t.ok(podReqs.length >= 2 && podReqs.every((r) => r.path === '/api/v1/namespaces/shop/pods' && r.query.fieldSelector === 'spec.nodeName=node-b'),
    'pods listed and watched in the namespace, with the node field selector');
  t.ok(rig.api.requests.filter((r) => r.path.endsWith('/nodes')).every((r) => r.path === '/api/v1/nodes'), 'nodes stay cluster-wide');
});

t.test('only the attributes the next stage reads are written; a stage that reads any gets all', async (t) => {
  const rig = await startRig(t, {}, { seed });
  const records = [flow('10.244.1.7', '10.244.2.9', { originalDestinationAddress: '10.96.0.20', originalDestinationPort: 80 })];
  const [all] = await rig.run(records);
  Object.assign(rig.sink, { attributesRead: () => new Set(['source.k8s.workload.name', 'destination.k8s.service.name']) });
  const [some] = await rig.run(records);
  t.same(some, { 'source.k8s.workload.name': 'checkout', 'destination.k8s.service.name': 'payments' });
  t.equal(all!['source.k8s.workload.name'], 'checkout');
  t.ok(Object.keys(all!).length > 10, 'without a declaration every attribute is written');
  Object.assign(rig.sink, { attributesRead: () => new Set(['source.k8s.workload.name']) });
  const [noService] = await rig.run(records);
  t.same(noService, { 'source.k8s.workload.name': 'checkout' }, 'no Service look-up when nothing reads it');
});
