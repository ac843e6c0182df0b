// The hot path: name both ends of every row of a FlowBatch.
//
// Per row and side: one numeric Map key from the 16 address bytes (no string
// per row), one per-batch cache hit for every address already seen in this
// batch, and one Int32Array store per attribute. Everything that involves
// strings (building attribute pairs, interning them into the batch's string
// table, finding the columns) happens once per distinct entity per batch.

import {
  FLAG_CONNECTION_ENDED, FLAG_HAS_ORIGINAL_DST, type FlowBatch,
} from '../../pdata/flow-batch.ts';
import { formatAddress } from '../../pdata/ip-address.ts';
import { addressKeyOf, type AddressKey } from './address-key.ts';
import { CIDR_LABEL_NAME, DOMAIN_NAME, type Side } from './attribute-names.ts';
import type { K8sCache } from './cache.ts';
import type { CidrLabels } from './cidr-labels.ts';
import { PodIndex, type PodEntry } from './pod-index.ts';
import type { ReverseDns } from './reverse-dns.ts';

export interface AnnotateContext {
  /** Undefined in passthrough mode or without an API. */
  cache: K8sCache | undefined;
  cidr: CidrLabels;
  dns: ReverseDns | undefined;
  wantService: boolean;
  wantNamespace: boolean;
  /** Connections bound to a deleted pod until they end (see pod-index.ts). */
  bindings: Map<string, PodEntry>;
  now: () => number;
}

export interface AnnotateStats {
  misses: number;
}

/** What an address resolved to, for the rest of the batch. */
interface Resolution {
  attrs: string[] | undefined;
  /** An IP with history (reused within the grace period): pick per row. */
  history: PodEntry[] | undefined;
  miss: boolean;
}

interface Prepared {
  cols: Int32Array[];
  idx: Int32Array;
}

const NONE: Resolution = { attrs: undefined, history: undefined, miss: true };

export function annotateBatch(batch: FlowBatch, ctx: AnnotateContext): AnnotateStats {
  const stats: AnnotateStats = { misses: 0 };
  const n = batch.length;
  if (n === 0) return stats;
  const now = ctx.now();
  const intervalStart = batch.startTimeMs || now;
  const end = batch.endTimeMs || now;
  const resolved = new Map<AddressKey, Resolution>();
  const prepared: Record<Side, Map<string[], Prepared>> = { source: new Map(), destination: new Map() };
  const svcCol = ctx.wantService && ctx.cache ? batch.attributeColumn('destination.k8s.service.name') : undefined;
  const svcIdx = new Map<string, number>();
  const svcByKey = new Map<AddressKey, string | null>();
  const duration = batch.counters.durationMs;

  // Columns by attribute name per side; keyed by the cache's own name strings
  // (hash computed once), so no "source." + name string is built per entity.
  const columns: Record<Side, Map<string, Int32Array>> = { source: new Map(), destination: new Map() };
  const column = (side: Side, name: string): Int32Array => {
    let c = columns[side].get(name);
    if (c === undefined) columns[side].set(name, (c = batch.attributeColumn(`${side}.${name}`)));
    return c;
  };
  const write = (side: Side, row: number, attrs: string[]) => {
    let p = prepared[side].get(attrs);
    if (p === undefined) {
      const m = attrs.length >> 1;
      p = { cols: new Array<Int32Array>(m), idx: new Int32Array(m) };
      for (let j = 0; j < m; j++) {
        p.cols[j] = column(side, attrs[2 * j]!);
        p.idx[j] = batch.strings.intern(attrs[2 * j + 1]!);
      }
      prepared[side].set(attrs, p);
    }
    const { cols, idx } = p;
    for (let j = 0; j < cols.length; j++) cols[j]![row] = idx[j]!;
  };

  const resolve = (buf: Uint8Array, off: number, key: AddressKey): Resolution => {
    let r = resolved.get(key);
    if (r !== undefined) return r;
    r = resolveAddress(ctx, buf, off, key);
    resolved.set(key, r);
    return r;
  };

  for (let i = 0; i < n; i++) {
    const off = i * 16;
    const flags = batch.flags[i]!;
    const ended = (flags & FLAG_CONNECTION_ENDED) !== 0;
    // When the connection began, if known; else the start of the interval it was seen in.
    const t = ended && duration[i]! > 0 ? end - duration[i]! : intervalStart;
    for (let s = 0; s < 2; s++) {
      const side: Side = s === 0 ? 'source' : 'destination';
      const buf = s === 0 ? batch.srcAddr : batch.dstAddr;
      const key = addressKeyOf(buf, off);
      const r = resolve(buf, off, key);
      if (r.history !== undefined) {
        write(side, i, ctx.cache!.podAttributes(pickFromHistory(ctx, batch, i, side, r.history, t, ended)));
      } else if (r.attrs !== undefined) {
        write(side, i, r.attrs);
      }
      if (r.miss) stats.misses++;
    }
    if (svcCol !== undefined) {
      let name: string | null | undefined;
      if (flags & FLAG_HAS_ORIGINAL_DST) {
        const ok = addressKeyOf(batch.origDstAddr, off);
        name = svcByKey.get(ok);
        if (name === undefined) {
          const vip = ctx.cache!.serviceAtVip(ok);
          name = vip ? vip.name : null;
          svcByKey.set(ok, name);
        }
      }
      if (!name) {
        const dk = addressKeyOf(batch.dstAddr, off);
        name = svcByKey.get(dk);
        if (name === undefined) {
          name = ctx.cache!.serviceAtVip(dk)?.name ?? ctx.cache!.serviceOfBackend(dk) ?? null;
          svcByKey.set(dk, name);
        }
      }
      if (name) {
        let idx = svcIdx.get(name);
        if (idx === undefined) svcIdx.set(name, (idx = batch.strings.intern(name)));
        svcCol[i] = idx;
      }
    }
  }
  return stats;
}

