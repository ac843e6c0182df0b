// The hot path: name both ends of every row of a FlowBatch, column by column.
//
// 1. Each row's address on each side becomes a small resolution number: one
//    numeric Map key from the 16 address bytes (no string per row) and one
//    per-batch Map lookup; the cache is asked once per distinct address.
// 2. Per side and attribute name, a table from resolution number to the
//    value's index in the batch's string table is built once per distinct
//    entity; the column is then one load and one store per row.
// 3. The Service name is a function of the destination's resolution, plus a
//    look-up of the original destination on NAT rows only.
// Only addresses with history (an IP reused within the grace period) need a
// choice per row (pickFromHistory), on a slow path of their own. Each pass is
// a function with one loop, so V8 optimises it as a whole (a loop nested in
// another is entered by on-stack replacement and deoptimised on every exit).

import {
  FLAG_CONNECTION_ENDED, FLAG_HAS_ORIGINAL_DST, NO_STRING, type FlowBatch,
} from '../../pdata/flow-batch.ts';
import { fmix32 } from '../../pdata/fmix32.ts';
import { formatAddress } from '../../pdata/ip-address.ts';
import { addressKeyOf, type AddressKey } from './address-key.ts';
import { CIDR_LABEL_NAME, columnName, DOMAIN_NAME, type Side } from './attribute-names.ts';
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

const NONE: Resolution = { attrs: undefined, history: undefined, miss: true };

/**
 * The distinct addresses of one batch, numbered in order of first sight.
 * IPv4 addresses (v4-mapped: nearly every row) are found in an open-addressing
 * table keyed by their last 32-bit word, read in place and spread by fmix32
 * (a multiply alone left the low bits of pod addresses 16 apart equal: ~8
 * probes per row, and twice the time, on the pipeline bench); others through a Map
 * of their AddressKey. The cache is asked once per distinct address.
 */
class BatchResolutions {
  readonly list: Resolution[] = [];
  readonly keys: AddressKey[] = [];
  readonly #byKey = new Map<AddressKey, number>();
  readonly #resolve: (addrs: Uint8Array, off: number, key: AddressKey) => Resolution;
  #v4Words = new Int32Array(1024);
  #v4Slots = new Int32Array(1024); // resolution number + 1; 0 = empty
  #v4Count = 0;

  /** `resolve`: what an address is, asked once per distinct address. */
  constructor(resolve: (addrs: Uint8Array, off: number, key: AddressKey) => Resolution) {
    this.#resolve = resolve;
  }

  /**
   * The resolution number of each row's address in `addrs`, into `out`; with
   * `bit`, only of the rows whose `flags` have it (-1 for the others).
   */
  number(addrs: Uint8Array, n: number, out: Int32Array, flags?: Uint8Array, bit = 0): void {
    if ((addrs.byteOffset & 3) !== 0) {
      for (let i = 0; i < n; i++) out[i] = bit !== 0 && (flags![i]! & bit) === 0 ? -1 : this.#numberByKey(addrs, i * 16);
      return;
    }
    const w = new Int32Array(addrs.buffer, addrs.byteOffset, n * 4);
    let words = this.#v4Words;
    let slots = this.#v4Slots;
    let mask = slots.length - 1;
    for (let i = 0; i < n; i++) {
      if (bit !== 0 && (flags![i]! & bit) === 0) {
        out[i] = -1;
        continue;
      }
      const o = i * 4;
      // ::ffff:a.b.c.d: ten zero bytes, then ff ff (the third word, whatever the byte order).
      if (w[o] !== 0 || w[o + 1] !== 0 || w[o + 2] !== V4_MAPPED_WORD) {
        out[i] = this.#numberByKey(addrs, i * 16);
        continue;
      }
      const word = w[o + 3]!;
      let s = fmix32(word) & mask;
      let e = slots[s]!;
      while (e !== 0 && words[s] !== word) {
        s = (s + 1) & mask;
        e = slots[s]!;
      }
      if (e === 0) {
        e = this.#insertV4(addrs, i * 16, word, s) + 1;
        // The table may have grown.
        words = this.#v4Words;
        slots = this.#v4Slots;
        mask = slots.length - 1;
      }
      out[i] = e - 1;
    }
  }

  /** A new IPv4 address, at free slot `s` of the table. */
  #insertV4(addrs: Uint8Array, off: number, word: number, s: number): number {
    const r = this.#add(addressKeyOf(addrs, off), addrs, off);
    this.#v4Words[s] = word;
    this.#v4Slots[s] = r + 1;
    if (++this.#v4Count * 2 > this.#v4Slots.length) this.#growV4();
    return r;
  }

