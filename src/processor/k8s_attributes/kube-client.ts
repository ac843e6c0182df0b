// The Kubernetes API as the reflectors see it: for each watched resource, one
// list page (limit/continue) and one watch stream, both through the real
// @kubernetes/client-node (its generated list APIs and its Watch). Jobs are
// listed and watched metadata-only (Accept: PartialObjectMetadata), see owner.ts.

import { existsSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import {
  BatchV1Api, CoreV1Api, DiscoveryV1Api, KubeConfig, Observable, Watch, type RequestContext, type ResponseContext,
} from '@kubernetes/client-node';
import type { ResourceName } from './cache.ts';
import type { K8sAttributesConfig } from './config.ts';

export interface ListPage {
  items: unknown[];
  resourceVersion: string;
  continueToken: string | undefined;
}

export type WatchEventHandler = (type: string, object: unknown) => void;

export interface ResourceClient {
  readonly resource: ResourceName;
  list(limit: number, continueToken: string | undefined): Promise<ListPage>;
  /** Starts a watch; `done` is called once when it ends (error or close). */
  watch(resourceVersion: string, timeoutSeconds: number, onEvent: WatchEventHandler, done: (err: unknown) => void): Promise<AbortController>;
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const METADATA_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

/**
 * The KubeConfig for an auth_type, or undefined when auth_type is none and no
 * in-cluster address is set (no API to talk to: k8s lookups are off).
 * Throws with a message for the user when the chosen auth cannot work here.
 */
export function loadKubeConfig(c: Pick<K8sAttributesConfig, 'auth_type' | 'kubeconfig_path'>): KubeConfig | undefined {
  const kc = new KubeConfig();
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  switch (c.auth_type) {
    case 'kubeConfig':
      if (c.kubeconfig_path) kc.loadFromFile(c.kubeconfig_path);
      else kc.loadFromDefault();
      if (!kc.getCurrentCluster()) throw new Error('the kubeconfig has no current cluster');
      return kc;
    case 'serviceAccount':
      if (!host || !port) throw new Error('auth_type serviceAccount needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (is podflow running in a pod?)');
      kc.loadFromCluster();
      return kc;
    case 'none': {
      if (!host || !port) return undefined;
      const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
      const caFile = existsSync(`${SA_DIR}/ca.crt`) ? `${SA_DIR}/ca.crt` : undefined;
      kc.loadFromClusterAndUser({ name: 'in-cluster', server, skipTLSVerify: false, ...(caFile ? { caFile } : {}) }, { name: 'anonymous' });
      return kc;
    }
  }
}

/** A KubeConfig whose requests ask for metadata only (for the Jobs watch). */
function metadataOnly(kc: KubeConfig): KubeConfig {
  const m = Object.create(kc) as KubeConfig;
  m.applySecurityAuthentication = async (ctx: RequestContext) => {
    await kc.applySecurityAuthentication(ctx);
    ctx.setHeaderParam('Accept', METADATA_ACCEPT);
  };
  return m;
}

export interface ClientOptions {
  /** Restrict namespaced resources to this namespace ('' = all). */
  namespace: string;
  /** Restrict pods to this node ('' = all). */
  node: string;
}

export function resourceClients(kc: KubeConfig, o: ClientOptions): Record<ResourceName, ResourceClient> {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  const ns = o.namespace;
  const podSelector = o.node ? `spec.nodeName=${o.node}` : undefined;
  const nsSelector = ns ? `metadata.name=${ns}` : undefined;
  const meta = {
    middleware: [{
      // The object-parameter API takes the generated (Observable) middleware form.
      pre: (ctx: RequestContext) => { ctx.setHeaderParam('Accept', METADATA_ACCEPT); return new Observable(Promise.resolve(ctx)); },
      post: (r: ResponseContext) => new Observable(Promise.resolve(r)),
    }],
    middlewareMergeStrategy: 'append' as const,
  };
  type Lister = (limit: number, cont: string | undefined) => Promise<{ items: unknown[]; metadata?: { resourceVersion?: string; _continue?: string } }>;
  const make = (resource: ResourceName, path: string, list: Lister, watchConfig: KubeConfig, params: Record<string, string> = {}): ResourceClient => {
    const watcher = new Watch(watchConfig);
    return {
      resource,
      async list(limit, cont) {
        const r = await list(limit, cont);
        return { items: r.items, resourceVersion: r.metadata?.resourceVersion ?? '', continueToken: r.metadata?._continue || undefined };
      },
      watch(resourceVersion, timeoutSeconds, onEvent, done) {
        // The client aborts a watch that is silent this long; the server ends it first.
        (watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = (timeoutSeconds + 30) * 1000;
        return watcher.watch(path, { ...params, resourceVersion, allowWatchBookmarks: true, timeoutSeconds }, onEvent, done);
      },
    };
  };
  const nsPath = (group: string, res: string) => (ns ? `${group}/namespaces/${ns}/${res}` : `${group}/${res}`);
  return {
    pods: make('pods', nsPath('/api/v1', 'pods'),
      (limit, _continue) => (ns
        ? core.listNamespacedPod({ namespace: ns, limit, _continue, fieldSelector: podSelector })
        : core.listPodForAllNamespaces({ limit, _continue, fieldSelector: podSelector })),
      kc, podSelector ? { fieldSelector: podSelector } : {}),
    services: make('services', nsPath('/api/v1', 'services'),
      (limit, _continue) => (ns ? core.listNamespacedService({ namespace: ns, limit, _continue }) : core.listServiceForAllNamespaces({ limit, _continue })),
      kc),
    endpointslices: make('endpointslices', nsPath('/apis/discovery.k8s.io/v1', 'endpointslices'),
      (limit, _continue) => (ns
        ? discovery.listNamespacedEndpointSlice({ namespace: ns, limit, _continue })
        : discovery.listEndpointSliceForAllNamespaces({ limit, _continue })),
      kc),
    nodes: make('nodes', '/api/v1/nodes', (limit, _continue) => core.listNode({ limit, _continue }), kc),
    namespaces: make('namespaces', '/api/v1/namespaces',
      (limit, _continue) => core.listNamespace({ limit, _continue, fieldSelector: nsSelector }),
      kc, nsSelector ? { fieldSelector: nsSelector } : {}),
    jobs: make('jobs', nsPath('/apis/batch/v1', 'jobs'),
      (limit, _continue) => (ns
        ? batch.listNamespacedJob({ namespace: ns, limit, _continue }, meta)
        : batch.listJobForAllNamespaces({ limit, _continue }, meta)),
      metadataOnly(kc)),
  };
}
