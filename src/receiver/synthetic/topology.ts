// The synthetic cluster: namespaces, workloads of mixed kinds, their pods with
// dual-stack IPs on nodes, Services with ClusterIPs, and the ranked list of
// client→server workload pairs the Zipf choice draws from. Built once per
// config (a pure function of it) so generating an interval only indexes arrays.

import type { SyntheticConfig } from './config.ts';
import { hash32, Rng, seedHash } from './rng.ts';
import { DNS, NAMESPACES, ROLES, type WorkloadKind } from './roles.ts';

export interface Workload {
  index: number;
  namespace: string;
  name: string;
  kind: WorkloadKind;
  firstPod: number;
  podCount: number;
  /** Service name, undefined when the workload has none (then it only dials out). */
  service: string | undefined;
  servicePort: number;
  targetPort: number;
  /** ClusterIP, 16-byte form (v4-mapped), and its IPv6 twin. */
  vip4: Uint8Array;
  vip6: Uint8Array;
}

/** Per-pod string attributes, in this order, at podStrings[pod * POD_STRINGS + k]. */
export const POD_NAMESPACE = 0;
export const POD_NAME = 1;
export const POD_NODE = 2;
export const POD_WORKLOAD = 3;
export const POD_KIND = 4;
export const POD_STRINGS = 5;

export interface Topology {
  workloads: Workload[];
  /** kube-dns (the last workload). */
  dns: Workload;
  podCount: number;
  nodeCount: number;
  podWorkload: Int32Array;
  podNode: Int32Array;
  podAddr4: Uint8Array;
  podAddr6: Uint8Array;
  podStrings: string[];
  /** Client→server workload pairs, most talkative first (the Zipf rank order). */
  pairClient: Int32Array;
  pairServer: Int32Array;
}

const SALT_TOPOLOGY = 0x7011;
/** Each client depends on at most this many services, as microservices do. */
const MAX_DEPENDENCIES = 6;
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

export function buildTopology(c: SyntheticConfig): Topology {
  const rng = new Rng(hash32(seedHash(c.seed), SALT_TOPOLOGY));
  const appPods = c.namespaces * c.workloads_per_namespace * c.pods_per_workload;
  const podCount = appPods + DNS.pods;
  const nodeCount = Math.min(256, Math.max(3, Math.ceil(podCount / 100)));
  const workloads: Workload[] = [];
  let pod = 0;
  const add = (namespace: string, name: string, kind: WorkloadKind, pods: number, service: string | undefined,
    servicePort: number, targetPort: number, vipOffset: number) => {
    workloads.push({
      index: workloads.length, namespace, name, kind, firstPod: pod, podCount: pods, service, servicePort, targetPort,
      vip4: vip4(vipOffset), vip6: vip6(vipOffset),
    });
    pod += pods;
  };
  for (let n = 0; n < c.namespaces; n++) {
    const ns = n < NAMESPACES.length ? NAMESPACES[n]! : `${NAMESPACES[n % NAMESPACES.length]}-${Math.floor(n / NAMESPACES.length) + 1}`;
    const order = shuffledRoles(rng);
    for (let w = 0; w < c.workloads_per_namespace; w++) {
      const role = ROLES[order[w % order.length]!]!;
      const name = w < order.length ? role.name : `${role.name}-${Math.floor(w / order.length) + 1}`;
      const svc = role.servicePort > 0 ? name : undefined;
      // ClusterIPs from 10.96.1.0 upwards; 10.96.0.10 is kube-dns's, as in kubeadm clusters.
      add(ns, name, role.kind, c.pods_per_workload, svc, role.servicePort, role.targetPort, 256 + workloads.length);
    }
  }
  add(DNS.namespace, DNS.workload, 'Deployment', DNS.pods, DNS.service, DNS.port, DNS.port, 10);

  const podWorkload = new Int32Array(podCount);
  const podNode = new Int32Array(podCount);
  const podAddr4 = new Uint8Array(podCount * 16);
  const podAddr6 = new Uint8Array(podCount * 16);
  const podStrings: string[] = new Array<string>(podCount * POD_STRINGS);
  for (const w of workloads) {
    const rsHash = randomName(rng, 10);
    for (let j = 0; j < w.podCount; j++) {
      const p = w.firstPod + j;
      // Round-robin placement: consecutive pods of a workload land on different nodes.
      const node = p % nodeCount;
      const slot = Math.floor(p / nodeCount) + 2;
      podWorkload[p] = w.index;
      podNode[p] = node;
      podAddr4.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 244, node, slot], p * 16);
      podAddr6.set([0xfd, 0, 0, 0x10, 0x02, 0x44, 0, node, 0, 0, 0, 0, 0, 0, 0, slot], p * 16);
      const o = p * POD_STRINGS;
      podStrings[o + POD_NAMESPACE] = w.namespace;
      podStrings[o + POD_NAME] = podName(w, j, rsHash, rng);
      podStrings[o + POD_NODE] = `node-${node + 1}`;
      podStrings[o + POD_WORKLOAD] = w.name;
      podStrings[o + POD_KIND] = w.kind;
    }
  }
  const { pairClient, pairServer } = rankPairs(workloads.slice(0, -1), rng);
  return {
    workloads, dns: workloads[workloads.length - 1]!, podCount, nodeCount, podWorkload, podNode, podAddr4, podAddr6,
    podStrings, pairClient, pairServer,
  };
}

