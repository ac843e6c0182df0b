// The compact Kubernetes cache: only what the configured attributes need, as
// small entries with shared strings, indexed by address. Nothing of an API
// object is kept past the conversion (no managedFields, specs, statuses).
//
// Each watched resource feeds it through a ResourceHandler (upsert / remove,
// and beginSync / endSync around a relist so objects missing from the new list
// are deleted). Pod-derived attributes are built lazily, once per pod, and
// rebuilt when something they depend on changes (namespace or node tags, the
// Job → CronJob map): `generation` is bumped then.

import { addressKeyOfText, type AddressKey } from './address-key.ts';
import type { MetadataName } from './attribute-names.ts';
import { InternPool } from './intern-pool.ts';
import { ObjectProblem, asObj, optArray, optString, readMeta } from './object-fields.ts';
import { controllerOf, workloadOf } from './owner.ts';
import { PodEntry, PodIndex, addresses, compactAddresses } from './pod-index.ts';
import { ServiceIndex, type ServiceEntry } from './service-index.ts';
import { extractTags, type TagRule } from './tag-rules.ts';

export type ResourceName = 'pods' | 'nodes' | 'namespaces' | 'services' | 'endpointslices' | 'jobs';

export interface ResourceHandler {
  beginSync(): void;
  upsert(obj: unknown): void;
  remove(obj: unknown): void;
  endSync(): void;
}

export interface NodeEntry { name: string; ips: AddressKey[]; tags: string[] | undefined; attrs: string[] | undefined; attrsGen: number; mark: number }
interface Tagged { tags: string[] | undefined; mark: number }
interface CronLink { cronJob: string; mark: number }

export interface CacheOptions {
  metadata: readonly MetadataName[];
  tagRules: readonly TagRule[];
  now?: () => number;
  /** Called for each object that could not be cached (the processor counts and logs it). */
  onReject?: (resource: ResourceName, key: string, problem: string) => void;
}

export class K8sCache {
  readonly pods = new PodIndex();
  readonly nodes = new Map<string, NodeEntry>();
  readonly namespaces = new Map<string, Tagged>();
  readonly svc: ServiceIndex;
  readonly cronJobOfJob = new Map<string, CronLink>();
  readonly #nodeByIp = new Map<AddressKey, NodeEntry>();
  readonly pool = new InternPool();
  readonly #want: Set<MetadataName>;
  readonly #rules: readonly TagRule[];
  readonly #now: () => number;
  readonly #onReject: NonNullable<CacheOptions['onReject']>;
  #generation = 0;
  readonly #marks: Record<ResourceName, number> = { pods: 0, nodes: 0, namespaces: 0, services: 0, endpointslices: 0, jobs: 0 };
  readonly #synced: Record<ResourceName, boolean> = { pods: false, nodes: false, namespaces: false, services: false, endpointslices: false, jobs: false };

  constructor(o: CacheOptions) {
    this.#want = new Set(o.metadata);
    this.#rules = o.tagRules;
    this.#now = o.now ?? Date.now;
    this.#onReject = o.onReject ?? (() => undefined);
    this.svc = new ServiceIndex(this.pool);
  }

  get generation(): number {
    return this.#generation;
  }

  /** Whether any extract rule reads from this kind of object (decides what is watched). */
  needsTagsFrom(from: 'namespace' | 'node'): boolean {
    return this.#rules.some((r) => r.from === from);
  }

