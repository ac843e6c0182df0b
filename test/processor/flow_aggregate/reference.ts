// The straightforward single-threaded aggregation the worker implementation is
// checked against: one row at a time, through readFlow() and a string key, the
// slow obvious way. Plus a seeded generator of random flow batches.

import { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { appendFlow, readFlow } from '../../../src/pdata/flow-record.ts';
import { builtinValue, isBuiltinKey, type BuiltinKey } from '../../../src/pdata/flow-attribute-keys.ts';
import {
  ADDITIVE_COLUMNS, DEFAULT_HISTOGRAM_BOUNDARIES, HISTOGRAM_COLUMNS, type HistogramColumn,
} from '../../../src/pdata/flow-aggregation.ts';
import { rng } from '../../support/seeded-random.ts';

export interface RefHistogram { count: number; sum: number; min: number; max: number; buckets: number[] }
export interface RefGroup { counters: Record<string, number>; histograms: Record<HistogramColumn, RefHistogram> }
export type RefResult = Map<string, RefGroup>;

function emptyGroup(): RefGroup {
  const counters: Record<string, number> = {};
  for (const c of ADDITIVE_COLUMNS) counters[c] = 0;
  const histograms = {} as Record<HistogramColumn, RefHistogram>;
  for (const c of HISTOGRAM_COLUMNS) {
    histograms[c] = { count: 0, sum: 0, min: Infinity, max: -Infinity, buckets: new Array<number>(DEFAULT_HISTOGRAM_BOUNDARIES[c].length + 1).fill(0) };
  }
  return { counters, histograms };
}

/** The group key of row i as text: "name=value" per group_by name, unset values as "∅". */
export function refKey(batch: FlowBatch, i: number, groupBy: readonly string[]): string {
  return groupBy.map((k) => `${k}=${isBuiltinKey(k) ? refBuiltin(batch, i, k) : batch.getAttribute(i, k) ?? '∅'}`).join('|');
}

/** Built-ins as flow_aggregate keys them: the client end's port is 0 (see group-key.ts). */
function refBuiltin(batch: FlowBatch, i: number, k: BuiltinKey): string {
  if (batch.aggregation) return builtinValue(batch, i, k); // already keyed
  const r = readFlow(batch, i);
  if (k === 'source.port') return r.sourceIsClient ? '0' : String(r.sourcePort);
  if (k === 'destination.port') return r.sourceIsClient ? String(r.destinationPort) : '0';
  return builtinValue(batch, i, k);
}

export function referenceAggregate(batches: readonly FlowBatch[], groupBy: readonly string[], into: RefResult = new Map()): RefResult {
  for (const b of batches) {
    for (let i = 0; i < b.length; i++) {
      const r = readFlow(b, i);
      const key = refKey(b, i, groupBy);
      let g = into.get(key);
      if (!g) into.set(key, (g = emptyGroup()));
      for (const c of ADDITIVE_COLUMNS) g.counters[c] = g.counters[c]! + (r.counters?.[c] ?? 0);
      for (const c of HISTOGRAM_COLUMNS) {
        const v = r.counters?.[c] ?? 0;
        if (v <= 0) continue;
        const h = g.histograms[c];
        h.count++; h.sum += v; h.min = Math.min(h.min, v); h.max = Math.max(h.max, v);
        const bounds = DEFAULT_HISTOGRAM_BOUNDARIES[c];
        let bi = bounds.findIndex((ub) => v <= ub);
        if (bi < 0) bi = bounds.length;
        h.buckets[bi]!++;
      }
    }
  }
  return into;
}

/** Reads a reduced batch back into the reference's shape (also checks it is well-formed). */
export function fromReduced(batch: FlowBatch, into: RefResult = new Map()): RefResult {
  const agg = batch.aggregation;
  if (!agg) throw new Error('reduced batch has no aggregation extension');
  for (let i = 0; i < batch.length; i++) {
    const key = refKey(batch, i, agg.groupBy);
    let g = into.get(key);
    if (!g) into.set(key, (g = emptyGroup()));
    for (const c of ADDITIVE_COLUMNS) g.counters[c] = g.counters[c]! + batch.counters[c][i]!;
    for (const c of HISTOGRAM_COLUMNS) {
      if (batch.counters[c][i] !== 0) throw new Error(`${c} column must be 0 in a reduced batch`);
      const from = agg.histograms[c];
      const h = g.histograms[c];
      const B = from.boundaries.length + 1;
      h.count += from.count[i]!; h.sum += from.sum[i]!;
      h.min = Math.min(h.min, from.min[i]!); h.max = Math.max(h.max, from.max[i]!);
      for (let j = 0; j < B; j++) h.buckets[j]! += from.buckets[i * B + j]!;
    }
  }
  return into;
}

export { rng };

const NAMESPACES = ['default', 'shop', 'kube-system'];
const WORKLOADS = ['web', 'cart', 'db', 'dns', 'auth'];
const KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'];

/** `count` random batches of up to `rows` rows; small value domains so groups repeat. */
export function randomBatches(seed: number, count: number, rows: number): FlowBatch[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out: FlowBatch[] = [];
  for (let b = 0; b < count; b++) {
    const batch = new FlowBatch(8);
    const n = 1 + Math.floor(r() * rows);
    // Drop, DNS and handshake columns are zero on most rows and absent from
    // half the batches, as in real traffic (flow_aggregate skips all-zero columns).
    const rare = r() < 0.5;
    for (let i = 0; i < n; i++) {
      const v6 = r() < 0.2;
      const attrs: Record<string, string> = {};
      if (r() < 0.9) attrs['source.k8s.namespace.name'] = pick(NAMESPACES);
      if (r() < 0.9) attrs['source.k8s.workload.name'] = pick(WORKLOADS);
      if (r() < 0.9) attrs['source.k8s.workload.kind'] = pick(KINDS);
      if (r() < 0.8) attrs['destination.k8s.namespace.name'] = pick(NAMESPACES);
      if (r() < 0.8) attrs['destination.k8s.workload.name'] = pick(WORKLOADS);
      if (r() < 0.8) attrs['destination.k8s.workload.kind'] = pick(KINDS);
      if (r() < 0.3) attrs['destination.k8s.service.name'] = pick(WORKLOADS) + '-svc';
      // A column that no group_by uses, in a random position among the others.
      if (r() < 0.5) attrs['source.k8s.pod.name'] = `pod-${Math.floor(r() * 50)}`;
      const extra: Record<string, number> = {};
      if (rare && r() < 0.1) {
        extra['drops'] = 1 + Math.floor(r() * 5);
        extra['dropBytes'] = 60 + Math.floor(r() * 3000);
        attrs['drop.reason'] = pick(['NO_SOCKET', 'NETFILTER_DROP']);
      }
      if (rare && r() < 0.1) {
        extra['dnsRequests'] = 1;
        if (r() < 0.8) extra['dnsDurationUs'] = r() < 0.2 ? pick(DEFAULT_HISTOGRAM_BOUNDARIES.dnsDurationUs) : 1 + Math.floor(r() * 6_000_000);
        attrs['dns.question.name'] = pick(['db.shop.svc.cluster.local', 'example.com']);
        attrs['dns.response_code'] = pick(['NOERROR', 'NXDOMAIN']);
      }
      if (rare && r() < 0.1) extra['connectUs'] = r() < 0.2 ? pick(DEFAULT_HISTOGRAM_BOUNDARIES.connectUs) : 1 + Math.floor(r() * 6_000_000);
      const rtt = r() < 0.5 ? 0 : r() < 0.2 ? pick(DEFAULT_HISTOGRAM_BOUNDARIES.rttUs) : 1 + Math.floor(r() * 2_000_000);
      const dur = r() < 0.7 ? 0 : r() < 0.2 ? pick(DEFAULT_HISTOGRAM_BOUNDARIES.durationMs) : 1 + Math.floor(r() * 5_000_000);
      appendFlow(batch, {
        transport: r() < 0.7 ? 'tcp' : 'udp',
        sourceAddress: v6 ? `fd00::${1 + Math.floor(r() * 6)}` : `10.244.0.${1 + Math.floor(r() * 6)}`,
        sourcePort: r() < 0.5 ? 30000 + Math.floor(r() * 4) : 30000 + Math.floor(r() * 30000),
        destinationAddress: v6 ? `fd00::1:${1 + Math.floor(r() * 4)}` : `10.244.1.${1 + Math.floor(r() * 4)}`,
        destinationPort: pick([53, 80, 443, 5432]),
        observer: r() < 0.3 ? 'destination' : 'source',
        sourceIsClient: r() < 0.5,
        counters: {
          bytes: Math.floor(r() * 1e9), packets: Math.floor(r() * 1000), retransmits: Math.floor(r() * 3),
          resets: r() < 0.1 ? 1 : 0, opened: r() < 0.2 ? 1 : 0, failed: r() < 0.05 ? 1 : 0, closed: r() < 0.2 ? 1 : 0,
          rttUs: rtt, durationMs: dur, ...extra,
        },
        attributes: attrs,
      });
    }
    out.push(batch);
  }
  return out;
}

/** The first group that differs between two results, described; undefined when equal. */
export function difference(got: RefResult, want: RefResult): string | undefined {
  for (const k of new Set([...got.keys(), ...want.keys()])) {
    const a = JSON.stringify(got.get(k));
    const b = JSON.stringify(want.get(k));
    if (a !== b) return `group ${k}:\n  got  ${a}\n  want ${b}`;
  }
  return undefined;
}

/** A comparable plain form (sorted keys; infinities as strings so tap's same() can compare). */
export function plain(m: RefResult): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k of [...m.keys()].sort()) o[k] = JSON.parse(JSON.stringify(m.get(k), (_k, v) => (v === Infinity || v === -Infinity ? String(v) : v)));
  return o;
}
