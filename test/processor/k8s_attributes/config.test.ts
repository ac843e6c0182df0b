// The config keys, their defaults, and errors reported all at once with paths.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { k8sAttributesFactory } from '../../../src/processor/k8s_attributes/factory.ts';
import { defaultsOf, formatProblem, type Problem } from '../../../src/config/schema.ts';
import { METADATA_NAMES } from '../../../src/processor/k8s_attributes/attribute-names.ts';

function problems(raw: unknown): string[] {
  const out: Problem[] = [];
  const c = k8sAttributesFactory.configSchema.decodeOrDefault(raw, ['processors', 'k8s_attributes'], out);
  if (c) out.push(...(k8sAttributesFactory.validate!(c).map((p) => ({ ...p, path: ['processors', 'k8s_attributes', ...p.path] }))));
  return out.map(formatProblem);
}

t.test('factory: type, alias, mutates data, all signals', async (t) => {
  t.equal(k8sAttributesFactory.type, 'k8s_attributes');
  t.same(k8sAttributesFactory.aliases, ['k8sattributes']);
  t.equal(k8sAttributesFactory.mutatesData, true);
  t.same([...k8sAttributesFactory.signals], ['metrics', 'logs', 'traces']);
});

t.test('defaults', async (t) => {
  const d = defaultsOf(k8sAttributesFactory.configSchema);
  t.equal(d.auth_type, 'serviceAccount');
  t.equal(d.passthrough, false);
  t.same(d.extract.metadata, [...METADATA_NAMES], 'every attribute by default');
  t.same(d.cidr_labels, {});
  t.equal(d.reverse_dns.enabled, false);
  t.equal(d.deleted_pod_grace, 120_000);
  t.equal(d.watch.max_backoff, 30_000);
});

t.test('testdata/config.yaml decodes with no problem', async (t) => {
  const raw = parse(readFileSync(new URL('./testdata/config.yaml', import.meta.url), 'utf8')) as unknown;
  t.same(problems(raw), []);
  const out: Problem[] = [];
  const c = k8sAttributesFactory.configSchema.decodeOrDefault(raw, [], out)!;
  t.equal(c.reverse_dns.ttl, 600_000);
  t.equal(c.extract.labels[1]!.from, 'namespace');
  t.equal(c.cidr_labels['0.0.0.0/0'], 'internet');
});

t.test('every problem at once, each with its path', async (t) => {
  t.same(problems({
    auth_type: 'token',
    bogus: 1,
    kubeconfig_path: 5,
    extract: { metadata: ['k8s.pod.name', 'k8s.container.name'], labels: [{ key: 'a', key_regex: 'b' }, { from: 'cluster', key: 'x' }] },
    reverse_dns: { cache_size: 0 },
  }), [
    'processors::k8s_attributes: has invalid keys: bogus (valid keys: auth_type, kubeconfig_path, passthrough, filter, extract, wait_for_metadata, wait_for_metadata_timeout, deleted_pod_grace, cidr_labels, reverse_dns, watch)',
    'processors::k8s_attributes::auth_type: invalid value "token" (valid values: [serviceAccount, kubeConfig, none])',
    'processors::k8s_attributes::extract::metadata::1: invalid value "k8s.container.name" (valid values: [' + METADATA_NAMES.join(', ') + '])',
    'processors::k8s_attributes::extract::labels::1::from: invalid value "cluster" (valid values: [pod, namespace, node])',
    'processors::k8s_attributes::reverse_dns::cache_size: value 0 is below the minimum 1',
  ]);
});