  #growV4(): void {
    const words = this.#v4Words;
    const slots = this.#v4Slots;
    this.#v4Words = new Int32Array(words.length * 2);
    this.#v4Slots = new Int32Array(slots.length * 2);
    const mask = this.#v4Slots.length - 1;
    for (let k = 0; k < slots.length; k++) {
      if (slots[k] === 0) continue;
      let s = fmix32(words[k]!) & mask;
      while (this.#v4Slots[s] !== 0) s = (s + 1) & mask;
      this.#v4Words[s] = words[k]!;
      this.#v4Slots[s] = slots[k]!;
    }
  }

  #numberByKey(addrs: Uint8Array, off: number): number {
    const key = addressKeyOf(addrs, off);
    let r = this.#byKey.get(key);
    if (r === undefined) this.#byKey.set(key, (r = this.#add(key, addrs, off)));
    return r;
  }

  #add(key: AddressKey, addrs: Uint8Array, off: number): number {
    const r = this.list.length;
    this.list.push(this.#resolve(addrs, off, key));
    this.keys.push(key);
    return r;
  }
}

/** Bytes 8..11 of a v4-mapped address (00 00 ff ff) as an Int32 in this machine's byte order. */
const V4_MAPPED_WORD = new Int32Array(Uint8Array.of(0, 0, 0xff, 0xff).buffer)[0]!;

/**
 * Each row's resolution numbers (source, destination), reused from batch to
 * batch: annotateBatch runs on one thread and never re-enters itself, and a
 * new pair of arrays per batch (~430 KiB at 54k rows) would wait for a full
 * garbage collection to be freed once promoted, which a small heap rarely runs.
 */
let rowScratch = new Int32Array(0);

/**
 * Names both ends of every row of `batch`. `wanted`: the attribute columns
 * anything after this stage reads (FlowConsumer.attributesRead); the others
 * are not written. Undefined: all of them.
 */
export function annotateBatch(batch: FlowBatch, ctx: AnnotateContext, wanted?: ReadonlySet<string>): AnnotateStats {
  const stats: AnnotateStats = { misses: 0 };
  const n = batch.length;
  if (n === 0) return stats;
  const res = new BatchResolutions((addrs, off, key) => resolveAddress(ctx, addrs, off, key));
  if (rowScratch.length < 3 * n) rowScratch = new Int32Array(3 * n);
  const src = rowScratch.subarray(0, n);
  const dst = rowScratch.subarray(n, 2 * n);
  res.number(batch.srcAddr, n, src);
  res.number(batch.dstAddr, n, dst);
  const count = res.list.length;
  const miss = new Uint8Array(count);
  let anyHistory = false;
  for (let r = 0; r < count; r++) {
    const x = res.list[r]!;
    if (x.miss) miss[r] = 1;
    if (x.history !== undefined) anyHistory = true;
  }
  stats.misses = countMarked(src, miss, n) + countMarked(dst, miss, n);
  writeSide(batch, 'source', src, res.list, wanted);
  writeSide(batch, 'destination', dst, res.list, wanted);
  if (anyHistory) writeHistory(batch, ctx, src, dst, res.list, wanted);
  if (ctx.wantService && ctx.cache && (!wanted || wanted.has(SERVICE_COLUMN))) {
    writeServices(batch, ctx.cache, dst, rowScratch.subarray(2 * n, 3 * n), res);
  }
  return stats;
}

function countMarked(rows: Int32Array, marked: Uint8Array, n: number): number {
  let c = 0;
  for (let i = 0; i < n; i++) c += marked[rows[i]!]!;
  return c;
}

/**
 * Writes the attributes of every row whose `side` resolved to a fixed set of
 * pairs: per attribute name, a table resolution → string index, then one
 * pass over the rows. Later pairs of a list override earlier ones of the same
 * name, as a row-by-row write would.
 */
function writeSide(batch: FlowBatch, side: Side, rows: Int32Array, list: readonly Resolution[], wanted: ReadonlySet<string> | undefined): void {
  const count = list.length;
  const tables = new Map<string, Int32Array>();
  const skip = skipped(side, wanted);
  for (let r = 0; r < count; r++) {
    const attrs = list[r]!.attrs;
    if (attrs === undefined || list[r]!.history !== undefined) continue;
    for (let j = 0; j + 1 < attrs.length; j += 2) {
      if (skip?.(attrs[j]!)) continue;
      let t = tables.get(attrs[j]!);
      if (t === undefined) tables.set(attrs[j]!, (t = new Int32Array(count).fill(NO_STRING)));
      t[r] = batch.strings.intern(attrs[j + 1]!);
    }
  }
  for (const [name, table] of tables) {
    const column = columnName(side, name);
    // A new column is written on every row, the table's NO_STRING included.
    if (batch.attributes.has(column)) mergeColumn(batch.attributeColumn(column), rows, table, batch.length);
    else setColumn(batch.newAttributeColumn(column), rows, table, batch.length);
  }
}

