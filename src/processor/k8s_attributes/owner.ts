// Owner resolution without caching ReplicaSets or Jobs in full.
//
// Deployment: a Deployment's ReplicaSet is named "<deployment>-<pod-template-hash>"
// and its pods carry that hash as the pod-template-hash label, so the Deployment
// name is the ReplicaSet owner's name minus "-<hash>": no ReplicaSet watch at all
// (clusters keep ~10 old ReplicaSets per Deployment, the biggest object count
// peers cache). A ReplicaSet whose name does not end in the pod's hash is a bare
// ReplicaSet and is reported as such.
//
// CronJob: a Job created by a CronJob is named "<cronjob>-<scheduled minute>",
// but so can any Job be, and the name alone cannot tell; the Job's controller
// ownerReference can. So Jobs are watched metadata-only (PartialObjectMetadata:
// the API server sends name and ownerReferences, not the pod template) and the
// cache keeps one "namespace/job → cronjob" string pair per CronJob-owned Job.

export interface OwnerRef {
  kind: string;
  name: string;
}

export interface Workload {
  /** Deployment, StatefulSet, DaemonSet, Job, ReplicaSet, another controller's kind, or Pod for a bare pod. */
  kind: string;
  name: string;
  /** The Deployment (from a ReplicaSet owner), when there is one. */
  deployment: string | undefined;
}

/** The controller owner of an object's metadata.ownerReferences, if any. */
export function controllerOf(meta: { ownerReferences?: unknown } | undefined): OwnerRef | undefined {
  const refs = meta?.ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  let first: OwnerRef | undefined;
  for (const r of refs as Array<Record<string, unknown>>) {
    if (typeof r?.kind !== 'string' || typeof r.name !== 'string') continue;
    const ref = { kind: r.kind, name: r.name };
    if (r.controller === true) return ref;
    first ??= ref;
  }
  return first;
}

/** Deployment name from a ReplicaSet name and the pod's pod-template-hash, or undefined. */
export function deploymentFromReplicaSet(rsName: string, podTemplateHash: unknown): string | undefined {
  if (typeof podTemplateHash !== 'string' || podTemplateHash === '') return undefined;
  const suffix = `-${podTemplateHash}`;
  if (!rsName.endsWith(suffix) || rsName.length === suffix.length) return undefined;
  return rsName.slice(0, -suffix.length);
}

export function workloadOf(podName: string, owner: OwnerRef | undefined, labels: Record<string, unknown> | undefined): Workload {
  if (!owner) return { kind: 'Pod', name: podName, deployment: undefined };
  if (owner.kind === 'ReplicaSet') {
    const d = deploymentFromReplicaSet(owner.name, labels?.['pod-template-hash']);
    if (d !== undefined) return { kind: 'Deployment', name: d, deployment: d };
  }
  return { kind: owner.kind, name: owner.name, deployment: undefined };
}