t.test('cross-field problems, all at once', async (t) => {
  t.same(problems({
    auth_type: 'serviceAccount',
    kubeconfig_path: '/x',
    filter: { node: 'a', node_from_env_var: 'B' },
    extract: {
      labels: [{ key: 'a', key_regex: 'b' }, { from: 'pod' }, { key_regex: '(' }],
      annotations: [{ key: 'a', tag_name: 'bad name' }],
    },
    cidr_labels: { '10.0.0.0/33': 'x', 'nope/8': 'y', '10.0.0.0': 'z' },
    reverse_dns: { servers: ['dns.google'] },
    watch: { initial_backoff: '10s', max_backoff: '1s' },
  }), [
    'processors::k8s_attributes::kubeconfig_path: is only used with auth_type: kubeConfig (auth_type is "serviceAccount")',
    'processors::k8s_attributes::filter: set only one of node and node_from_env_var',
    'processors::k8s_attributes::extract::labels::0: set exactly one of key and key_regex',
    'processors::k8s_attributes::extract::labels::1: set exactly one of key and key_regex',
    'processors::k8s_attributes::extract::labels::2::key_regex: invalid regular expression "(": Invalid regular expression: /(/: Unterminated group',
    'processors::k8s_attributes::extract::annotations::0::tag_name: invalid attribute name "bad name": use letters, digits, "_", ".", "-", "/"',
    'processors::k8s_attributes::cidr_labels::10.0.0.0/33: invalid CIDR "10.0.0.0/33": prefix length must be 0..32',
    'processors::k8s_attributes::cidr_labels::nope/8: invalid CIDR "nope/8": "nope" is not an IP address',
    'processors::k8s_attributes::cidr_labels::10.0.0.0: invalid CIDR "10.0.0.0": expected address/prefix, e.g. 10.0.0.0/8',
    'processors::k8s_attributes::reverse_dns::servers::0: invalid server "dns.google": expected an IP address, optionally with :port',
    'processors::k8s_attributes::watch::max_backoff: must not be below watch::initial_backoff (10000ms)',
  ]);
});

t.test('auth_type serviceAccount outside a pod: start fails saying why', async (t) => {
  const { K8sAttributesProcessor } = await import('../../../src/processor/k8s_attributes/processor.ts');
  const { testSettings } = await import('../../support/test-settings.ts');
  const { CollectingConsumer } = await import('../../support/collecting-consumer.ts');
  const saved = { h: process.env.KUBERNETES_SERVICE_HOST, p: process.env.KUBERNETES_SERVICE_PORT };
  delete process.env.KUBERNETES_SERVICE_HOST;
  delete process.env.KUBERNETES_SERVICE_PORT;
  t.teardown(() => {
    if (saved.h !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved.h;
    if (saved.p !== undefined) process.env.KUBERNETES_SERVICE_PORT = saved.p;
  });
  const cfg = defaultsOf(k8sAttributesFactory.configSchema);
  const p = new K8sAttributesProcessor(testSettings('k8s_attributes'), cfg, new CollectingConsumer());
  await t.rejects(p.start(), { code: 'PODFLOW_COMPONENT_START', message: /processors::k8s_attributes: cannot reach the Kubernetes API: auth_type serviceAccount needs KUBERNETES_SERVICE_HOST/ });
  const q = new K8sAttributesProcessor(testSettings('k8s_attributes'), { ...cfg, filter: { ...cfg.filter, node_from_env_var: 'PF_K8S_TEST_UNSET_NODE' }, auth_type: 'kubeConfig', kubeconfig_path: new URL('./testdata/config.yaml', import.meta.url).pathname }, new CollectingConsumer());
  await t.rejects(q.start(), { code: 'PODFLOW_COMPONENT_START' }, 'a kubeconfig that is no kubeconfig');
});

t.test('auth_type none: the in-cluster address without credentials, or no API at all', async (t) => {
  const { loadKubeConfig } = await import('../../../src/processor/k8s_attributes/kube-client.ts');
  const saved = { h: process.env.KUBERNETES_SERVICE_HOST, p: process.env.KUBERNETES_SERVICE_PORT };
  t.teardown(() => {
    for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.h], ['KUBERNETES_SERVICE_PORT', saved.p]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  delete process.env.KUBERNETES_SERVICE_HOST;
  delete process.env.KUBERNETES_SERVICE_PORT;
  t.equal(loadKubeConfig({ auth_type: 'none', kubeconfig_path: '' }), undefined, 'no in-cluster address: no API');
  process.env.KUBERNETES_SERVICE_HOST = 'fd00::1';
  process.env.KUBERNETES_SERVICE_PORT = '6443';
  const kc = loadKubeConfig({ auth_type: 'none', kubeconfig_path: '' })!;
  t.equal(kc.getCurrentCluster()?.server, 'https://[fd00::1]:6443');
  const user = kc.getCurrentUser();
  t.equal(user?.token, undefined, 'no token');
  t.equal(user?.authProvider, undefined, 'no auth provider');
});