/** col[i] = table[rows[i]], for a column that holds nothing yet. */
function setColumn(col: Int32Array, rows: Int32Array, table: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) col[i] = table[rows[i]!]!;
}

/** col[i] = table[rows[i]] where that is a value (rows without one keep what they had). */
function mergeColumn(col: Int32Array, rows: Int32Array, table: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = table[rows[i]!]!;
    // keep is -1 where v is NO_STRING (-1; string indexes are ≥ 0), else 0:
    // the old value or v with no branch, which would mispredict where only
    // some entities have the attribute (deployment.name, statefulset.name).
    const keep = v >> 31;
    col[i] = (v & ~keep) | (col[i]! & keep);
  }
}

/** Whether attribute `name` of `side` is left out because nothing reads its column; undefined when every one is written. */
function skipped(side: Side, wanted: ReadonlySet<string> | undefined): ((name: string) => boolean) | undefined {
  if (wanted === undefined) return undefined;
  const memo = new Map<string, boolean>();
  return (name) => {
    let skip = memo.get(name);
    if (skip === undefined) memo.set(name, (skip = !wanted.has(columnName(side, name))));
    return skip;
  };
}

/** The rows whose address has history: the pod is chosen per row (and per connection). */
function writeHistory(
  batch: FlowBatch, ctx: AnnotateContext, src: Int32Array, dst: Int32Array, list: readonly Resolution[], wanted: ReadonlySet<string> | undefined,
): void {
  const skip = { source: skipped('source', wanted), destination: skipped('destination', wanted) };
  const n = batch.length;
  const now = ctx.now();
  const intervalStart = batch.startTimeMs || now;
  const end = batch.endTimeMs || now;
  const duration = batch.counters.durationMs;
  for (let i = 0; i < n; i++) {
    for (let s = 0; s < 2; s++) {
      const history = list[(s === 0 ? src : dst)[i]!]!.history;
      if (history === undefined) continue;
      const side: Side = s === 0 ? 'source' : 'destination';
      const ended = (batch.flags[i]! & FLAG_CONNECTION_ENDED) !== 0;
      // When the connection began, if known; else the start of the interval it was seen in.
      const t = ended && duration[i]! > 0 ? end - duration[i]! : intervalStart;
      const attrs = ctx.cache!.podAttributes(pickFromHistory(ctx, batch, i, side, history, t, ended));
      for (let j = 0; j + 1 < attrs.length; j += 2) {
        if (skip[side]?.(attrs[j]!)) continue;
        batch.attributeColumn(columnName(side, attrs[j]!))[i] = batch.strings.intern(attrs[j + 1]!);
      }
    }
  }
}

const SERVICE_COLUMN = 'destination.k8s.service.name';

/**
 * destination.k8s.service.name: the Service whose ClusterIP a NAT row was
 * sent to, else the Service at (or backed by) the destination address.
 */
function writeServices(batch: FlowBatch, cache: K8sCache, dst: Int32Array, orig: Int32Array, res: BatchResolutions): void {
  const n = batch.length;
  const names = new Map<string, number>();
  const intern = (name: string | undefined): number => {
    if (!name) return NO_STRING;
    let idx = names.get(name);
    if (idx === undefined) names.set(name, (idx = batch.strings.intern(name)));
    return idx;
  };
  // One look-up per distinct address of the batch, whichever side it was seen on.
  const svcOf = new Int32Array(res.list.length);
  for (let r = 0; r < res.list.length; r++) {
    const k = res.keys[r]!;
    svcOf[r] = intern(cache.serviceAtVip(k)?.name ?? cache.serviceOfBackend(k));
  }
  // The NAT rows' original destinations, numbered as the ends are (a Map
  // look-up of each such row's address took ~a third of this function on the
  // pipeline bench, where most rows went through a Service): one look-up per
  // distinct one. Numbered only: nothing else is asked of them (no reverse DNS).
  const vips = new BatchResolutions(() => NONE);
  vips.number(batch.origDstAddr, n, orig, batch.flags, FLAG_HAS_ORIGINAL_DST);
  const svcAtVip = new Int32Array(vips.list.length);
  for (let r = 0; r < vips.list.length; r++) svcAtVip[r] = intern(cache.serviceAtVip(vips.keys[r]!)?.name);
  const col = batch.attributeColumn(SERVICE_COLUMN);
  for (let i = 0; i < n; i++) {
    const o = orig[i]!;
    let v = o < 0 ? NO_STRING : svcAtVip[o]!;
    if (v === NO_STRING) v = svcOf[dst[i]!]!;
    if (v !== NO_STRING) col[i] = v;
  }
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