/** A role order per namespace that starts with a role that has a Service, so every namespace serves something. */
function shuffledRoles(rng: Rng): number[] {
  const order = ROLES.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const first = order.findIndex((r) => ROLES[r]!.servicePort > 0);
  [order[0], order[first]] = [order[first]!, order[0]!];
  return order;
}

function podName(w: Workload, j: number, rsHash: string, rng: Rng): string {
  if (w.kind === 'StatefulSet') return `${w.name}-${j}`;
  if (w.kind === 'DaemonSet') return `${w.name}-${randomName(rng, 5)}`;
  return `${w.name}-${rsHash}-${randomName(rng, 5)}`;
}

function randomName(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += NAME_ALPHABET[rng.int(NAME_ALPHABET.length)];
  return s;
}

function vip4(offset: number): Uint8Array {
  return Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 96 + (offset >>> 16), (offset >>> 8) & 0xff, offset & 0xff);
}

function vip6(offset: number): Uint8Array {
  return Uint8Array.of(0xfd, 0, 0, 0x10, 0, 0x96, 0, 0, 0, 0, 0, 0, 0, offset >>> 16, (offset >>> 8) & 0xff, offset & 0xff);
}

/**
 * Each client gets up to MAX_DEPENDENCIES services (same-namespace first, then
 * random others), and all pairs are ranked randomly with same-namespace pairs
 * favoured, so the heaviest talkers are mostly within a namespace, as in
 * practice. Linear in the number of workloads, so large clusters build fast.
 */
function rankPairs(apps: Workload[], rng: Rng): { pairClient: Int32Array; pairServer: Int32Array } {
  const servers = apps.filter((w) => w.service !== undefined);
  const byNamespace = new Map<string, Workload[]>();
  for (const s of servers) {
    const list = byNamespace.get(s.namespace);
    if (list) list.push(s);
    else byNamespace.set(s.namespace, [s]);
  }
  const pairs: Array<{ client: number; server: number; score: number }> = [];
  for (const client of apps) {
    const deps = new Set<Workload>();
    const local = (byNamespace.get(client.namespace) ?? []).filter((s) => s !== client);
    while (deps.size < Math.min(MAX_DEPENDENCIES, local.length)) deps.add(local[rng.int(local.length)]!);
    // A bounded number of draws: in a small cluster there may be fewer candidates than MAX_DEPENDENCIES.
    for (let tries = 0; deps.size < MAX_DEPENDENCIES && tries < 4 * MAX_DEPENDENCIES; tries++) {
      const s = servers[rng.int(servers.length)]!;
      if (s !== client) deps.add(s);
    }
    if (deps.size === 0) deps.add(servers[0]!); // a lone workload talks to its own pods (replication)
    for (const s of deps) {
      pairs.push({ client: client.index, server: s.index, score: rng.next() + (s.namespace === client.namespace ? 0 : 0.5) });
    }
  }
  pairs.sort((a, b) => a.score - b.score);
  return {
    pairClient: Int32Array.from(pairs, (p) => p.client),
    pairServer: Int32Array.from(pairs, (p) => p.server),
  };
}