function resolveAddress(ctx: AnnotateContext, buf: Uint8Array, off: number, key: AddressKey): Resolution {
  const c = ctx.cache;
  if (c !== undefined) {
    const slot = c.pods.slot(key);
    if (slot !== undefined) {
      if (Array.isArray(slot)) return { attrs: undefined, history: slot, miss: false };
      return { attrs: c.podAttributes(slot), history: undefined, miss: false };
    }
    // Node IPs, and with them hostNetwork pods: the node's name, never a pod's.
    const node = c.nodeAt(key);
    if (node !== undefined) return { attrs: c.nodeAttributes(node), history: undefined, miss: false };
    const vip = c.serviceAtVip(key);
    if (vip !== undefined) {
      return { attrs: ctx.wantNamespace ? ['k8s.namespace.name', vip.namespace] : undefined, history: undefined, miss: false };
    }
  }
  // Outside the cluster (or not in the cache): CIDR label and reverse DNS.
  let attrs: string[] | undefined;
  const label = ctx.cidr.size ? ctx.cidr.match(buf, off) : undefined;
  if (label !== undefined) attrs = [CIDR_LABEL_NAME, label];
  if (ctx.dns) {
    const name = ctx.dns.lookup(formatAddress(buf, off));
    if (name !== undefined) (attrs ??= []).push(DOMAIN_NAME, name);
  }
  if (c === undefined) return attrs ? { attrs, history: undefined, miss: false } : NONE;
  return { attrs, history: undefined, miss: true };
}

/** The pod an address with history meant for this row (see pod-index.ts). */
function pickFromHistory(
  ctx: AnnotateContext, batch: FlowBatch, i: number, side: Side, history: PodEntry[], t: number, ended: boolean,
): PodEntry {
  const key = connectionKey(batch, i, side);
  let p = ctx.bindings.get(key);
  if (p === undefined) p = PodIndex.pick(history, t);
  if (ended) ctx.bindings.delete(key);
  // A flow that began before the delete keeps the deleted pod until it ends.
  else if (p.deletedAt !== 0) ctx.bindings.set(key, p);
  return p;
}

// Built only for rows whose address was reused within the grace period.
function connectionKey(b: FlowBatch, i: number, side: Side): string {
  const o = i * 16;
  return `${side[0]}${b.protocol[i]}|${addressKeyOf(b.srcAddr, o)}|${b.srcPort[i]}|${addressKeyOf(b.dstAddr, o)}|${b.dstPort[i]}`;
}
