// The attribute names this processor writes, agreed with the exporters and the
// synthetic receiver: each k8s.* name goes out once per end, prefixed "source."
// or "destination.".

export const METADATA_NAMES = [
  'k8s.namespace.name',
  'k8s.pod.name',
  'k8s.pod.uid',
  'k8s.node.name',
  'k8s.workload.name',
  'k8s.workload.kind',
  'k8s.deployment.name',
  'k8s.statefulset.name',
  'k8s.daemonset.name',
  'k8s.job.name',
  'k8s.cronjob.name',
  'k8s.service.name',
] as const;
export type MetadataName = (typeof METADATA_NAMES)[number];

export type Side = 'source' | 'destination';

/** Label of an address outside the cluster, from cidr_labels. */
export const CIDR_LABEL_NAME = 'cidr.label';
/** Reverse-DNS name of an address outside the cluster. */
export const DOMAIN_NAME = 'domain';

export function columnName(side: Side, name: string): string {
  return `${side}.${name}`;
}
