// The catalogue of workloads the synthetic cluster is made of: typical
// microservices, datastores and node agents, with the kind and ports they
// usually have, so generated flows look like a real cluster's.

export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

export interface Role {
  name: string;
  kind: WorkloadKind;
  /** Service port (what clients dial on the ClusterIP); 0 = no Service. */
  servicePort: number;
  /** Container port behind it (the pod answers here). */
  targetPort: number;
}

export const ROLES: readonly Role[] = [
  { name: 'frontend', kind: 'Deployment', servicePort: 80, targetPort: 8080 },
  { name: 'checkout', kind: 'Deployment', servicePort: 80, targetPort: 8080 },
  { name: 'cart', kind: 'Deployment', servicePort: 80, targetPort: 8080 },
  { name: 'catalog', kind: 'Deployment', servicePort: 80, targetPort: 8080 },
  { name: 'postgres', kind: 'StatefulSet', servicePort: 5432, targetPort: 5432 },
  { name: 'redis', kind: 'StatefulSet', servicePort: 6379, targetPort: 6379 },
  { name: 'log-agent', kind: 'DaemonSet', servicePort: 0, targetPort: 0 },
  { name: 'auth', kind: 'Deployment', servicePort: 443, targetPort: 8443 },
  { name: 'recommendation', kind: 'Deployment', servicePort: 50051, targetPort: 50051 },
  { name: 'kafka', kind: 'StatefulSet', servicePort: 9092, targetPort: 9092 },
  { name: 'payments', kind: 'Deployment', servicePort: 443, targetPort: 8443 },
  { name: 'node-exporter', kind: 'DaemonSet', servicePort: 9100, targetPort: 9100 },
  { name: 'search', kind: 'StatefulSet', servicePort: 9200, targetPort: 9200 },
  { name: 'shipping', kind: 'Deployment', servicePort: 80, targetPort: 8080 },
  { name: 'currency', kind: 'Deployment', servicePort: 7000, targetPort: 7000 },
  { name: 'memcached', kind: 'StatefulSet', servicePort: 11211, targetPort: 11211 },
  { name: 'ads', kind: 'Deployment', servicePort: 9555, targetPort: 9555 },
  { name: 'email', kind: 'Deployment', servicePort: 5000, targetPort: 8080 },
  { name: 'rabbitmq', kind: 'StatefulSet', servicePort: 5672, targetPort: 5672 },
  { name: 'mesh-proxy', kind: 'DaemonSet', servicePort: 15000, targetPort: 15000 },
];

export const NAMESPACES: readonly string[] = [
  'shop', 'payments', 'identity', 'analytics', 'search', 'media', 'billing', 'platform',
];

/** kube-dns: answers the UDP flows on port 53 from kube-system. */
export const DNS = { namespace: 'kube-system', workload: 'coredns', service: 'kube-dns', pods: 2, port: 53 } as const;

/** The attribute column that names the owner, per kind (as k8s_attributes names it). */
export const KIND_COLUMN: Record<WorkloadKind, string> = {
  Deployment: 'deployment',
  StatefulSet: 'statefulset',
  DaemonSet: 'daemonset',
};
