// One measurement of bench/k8s-cache.bench.ts in a process of its own (so RSS
// is clean): feeds N realistic pods (list pages as JSON, parsed as the client
// would) into either the compact cache or a naive cache of the full objects
// (pods + one ReplicaSet per 5 pods, as an owner-resolving informer keeps),
// then measures heap and RSS after GC, and lookups per second of both ends of
// flows between random pods.
//
// Usage: node --expose-gc bench/k8s-cache.child.ts compact|naive|empty <pods>
// Prints one JSON line.

import { annotateBatch } from '../src/processor/k8s_attributes/annotate.ts';
import { K8sCache } from '../src/processor/k8s_attributes/cache.ts';
import { CidrLabels } from '../src/processor/k8s_attributes/cidr-labels.ts';
import { METADATA_NAMES } from '../src/processor/k8s_attributes/attribute-names.ts';
import { compileTagRules } from '../src/processor/k8s_attributes/tag-rules.ts';
import { FlowBatch } from '../src/pdata/flow-batch.ts';
import { StringTable } from '../src/pdata/string-table.ts';
import { formatAddress, writeAddress } from '../src/pdata/ip-address.ts';
import { pod, node, namespace } from '../test/support/fake-kube-apiserver/objects.ts';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- parsed API JSON

const mode = process.argv[2] as 'compact' | 'naive' | 'empty';
const n = Number(process.argv[3]);
const gc = (globalThis as { gc?: () => void }).gc!;
const PAGE = 500;
const NAMESPACES = 50;
const NODES = Math.max(3, Math.ceil(n / 100));

