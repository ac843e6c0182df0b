// The resources the fake API server serves, with the URL shapes, kinds and
// scopes of the real API.

export interface ResourceDef {
  name: string;
  /** URL prefix of the group/version: /api/v1 or /apis/<group>/<version>. */
  prefix: string;
  apiVersion: string;
  kind: string;
  namespaced: boolean;
}

export const RESOURCES: Record<string, ResourceDef> = {
  pods: { name: 'pods', prefix: '/api/v1', apiVersion: 'v1', kind: 'Pod', namespaced: true },
  services: { name: 'services', prefix: '/api/v1', apiVersion: 'v1', kind: 'Service', namespaced: true },
  nodes: { name: 'nodes', prefix: '/api/v1', apiVersion: 'v1', kind: 'Node', namespaced: false },
  namespaces: { name: 'namespaces', prefix: '/api/v1', apiVersion: 'v1', kind: 'Namespace', namespaced: false },
  endpointslices: { name: 'endpointslices', prefix: '/apis/discovery.k8s.io/v1', apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', namespaced: true },
  jobs: { name: 'jobs', prefix: '/apis/batch/v1', apiVersion: 'batch/v1', kind: 'Job', namespaced: true },
  replicasets: { name: 'replicasets', prefix: '/apis/apps/v1', apiVersion: 'apps/v1', kind: 'ReplicaSet', namespaced: true },
};

/** Parses a collection URL: /api/v1/pods, /api/v1/namespaces/ns/pods, /apis/batch/v1/jobs … */
export function parseCollectionPath(path: string): { def: ResourceDef; namespace: string } | undefined {
  const m = /^(\/api\/v1|\/apis\/[^/]+\/[^/]+)\/(?:namespaces\/([^/]+)\/)?([a-z]+)$/.exec(path);
  if (!m) return undefined;
  const def = Object.values(RESOURCES).find((d) => d.prefix === m[1] && d.name === m[3]);
  if (!def) return undefined;
  if (m[2] !== undefined && !def.namespaced) return undefined;
  return { def, namespace: m[2] ?? '' };
}