  handler(resource: ResourceName): ResourceHandler {
    const self = this;
    const guard = (obj: unknown, f: () => void) => {
      try {
        f();
      } catch (e) {
        if (!(e instanceof ObjectProblem)) throw e;
        const m = asObj(asObj(obj)?.metadata);
        const key = `${typeof m?.namespace === 'string' ? m.namespace + '/' : ''}${typeof m?.name === 'string' ? m.name : '?'}`;
        self.#onReject(resource, key, e.message);
      }
    };
    return {
      beginSync: () => { this.#marks[resource]++; },
      upsert: (obj) => guard(obj, () => this.#upsert(resource, obj)),
      remove: (obj) => guard(obj, () => this.#remove(resource, obj)),
      endSync: () => { this.#sweep(resource); this.#synced[resource] = true; },
    };
  }

  #upsert(r: ResourceName, obj: unknown): void {
    const mark = this.#marks[r];
    switch (r) {
      case 'pods': return this.#upsertPod(obj, mark);
      case 'nodes': return this.#upsertNode(obj, mark);
      case 'namespaces': {
        const m = readMeta(obj, false);
        this.namespaces.set(this.pool.intern(m.name), { tags: extractTags(this.#rules, 'namespace', m, this.pool), mark });
        this.#generation++;
        return;
      }
      case 'services': return this.svc.upsertService(obj, mark);
      case 'endpointslices': return this.svc.upsertSlice(obj, mark);
      case 'jobs': {
        const m = readMeta(obj, false);
        const owner = controllerOf(m);
        const key = `${m.namespace}/${m.name}`;
        if (owner?.kind === 'CronJob') this.cronJobOfJob.set(key, { cronJob: this.pool.intern(owner.name), mark });
        else this.cronJobOfJob.delete(key);
        this.#generation++;
        return;
      }
    }
  }

  #remove(r: ResourceName, obj: unknown): void {
    const m = readMeta(obj, r === 'pods' || r === 'services' || r === 'endpointslices');
    switch (r) {
      case 'pods': return this.pods.remove(m.uid, this.#now());
      case 'nodes': return this.#dropNode(m.name);
      case 'namespaces': this.namespaces.delete(m.name); this.#generation++; return;
      case 'services': return this.svc.dropService(m.uid);
      case 'endpointslices': return this.svc.dropSlice(m.uid);
      case 'jobs': this.cronJobOfJob.delete(`${m.namespace}/${m.name}`); this.#generation++; return;
    }
  }

  #sweep(r: ResourceName): void {
    const mark = this.#marks[r];
    const now = this.#now();
    switch (r) {
      case 'pods':
        for (const p of [...this.pods.byUid.values()]) if (p.deletedAt === 0 && p.mark !== mark) this.pods.remove(p.uid, now);
        break;
      case 'nodes':
        for (const [k, v] of [...this.nodes]) if (v.mark !== mark) this.#dropNode(k);
        break;
      case 'namespaces':
        for (const [k, v] of [...this.namespaces]) if (v.mark !== mark) this.namespaces.delete(k);
        break;
      case 'services':
      case 'endpointslices':
        this.svc.sweep(r, mark);
        break;
      case 'jobs':
        for (const [k, v] of [...this.cronJobOfJob]) if (v.mark !== mark) this.cronJobOfJob.delete(k);
        break;
    }
    this.#generation++;
    this.#maybeRebuildPool();
  }

  // ---- pods -------------------------------------------------------------

  #upsertPod(obj: unknown, mark: number): void {
    const m = readMeta(obj, true);
    const o = asObj(obj)!;
    const spec = asObj(o.spec);
    const status = asObj(o.status);
    const phase = optString(status, 'phase', 'status.phase');
    const ips: AddressKey[] = [];
    const podIPs = optArray(status, 'podIPs', 'status.podIPs');
    podIPs.forEach((e, i) => {
      const ip = optString(asObj(e), 'ip', `status.podIPs[${i}].ip`);
      if (ip === undefined) return;
      const k = addressKeyOfText(ip);
      if (k === undefined) throw new ObjectProblem(`status.podIPs[${i}].ip`, `"${ip}" is not an IP address`);
      if (!ips.includes(k)) ips.push(k);
    });
    const single = optString(status, 'podIP', 'status.podIP');
    if (single) {
      const k = addressKeyOfText(single);
      if (k === undefined) throw new ObjectProblem('status.podIP', `"${single}" is not an IP address`);
      if (!ips.includes(k)) ips.push(k);
    }
    const owner = controllerOf(m);
    const w = workloadOf(m.name, owner, m.labels);
    const pool = this.pool;
    const p = new PodEntry({
      uid: m.uid,
      name: m.name,
      namespace: pool.intern(m.namespace),
      node: pool.intern(optString(spec, 'nodeName', 'spec.nodeName')),
      workloadKind: pool.intern(w.kind),
      // A bare pod is its own workload; its name is not worth pooling.
      workloadName: w.kind === 'Pod' ? m.name : pool.intern(w.name),
      tags: extractTags(this.#rules, 'pod', m, pool),
      ips: compactAddresses(ips),
      hostNetwork: spec?.hostNetwork === true,
    });
    // Pods in the first list count as having had their IPs all along (flows may predate our start).
    const now = this.#synced.pods ? this.#now() : 0;
    // A finished pod's IP goes back to the pool: from here on it is a tombstone.
    if (phase === 'Succeeded' || phase === 'Failed') {
      const live = this.pods.byUid.get(m.uid);
      if (live === undefined) return; // never seen running: nothing to name
      if (live.deletedAt === 0) {
        live.mark = mark;
        this.pods.remove(m.uid, now);
      }
      return;
    }
    this.pods.upsert(p, now);
    p.mark = mark;
  }

  // ---- nodes ------------------------------------------------------------

  #upsertNode(obj: unknown, mark: number): void {
    const m = readMeta(obj, false);
    const status = asObj(asObj(obj)!.status);
    const ips: AddressKey[] = [];
    optArray(status, 'addresses', 'status.addresses').forEach((a, i) => {
      const ao = asObj(a);
      const type = optString(ao, 'type', `status.addresses[${i}].type`);
      if (type !== 'InternalIP' && type !== 'ExternalIP') return;
      const text = optString(ao, 'address', `status.addresses[${i}].address`) ?? '';
      const k = addressKeyOfText(text);
      if (k === undefined) throw new ObjectProblem(`status.addresses[${i}].address`, `"${text}" is not an IP address`);
      ips.push(k);
    });
    this.#dropNode(m.name);
    // slice(): an array grown by push keeps ~17 slots; the copy has exactly its length.
    const n: NodeEntry = { name: this.pool.intern(m.name), ips: ips.slice(), tags: extractTags(this.#rules, 'node', m, this.pool), attrs: undefined, attrsGen: -1, mark };
    this.nodes.set(n.name, n);
    for (const ip of ips) this.#nodeByIp.set(ip, n);
    this.#generation++;
  }

  #dropNode(name: string): void {
    const n = this.nodes.get(name);
    if (!n) return;
    this.nodes.delete(name);
    for (const ip of n.ips) if (this.#nodeByIp.get(ip) === n) this.#nodeByIp.delete(ip);
    this.#generation++;
  }

  // ---- lookups ----------------------------------------------------------

  nodeAt(key: AddressKey): NodeEntry | undefined {
    return this.#nodeByIp.get(key);
  }

  serviceAtVip(key: AddressKey): ServiceEntry | undefined {
    return this.svc.atVip(key);
  }

  serviceOfBackend(key: AddressKey): string | undefined {
    return this.svc.ofBackend(key);
  }

  /** The attribute pairs [name, value, …] of a pod (built once per generation). */
  podAttributes(p: PodEntry): string[] {
    if (p.attrs !== undefined && p.attrsGen === this.#generation) return p.attrs;
    const a: string[] = [];
    const w = this.#want;
    const put = (k: MetadataName, v: string | undefined) => { if (v !== undefined && w.has(k)) a.push(k, v); };
    put('k8s.namespace.name', p.namespace);
    put('k8s.pod.name', p.name);
    put('k8s.pod.uid', p.uid);
    put('k8s.node.name', p.node);
    let kind = p.workloadKind;
    let name = p.workloadName;
    if (kind === 'Job') {
      put('k8s.job.name', name);
      const cron = this.cronJobOfJob.get(`${p.namespace}/${name}`)?.cronJob;
      if (cron !== undefined) {
        put('k8s.cronjob.name', cron);
        kind = 'CronJob';
        name = cron;
      }
    }
    put('k8s.workload.name', name);
    put('k8s.workload.kind', kind);
    if (kind === 'Deployment') put('k8s.deployment.name', name);
    if (kind === 'StatefulSet') put('k8s.statefulset.name', name);
    if (kind === 'DaemonSet') put('k8s.daemonset.name', name);
    if (p.tags) a.push(...p.tags);
    const nsTags = this.namespaces.get(p.namespace)?.tags;
    if (nsTags) a.push(...nsTags);
    const nodeTags = p.node !== undefined ? this.nodes.get(p.node)?.tags : undefined;
    if (nodeTags) a.push(...nodeTags);
    p.attrs = a;
    p.attrsGen = this.#generation;
    return a;
  }

  nodeAttributes(n: NodeEntry): string[] {
    if (n.attrs !== undefined && n.attrsGen === this.#generation) return n.attrs;
    const a: string[] = [];
    if (this.#want.has('k8s.node.name')) a.push('k8s.node.name', n.name);
    if (n.tags) a.push(...n.tags);
    n.attrs = a;
    n.attrsGen = this.#generation;
    return a;
  }

  // ---- housekeeping ------------------------------------------------------

  /** Forgets deleted pods older than the grace period. */
  purge(graceMs: number): number {
    const n = this.pods.purge(this.#now() - graceMs);
    if (n) this.#maybeRebuildPool();
    return n;
  }

  objectCounts(): Record<string, number> {
    return {
      pod: this.pods.liveCount,
      deleted_pod: this.pods.tombstoneCount,
      node: this.nodes.size,
      namespace: this.namespaces.size,
      service: this.svc.services.size,
      endpointslice: this.svc.slices.size,
      job: this.cronJobOfJob.size,
    };
  }

  /**
   * An estimate of the cache's heap bytes from V8's object layout with pointer
   * compression (a small object ≈ 12 B header + 4 B per field, one-byte strings
   * ≈ 16 B + length, a Map entry ≈ 12 B plus its hash-table share). The bench
   * checks it against measured heap.
   */
  estimateBytes(): number {
    const str = (s: string | undefined) => (s === undefined ? 0 : 16 + s.length);
    const arr = (n: number) => 16 + 4 * n;
    const mapEntry = 20;
    let b = 0;
    for (const p of this.pods.byUid.values()) {
      const nIps = addresses(p).length;
      b += 12 + 4 * 15 + str(p.name) + str(p.uid) + (nIps > 1 ? arr(nIps) : 0) + mapEntry * (1 + nIps);
      if (p.tags) b += arr(p.tags.length);
      if (p.attrs) b += arr(p.attrs.length);
    }
    b += (12 + 4 * 6 + arr(2) + mapEntry * 2) * this.nodes.size;
    b += (12 + 4 * 4 + arr(1) + mapEntry * 2) * this.svc.services.size;
    for (const s of this.svc.slices.values()) b += 12 + 4 * 4 + arr(s.ips.length) + mapEntry * (1 + s.ips.length);
    b += (12 + 8 + 40 + mapEntry) * this.cronJobOfJob.size;
    b += (12 + 8 + mapEntry) * this.namespaces.size;
    b += 16 * this.pool.size + this.pool.chars() + mapEntry * this.pool.size;
    return b;
  }

  #maybeRebuildPool(): void {
    const live = this.pods.byUid.size + this.nodes.size + this.svc.services.size + this.svc.slices.size + this.namespaces.size + this.cronJobOfJob.size;
    if (this.pool.size < 1024 || this.pool.size < 2 * live) return;
    // Re-intern everything live so strings of deleted objects can be collected.
    const pool = this.pool;
    pool.clear();
    const tags = (t: string[] | undefined) => t?.forEach((s, i) => { t[i] = pool.intern(s); });
    for (const p of this.pods.byUid.values()) {
      p.namespace = pool.intern(p.namespace);
      p.node = pool.intern(p.node);
      p.workloadKind = pool.intern(p.workloadKind);
      if (p.workloadKind !== 'Pod') p.workloadName = pool.intern(p.workloadName);
      tags(p.tags);
      p.attrs = undefined;
    }
    for (const n of this.nodes.values()) { n.name = pool.intern(n.name); tags(n.tags); n.attrs = undefined; }
    this.svc.reintern();
    for (const [k, v] of this.namespaces) { pool.intern(k); tags(v.tags); }
    for (const v of this.cronJobOfJob.values()) v.cronJob = pool.intern(v.cronJob);
  }
}
