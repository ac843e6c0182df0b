// Realistic API objects for tests and the cache benchmark: what a real cluster
// returns, including managedFields, ownerReferences and the usual labels and
// annotations, so a cache that keeps too much shows it.

import type { KubeObject } from './server.ts';

export interface PodSpec {
  namespace: string;
  name: string;
  ip?: string;
  ips?: string[];
  node?: string;
  owner?: { kind: string; name: string };
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  hostNetwork?: boolean;
  phase?: string;
  uid?: string;
}

function managedFields(manager: string): unknown[] {
  return [{
    manager, operation: 'Update', apiVersion: 'v1', time: '2026-11-01T10:00:00Z', fieldsType: 'FieldsV1',
    fieldsV1: {
      'f:metadata': { 'f:labels': { '.': {}, 'f:app': {}, 'f:pod-template-hash': {} }, 'f:ownerReferences': { '.': {}, 'k:{"uid":"x"}': {} } },
      'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:imagePullPolicy': {}, 'f:name': {}, 'f:ports': {}, 'f:resources': {} } }, 'f:dnsPolicy': {}, 'f:restartPolicy': {} },
    },
  }, {
    manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: '2026-11-01T10:00:05Z', fieldsType: 'FieldsV1', subresource: 'status',
    fieldsV1: { 'f:status': { 'f:conditions': { 'k:{"type":"Ready"}': { '.': {}, 'f:lastProbeTime': {}, 'f:status': {}, 'f:type': {} } }, 'f:containerStatuses': {}, 'f:hostIP': {}, 'f:phase': {}, 'f:podIP': {}, 'f:podIPs': {}, 'f:startTime': {} } },
  }];
}

export function pod(s: PodSpec): KubeObject {
  const ips = s.ips ?? (s.ip ? [s.ip] : []);
  const app = s.owner?.name.replace(/-[a-z0-9]{8,10}$/, '') ?? s.name;
  return {
    metadata: {
      name: s.name,
      namespace: s.namespace,
      ...(s.uid ? { uid: s.uid } : {}),
      labels: { app, ...s.labels },
      annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-01T10:00:00Z', ...s.annotations },
      ...(s.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: s.owner.kind, name: s.owner.name, uid: `uid-${s.owner.name}`, controller: true, blockOwnerDeletion: true }] } : {}),
      managedFields: managedFields('kube-controller-manager'),
    },
    spec: {
      nodeName: s.node,
      hostNetwork: s.hostNetwork ?? false,
      containers: [{
        name: 'app', image: `registry.example.com/${app}:1.4.2`, imagePullPolicy: 'IfNotPresent',
        ports: [{ containerPort: 8080, protocol: 'TCP' }],
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
        env: [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        volumeMounts: [{ name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
      }],
      volumes: [{ name: 'kube-api-access', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }] } }],
      dnsPolicy: 'ClusterFirst', restartPolicy: 'Always', serviceAccountName: 'default', schedulerName: 'default-scheduler',
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
    },
    status: {
      phase: s.phase ?? 'Running',
      hostIP: '192.168.0.10',
      ...(ips.length ? { podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) } : {}),
      startTime: '2026-11-01T10:00:01Z',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-11-01T10:00:04Z' }],
      containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: `registry.example.com/${app}:1.4.2`, imageID: 'sha256:0123456789abcdef', containerID: 'containerd://abcdef0123456789', started: true, state: { running: { startedAt: '2026-11-01T10:00:03Z' } } }],
    },
  };
}

export function node(name: string, internalIP: string, labels: Record<string, string> = {}): KubeObject {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...labels }, managedFields: managedFields('kubelet') },
    spec: { podCIDR: '10.244.0.0/24' },
    status: { addresses: [{ type: 'InternalIP', address: internalIP }, { type: 'Hostname', address: name }] },
  };
}

export function namespace(name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): KubeObject {
  return { metadata: { name, labels: { 'kubernetes.io/metadata.name': name, ...labels }, annotations }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
}

export function service(namespace: string, name: string, clusterIP: string | 'None'): KubeObject {
  return {
    metadata: { name, namespace, labels: { app: name } },
    spec: { clusterIP, clusterIPs: [clusterIP], type: 'ClusterIP', selector: { app: name }, ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
    status: { loadBalancer: {} },
  };
}

export function endpointSlice(namespace: string, service: string, addresses: string[], name = `${service}-abcde`): KubeObject {
  return {
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
    addressType: 'IPv4',
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true, serving: true, terminating: false } })),
    ports: [{ name: '', port: 8080, protocol: 'TCP' }],
  };
}

export function job(namespace: string, name: string, cronJob?: string): KubeObject {
  return {
    metadata: {
      name, namespace,
      ...(cronJob ? { ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cronJob, uid: `uid-${cronJob}`, controller: true }] } : {}),
    },
    spec: { template: { spec: { containers: [{ name: 'job', image: 'busybox' }], restartPolicy: 'Never' } }, backoffLimit: 6 },
    status: { active: 1 },
  };
}
