// Every kustomization under deploy/ (and every Component on top of the base)
// renders offline, every object is valid against the Kubernetes schemas
// (kubernetes-models), the objects refer to each other correctly, and no
// container gets more than the least privilege the DaemonSet documents.

import t from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument, isMap, isSeq, isScalar, type Node } from 'yaml';
import { DEPLOY, REPO, ofKind, renderAll, type K8sObject, type Rendering } from './helpers/kustomize.ts';

interface Container {
  name: string;
  image: string;
  env?: Array<{ name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  livenessProbe?: { httpGet?: { path: string; port: number | string } };
  readinessProbe?: { httpGet?: { path: string; port: number | string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  dnsPolicy?: string;
  serviceAccountName?: string;
  tolerations?: Array<{ operator?: string; key?: string; effect?: string }>;
  securityContext?: { seccompProfile?: { type: string } };
  containers: Container[];
  initContainers?: Container[];
  volumes?: Array<{ name: string; hostPath?: { path: string }; configMap?: { name: string } }>;
}
type DaemonSet = K8sObject & {
  spec: { updateStrategy?: { type: string; rollingUpdate?: { maxUnavailable?: string | number } }; template: { spec: PodSpec } };
};

const tmp = mkdtempSync(join(tmpdir(), 'pf-deploy-manifests-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
const renderings: Rendering[] = renderAll(tmp);
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };

t.test('there is a base and at least the prometheus, grafana, datadog and tempo overlays', async (t) => {
  const names = renderings.map((r) => r.name);
  for (const want of ['base', 'overlays/prometheus', 'overlays/grafana', 'overlays/datadog', 'overlays/tempo']) {
    t.ok(names.includes(want), `${want} renders (rendered: ${names.join(', ')})`);
  }
});

for (const r of renderings) {
  t.test(r.name, async (t) => {
    t.test('every object is valid against its Kubernetes schema', async (t) => {
      for (const o of r.objects) {
        // kubernetes-models lays its classes out as <apiVersion>/<kind>.
        let Model: { new (data: unknown): { validate(): void } };
        try {
          ({ [o.kind]: Model } = (await import(`kubernetes-models/${o.apiVersion}/${o.kind}`)) as Record<string, typeof Model>);
        } catch {
          t.fail(`${o.kind} ${o.metadata.name}: no schema for apiVersion ${o.apiVersion} kind ${o.kind}`);
          continue;
        }
        t.doesNotThrow(() => new Model(o).validate(), `${o.kind} ${o.metadata.name}`);
      }
    });

    t.test('names are unique and namespaced objects live in podflow', async (t) => {
      const seen = new Set<string>();
      for (const o of r.objects) {
        const key = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
        t.notOk(seen.has(key), `${key} once`);
        seen.add(key);
        if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) {
          t.equal(o.metadata.namespace, 'podflow', `${o.kind} ${o.metadata.name} namespace`);
        }
      }
      t.equal(ofKind(r.objects, 'Namespace').length, 1, 'one Namespace');
    });

    const [ds, ...more] = ofKind<DaemonSet>(r.objects, 'DaemonSet');
    t.equal(more.length, 0, 'one DaemonSet');
    if (!ds) return;
    const pod = ds.spec.template.spec;
    const containers = [...pod.containers, ...(pod.initContainers ?? [])];

    t.test('objects refer to each other', async (t) => {
      const sa = ofKind(r.objects, 'ServiceAccount').map((o) => o.metadata.name);
      t.ok(pod.serviceAccountName && sa.includes(pod.serviceAccountName), `service account ${pod.serviceAccountName} exists`);
      const roles = ofKind(r.objects, 'ClusterRole').map((o) => o.metadata.name);
      for (const b of ofKind<K8sObject & { roleRef: { name: string }; subjects: Array<{ kind: string; name: string; namespace: string }> }>(r.objects, 'ClusterRoleBinding')) {
        t.ok(roles.includes(b.roleRef.name), `binding ${b.metadata.name} → role ${b.roleRef.name} exists`);
        t.ok(b.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === pod.serviceAccountName && s.namespace === ds.metadata.namespace),
          `binding ${b.metadata.name} names the DaemonSet's service account`);
      }
      const configMaps = ofKind(r.objects, 'ConfigMap').map((o) => o.metadata.name);
      for (const v of pod.volumes ?? []) {
        if (v.configMap) t.ok(configMaps.includes(v.configMap.name), `volume ${v.name} → ConfigMap ${v.configMap.name} exists (hashed name)`);
      }
      const volumes = new Set((pod.volumes ?? []).map((v) => v.name));
      for (const c of containers) for (const m of c.volumeMounts ?? []) t.ok(volumes.has(m.name), `mount ${m.name} has a volume`);
    });

    t.test('no container is privileged or can gain privileges', async (t) => {
      t.notOk(pod.hostPID, 'no hostPID');
      t.notOk(pod.hostIPC, 'no hostIPC');
      t.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', 'seccomp RuntimeDefault');
      for (const c of containers) {
        const sc = c.securityContext ?? {};
        t.not(sc.privileged, true, `${c.name}: not privileged`);
        t.equal(sc.allowPrivilegeEscalation, false, `${c.name}: allowPrivilegeEscalation: false`);
        t.equal(sc.readOnlyRootFilesystem, true, `${c.name}: read-only root filesystem`);
        t.same(sc.capabilities?.drop, ['ALL'], `${c.name}: drops ALL capabilities first`);
        t.notOk(sc.capabilities?.add?.includes('SYS_ADMIN'), `${c.name}: no SYS_ADMIN`);
      }
    });

    t.test('host access is the datapath\'s, read-only', async (t) => {
      t.equal(pod.hostNetwork, true, 'hostNetwork (conntrack and host interfaces)');
      t.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet', 'cluster DNS despite hostNetwork');
      const hostPaths = new Map((pod.volumes ?? []).filter((v) => v.hostPath).map((v) => [v.name, v.hostPath!.path]));
      t.same([...hostPaths.values()].sort(), ['/sys/fs/cgroup', '/sys/kernel/btf', '/sys/kernel/tracing'], 'host paths');
      for (const c of containers) {
        for (const m of c.volumeMounts ?? []) {
          if (hostPaths.has(m.name)) t.equal(m.readOnly, true, `${c.name}: ${m.mountPath} mounted read-only`);
        }
      }
    });

    t.test('scheduling, rollout and identity', async (t) => {
      t.ok(pod.tolerations?.some((x) => x.operator === 'Exists' && !x.key && !x.effect), 'tolerates every taint');
      t.equal(ds.spec.updateStrategy?.type, 'RollingUpdate', 'rolling update');
      t.ok(ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable !== undefined, 'maxUnavailable set');
      const [c] = pod.containers;
      t.equal(c!.image, `podflow:${pkg.version}`, 'image tag is package.json\'s version');
      const node = c!.env?.find((e) => e.name === 'K8S_NODE_NAME');
      t.equal(node?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName', 'K8S_NODE_NAME from the downward API');
      t.ok(c!.resources?.requests?.cpu && c!.resources.requests.memory, 'cpu and memory requests');
      t.ok(c!.resources?.limits?.memory, 'memory limit');
    });
  });
}

t.test('every capability the base DaemonSet adds is justified in a comment', async (t) => {
  const doc = parseDocument(readFileSync(join(DEPLOY, 'base/daemonset.yaml'), 'utf8'));
  const add = doc.getIn(['spec', 'template', 'spec', 'containers', 0, 'securityContext', 'capabilities', 'add'], true) as Node;
  t.ok(isSeq(add), 'capabilities.add is a list');
  if (!isSeq(add)) return;
  t.ok(add.items.length > 0, 'adds capabilities');
  add.items.forEach((item, i) => {
    // The yaml parser hangs the comment above the first item on the list.
    const comment = (i === 0 ? add.commentBefore : isScalar(item) ? item.commentBefore : '') ?? '';
    t.ok(isScalar(item) && comment.trim().length > 20, `${isScalar(item) ? String(item.value) : '?'} has a comment saying why`);
  });
  t.ok(isMap(doc.contents), 'document is a map');
});

t.test('examples/prometheus scrapes what the prometheus overlay deploys', async (t) => {
  const r = renderings.find((x) => x.name === 'overlays/prometheus');
  t.ok(r, 'prometheus overlay rendered');
  const ds = r && ofKind<DaemonSet & { spec: { template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> } } } }>(r.objects, 'DaemonSet')[0];
  if (!ds) return;
  const job = (parseDocument(readFileSync(join(REPO, 'examples/prometheus/prometheus.yml'), 'utf8')).toJS() as {
    scrape_configs: Array<{ kubernetes_sd_configs: Array<{ namespaces: { names: string[] }; selectors: Array<{ label: string }> }>; relabel_configs: Array<{ source_labels?: string[]; regex?: string; action?: string }> }>;
  }).scrape_configs[0]!;
  const sd = job.kubernetes_sd_configs[0]!;
  t.same(sd.namespaces.names, [ds.metadata.namespace], 'namespace');
  const [key, value] = sd.selectors[0]!.label.split('=');
  t.equal(ds.spec.template.metadata.labels[key!], value, `pod label ${sd.selectors[0]!.label}`);
  const keep = job.relabel_configs.find((c) => c.action === 'keep' && c.source_labels?.[0] === '__meta_kubernetes_pod_container_port_name');
  const ports = ds.spec.template.spec.containers[0]!.ports ?? [];
  const kept = ports.filter((p) => p.name && new RegExp(`^(?:${keep?.regex})$`).test(p.name));
  t.same(kept.map((p) => p.name).sort(), ['metrics', 'telemetry'], 'keeps the metrics and telemetry ports');
  const annotations = ds.spec.template.metadata.annotations ?? {};
  t.equal(annotations['prometheus.io/scrape'], 'true', 'prometheus.io/scrape');
  t.equal(Number(annotations['prometheus.io/port']), ports.find((p) => p.name === 'metrics')?.containerPort, 'prometheus.io/port is the metrics port');
});

t.test('the system-node-critical Component sets the priority and the quota that admits it', async (t) => {
  const r = renderings.find((x) => x.name === 'base + components/system-node-critical');
  t.ok(r, 'rendered on top of the base');
  if (!r) return;
  const ds = ofKind<DaemonSet & { spec: { template: { spec: { priorityClassName?: string } } } }>(r.objects, 'DaemonSet')[0]!;
  t.equal(ds.spec.template.spec.priorityClassName, 'system-node-critical');
  const quota = ofKind<K8sObject & { spec: { scopeSelector: { matchExpressions: Array<{ scopeName: string; operator: string; values: string[] }> } } }>(r.objects, 'ResourceQuota')[0];
  t.same(quota?.spec.scopeSelector.matchExpressions, [{ scopeName: 'PriorityClass', operator: 'In', values: ['system-node-critical'] }], 'quota scoped to the PriorityClass');
  t.equal(quota?.metadata.namespace, ds.metadata.namespace, 'in podflow\'s namespace');
  const base = renderings.find((x) => x.name === 'base')!;
  t.notOk(ofKind<DaemonSet & { spec: { template: { spec: { priorityClassName?: string } } } }>(base.objects, 'DaemonSet')[0]!.spec.template.spec.priorityClassName, 'the base sets no priority');
});
