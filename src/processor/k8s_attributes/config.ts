// Config of the k8s_attributes processor: the Collector's k8sattributes keys where
// they apply to flows (auth_type, passthrough, filter, extract), plus podflow's
// own: cidr_labels and reverse_dns for addresses outside the cluster, the grace
// period that keeps a deleted pod's name for flows that began before the delete,
// and the watch tuning the tests shorten.

import {
  bool, duration, enumOf, int, list, map, object, optional, string, type Infer, type Problem,
} from '../../config/schema.ts';
import { parseCidr } from './cidr-labels.ts';
import { METADATA_NAMES } from './attribute-names.ts';

const tagRule = object({
  tag_name: optional(string({ description: 'Attribute name (without the source./destination. prefix); $0, $1… refer to key_regex groups.' })),
  key: optional(string({ description: 'Exact label/annotation key.' })),
  key_regex: optional(string({ description: 'Regular expression matched against the whole key.' })),
  from: enumOf(['pod', 'namespace', 'node'] as const, { default: 'pod', description: 'Which object the label/annotation is read from.' }),
});

export const k8sAttributesConfigSchema = object({
  auth_type: enumOf(['serviceAccount', 'kubeConfig', 'none'] as const, {
    default: 'serviceAccount',
    description: 'How to reach the API: the pod\'s service account, a kubeconfig file, or the in-cluster address without credentials.',
  }),
  kubeconfig_path: string({ default: '', description: 'kubeConfig only: the file; empty = $KUBECONFIG or ~/.kube/config.' }),
  passthrough: bool({ default: false, description: 'Do not watch the API: flows pass with only cidr_labels / reverse_dns applied.' }),
  filter: object({
    node_from_env_var: string({ default: '', description: 'Watch only pods on the node named by this environment variable.' }),
    node: string({ default: '', description: 'Watch only pods on this node.' }),
    namespace: string({ default: '', description: 'Watch only this namespace (pods, services, endpointslices, jobs).' }),
  }),
  extract: object({
    metadata: list(enumOf(METADATA_NAMES), { default: [...METADATA_NAMES], description: 'The k8s.* attributes to add on both ends.' }),
    labels: list(tagRule, { default: [] }),
    annotations: list(tagRule, { default: [] }),
  }),
  wait_for_metadata: bool({ default: false, description: 'start() waits until the first list of every resource is in.' }),
  wait_for_metadata_timeout: duration({ default: 10_000, min: 1, description: 'Bound of that wait; start fails after it.' }),
  deleted_pod_grace: duration({ default: 120_000, min: 0, description: 'How long a deleted pod still names flows that began before its delete.' }),
  cidr_labels: map(string(), { default: {}, description: 'CIDR → label for addresses that are no pod, node or Service (longest prefix wins).' }),
  reverse_dns: object({
    enabled: bool({ default: false }),
    servers: list(string(), { default: [], description: 'DNS servers ("ip" or "ip:port"); empty = the system resolver.' }),
    cache_size: int({ default: 10_000, min: 1, max: 10_000_000, description: 'Addresses remembered (answers and failures), least recently used evicted.' }),
    ttl: duration({ default: 300_000, min: 1, description: 'How long an answer is kept.' }),
    negative_ttl: duration({ default: 60_000, min: 1, description: 'How long "no name" is kept.' }),
    timeout: duration({ default: 2_000, min: 1, description: 'Per query.' }),
    max_in_flight: int({ default: 16, min: 1, max: 1024, description: 'Concurrent queries; further misses wait for a later batch.' }),
  }),
  watch: object({
    initial_backoff: duration({ default: 1_000, min: 1, description: 'First retry delay after a failed list/watch (doubles, with ±50% jitter).' }),
    max_backoff: duration({ default: 30_000, min: 1, description: 'Cap of the retry delay.' }),
    page_size: int({ default: 500, min: 1, max: 100_000, description: 'Objects per list page (limit/continue).' }),
    timeout: duration({ default: 300_000, min: 1_000, description: 'Server-side watch timeout (timeoutSeconds); the watch is then resumed.' }),
  }),
});

export type K8sAttributesConfig = Infer<typeof k8sAttributesConfigSchema>;

/** Cross-field checks: every problem, with its path relative to the component. */
export function validateK8sAttributesConfig(c: K8sAttributesConfig): Problem[] {
  const problems: Problem[] = [];
  if (c.kubeconfig_path && c.auth_type !== 'kubeConfig') {
    problems.push({ path: ['kubeconfig_path'], message: `is only used with auth_type: kubeConfig (auth_type is "${c.auth_type}")` });
  }
  if (c.filter.node && c.filter.node_from_env_var) {
    problems.push({ path: ['filter'], message: 'set only one of node and node_from_env_var' });
  }
  for (const kind of ['labels', 'annotations'] as const) {
    c.extract[kind].forEach((r, i) => {
      const path = ['extract', kind, String(i)];
      if ((r.key === undefined) === (r.key_regex === undefined)) {
        problems.push({ path, message: 'set exactly one of key and key_regex' });
      }
      if (r.key_regex !== undefined) {
        try {
          new RegExp(r.key_regex);
        } catch (e) {
          problems.push({ path: [...path, 'key_regex'], message: `invalid regular expression "${r.key_regex}": ${(e as Error).message}` });
        }
      }
      if (r.tag_name !== undefined && !/^[A-Za-z0-9_.$\-/]+$/.test(r.tag_name)) {
        problems.push({ path: [...path, 'tag_name'], message: `invalid attribute name "${r.tag_name}": use letters, digits, "_", ".", "-", "/"` });
      }
    });
  }
  for (const cidr of Object.keys(c.cidr_labels)) {
    const err = parseCidr(cidr).error;
    if (err) problems.push({ path: ['cidr_labels', cidr], message: err });
  }
  c.reverse_dns.servers.forEach((s, i) => {
    if (!/^(\d{1,3}(\.\d{1,3}){3}(:\d{1,5})?|\[[0-9a-fA-F:]+\](:\d{1,5})?|[0-9a-fA-F:]+)$/.test(s)) {
      problems.push({ path: ['reverse_dns', 'servers', String(i)], message: `invalid server "${s}": expected an IP address, optionally with :port` });
    }
  });
  if (c.watch.max_backoff < c.watch.initial_backoff) {
    problems.push({ path: ['watch', 'max_backoff'], message: `must not be below watch::initial_backoff (${c.watch.initial_backoff}ms)` });
  }
  return problems;
}