function ipOf(i: number): string {
  return `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

/** Pod i: Deployment d = i/25 with 5 ReplicaSets (one per 5 pods), realistic labels/annotations. */
function makePod(i: number): Obj {
  const d = Math.floor(i / 25);
  const rs = Math.floor(i / 5);
  const hash = (rs * 2654435761 >>> 0).toString(36).slice(0, 10).padEnd(10, 'x');
  const ns = `team-${d % NAMESPACES}`;
  return pod({
    namespace: ns, name: `app-${d}-${hash}-${(i * 7919).toString(36).slice(-5)}`, ip: ipOf(i), node: `node-${i % NODES}`,
    owner: { kind: 'ReplicaSet', name: `app-${d}-${hash}` },
    labels: { 'pod-template-hash': hash, 'app.kubernetes.io/name': `app-${d}`, 'app.kubernetes.io/version': '1.4.2', 'app.kubernetes.io/part-of': ns, 'security.istio.io/tlsMode': 'istio' },
    annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090', 'kubectl.kubernetes.io/default-container': 'app' },
    uid: `${(i + 0x10000000).toString(16)}-1111-4222-8333-${(i + 0x100000000000).toString(16).slice(-12)}`,
  });
}

function makeReplicaSet(r: number): Obj {
  const p = makePod(r * 5);
  return {
    kind: 'ReplicaSet', apiVersion: 'apps/v1',
    metadata: { ...p.metadata, name: p.metadata.ownerReferences[0].name, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: `app-${Math.floor(r / 5)}`, uid: 'x', controller: true }] },
    spec: { replicas: 5, selector: { matchLabels: p.metadata.labels }, template: { metadata: { labels: p.metadata.labels }, spec: p.spec } },
    status: { replicas: 5, readyReplicas: 5, availableReplicas: 5, observedGeneration: 3 },
  };
}

/** Objects as they arrive: a JSON page parsed, one page at a time. */
function* pages(count: number, make: (i: number) => Obj): Generator<Obj[]> {
  for (let s = 0; s < count; s += PAGE) {
    const items: Obj[] = [];
    for (let i = s; i < Math.min(count, s + PAGE); i++) items.push(make(i));
    yield (JSON.parse(JSON.stringify({ items })) as { items: Obj[] }).items;
  }
}

function mem() {
  gc(); gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss, heapTotal: m.heapTotal, external: m.external };
}

/**
 * A node's view: sources are this node's ~110 pods, destinations the 2,000
 * busiest pods of the cluster (Services' backends), as flows concentrate.
 */
function flowBatch(rows: number, seed: number): FlowBatch {
  const b = new FlowBatch(rows);
  let x = seed;
  const rnd = (m: number) => ((x = (x * 1103515245 + 12345) & 0x7fffffff) % m);
  const local = Math.min(110, n);
  const busy = Math.min(2000, n);
  for (let r = 0; r < rows; r++) {
    const i = b.addRow();
    writeAddress(b.srcAddr, i * 16, ipOf(rnd(local) * NODES % n));
    writeAddress(b.dstAddr, i * 16, ipOf((rnd(busy) * 48271) % n));
    b.protocol[i] = 6;
  }
  return b;
}

const base = mem();
let ingested = base;
let lookupsPerSec = 0;
let estimate = 0;
let keep: unknown;

if (mode === 'compact') {
  const cache = new K8sCache({ metadata: METADATA_NAMES, tagRules: compileTagRules({ metadata: [...METADATA_NAMES], labels: [{ key: 'app.kubernetes.io/name', from: 'pod', tag_name: undefined, key_regex: undefined }], annotations: [] }) });
  // In a function, so the last parsed page is not kept alive by this scope.
  (() => {
    const h = cache.handler('pods');
    h.beginSync();
    for (const page of pages(n, makePod)) for (const o of page) h.upsert(o);
    h.endSync();
  })();
  const nh = cache.handler('nodes');
  for (let i = 0; i < NODES; i++) nh.upsert(node(`node-${i}`, `192.168.${i >> 8}.${i & 255}`));
  const nsh = cache.handler('namespaces');
  for (let i = 0; i < NAMESPACES; i++) nsh.upsert(namespace(`team-${i}`));
  ingested = mem();
  const ctx = { cache, cidr: new CidrLabels({}), dns: undefined, wantService: true, wantNamespace: true, bindings: new Map(), now: Date.now };
  // Lookups: fresh batches (the per-batch cache only helps within one batch).
  const rows = 20_000;
  const batches = Array.from({ length: 4 }, (_, k) => flowBatch(rows, k + 1));
  let done = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 1500) {
    const b = batches[done % batches.length]!;
    b.attributes.clear();
    b.strings = new StringTable(); // a fresh batch's table, as every receiver batch has
    annotateBatch(b, ctx);
    done++;
  }
  lookupsPerSec = (done * rows * 2) / ((performance.now() - t0) / 1000);
  batches.length = 0;
  estimate = cache.estimateBytes();
  keep = cache;
} else if (mode === 'naive') {
  const pods = new Map<string, Obj>();
  const byIp = new Map<string, Obj>();
  const rsByKey = new Map<string, Obj>();
  (() => {
    for (const page of pages(n, makePod)) for (const o of page) { pods.set(o.metadata.uid, o); byIp.set(o.status.podIP, o); }
    for (const page of pages(Math.ceil(n / 5), makeReplicaSet)) for (const o of page) rsByKey.set(`${o.metadata.namespace}/${o.metadata.name}`, o);
  })();
  ingested = mem();
  const rows = 20_000;
  const batches = Array.from({ length: 4 }, (_, k) => flowBatch(rows, k + 1));
  let done = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 1500) {
    const b = batches[done % batches.length]!;
    b.attributes.clear();
    b.strings = new StringTable();
    for (let r = 0; r < b.length; r++) {
      for (const [side, buf] of [['source', b.srcAddr], ['destination', b.dstAddr]] as const) {
        const p = byIp.get(formatAddress(buf, r * 16));
        if (!p) continue;
        const owner = p.metadata.ownerReferences?.[0];
        const rs = owner ? rsByKey.get(`${p.metadata.namespace}/${owner.name}`) : undefined;
        const dep = rs?.metadata.ownerReferences?.[0]?.name;
        b.setAttribute(r, `${side}.k8s.namespace.name`, p.metadata.namespace);
        b.setAttribute(r, `${side}.k8s.pod.name`, p.metadata.name);
        b.setAttribute(r, `${side}.k8s.pod.uid`, p.metadata.uid);
        b.setAttribute(r, `${side}.k8s.node.name`, p.spec.nodeName);
        if (dep) b.setAttribute(r, `${side}.k8s.deployment.name`, dep);
      }
    }
    done++;
  }
  lookupsPerSec = (done * rows * 2) / ((performance.now() - t0) / 1000);
  batches.length = 0;
  keep = [pods, byIp, rsByKey];
}

const after = mem();
process.stdout.write(JSON.stringify({
  mode, n,
  // The cache itself: heap growth and RSS right after the list is in (before lookups).
  heapBytes: ingested.heap - base.heap, rss: ingested.rss, baseRss: base.rss,
  // After a second and a half of lookups (attribute lists built for the pods seen).
  heapBytesAfterLookups: after.heap - base.heap, rssAfterLookups: after.rss,
  maxRss: process.resourceUsage().maxRSS * 1024,
  lookupsPerSec, estimate,
}) + '\n');
void keep;
