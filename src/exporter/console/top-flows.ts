// Rolls flow rows up into edges between workloads (source workload →
// destination workload, server port, transport) over a window, and ranks them.
// Shared by the console exporter, the flows_ui extension and `podflow top`;
// formatting lives in flow-table.ts.
//
// A row's end is named by its workload ("namespace/name"), else its pod, else its
// Service (destination only), else its address. The port is the server's: the
// destination port of a client→server edge, the source port of a reply edge.

import { FLAG_SOURCE_IS_CLIENT, NO_STRING, PROTO_TCP, PROTO_UDP, type FlowBatch } from '../../pdata/flow-batch.ts';
import { formatAddress } from '../../pdata/ip-address.ts';

export const SORT_KEYS = ['bytes', 'packets', 'retransmits', 'failed', 'drops'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface EdgeStats {
  source: string;
  destination: string;
  /** The server's port. */
  port: number;
  transport: 'tcp' | 'udp' | 'other';
  /** True when the source is the server (a reply edge). */
  reply: boolean;
  bytes: number;
  packets: number;
  retransmits: number;
  opened: number;
  failed: number;
  /** Packets the kernel dropped on this edge (any reason). */
  drops: number;
  rttSumUs: number;
  rttSamples: number;
}

/**
 * What the aggregator records beyond the console's columns, for views that filter
 * by namespace or show resets (flows_ui, `podflow top`). A separate type so code
 * that builds plain EdgeStats (tests, other views) needs no change.
 */
export interface EdgeDetail extends EdgeStats {
  /** The namespace of each end; '' when the end is named by its address (or has no namespace). */
  sourceNamespace: string;
  destinationNamespace: string;
  resets: number;
}

export interface EdgeWindow {
  edges: EdgeDetail[];
  /** Rows rolled up. */
  rows: number;
  /** The span the batches covered (0/0 when no batch had a window). */
  startTimeMs: number;
  endTimeMs: number;
}

/** Label ids and ports are packed into one number key: 17 + 17 + 19 bits fit in 2^53. */
const MAX_LABELS = 1 << 17;
const OTHER = '(other)';

export class EdgeAggregator {
  #edges = new Map<number, EdgeDetail>();
  #labelIds = new Map<string, number>();
  #labels: string[] = [];
  #labelNamespaces: string[] = [];
  #rows = 0;
  #start = Infinity;
  #end = -Infinity;

  /** Rolls `batch` in; keeps nothing of it. */
  add(batch: FlowBatch): void {
    if (batch.length === 0) return;
    if (batch.endTimeMs > batch.startTimeMs) {
      this.#start = Math.min(this.#start, batch.startTimeMs);
      this.#end = Math.max(this.#end, batch.endTimeMs);
    }
    const src = new SideNamer(batch, 'source', (l, ns) => this.#id(l, ns));
    const dst = new SideNamer(batch, 'destination', (l, ns) => this.#id(l, ns));
    const c = batch.counters;
    for (let r = 0; r < batch.length; r++) {
      const flags = batch.flags[r]!;
      const sp = batch.srcPort[r]!;
      const dp = batch.dstPort[r]!;
      // Without the client flag, the lower port is taken as the server's.
      const reply = (flags & FLAG_SOURCE_IS_CLIENT) === 0 && sp < dp;
      const proto = batch.protocol[r] === PROTO_TCP ? 0 : batch.protocol[r] === PROTO_UDP ? 1 : 2;
      const portKey = ((reply ? sp : dp) * 4 + proto) * 2 + (reply ? 1 : 0);
      const s = src.id(r);
      const d = dst.id(r);
      const key = (s * MAX_LABELS + d) * 2 ** 19 + portKey;
      let e = this.#edges.get(key);
      if (!e) {
        e = {
          source: this.#labels[s]!, destination: this.#labels[d]!, port: reply ? sp : dp,
          transport: proto === 0 ? 'tcp' : proto === 1 ? 'udp' : 'other', reply,
          bytes: 0, packets: 0, retransmits: 0, opened: 0, failed: 0, drops: 0, rttSumUs: 0, rttSamples: 0,
          sourceNamespace: this.#labelNamespaces[s]!, destinationNamespace: this.#labelNamespaces[d]!, resets: 0,
        };
        this.#edges.set(key, e);
      }
      e.bytes += c.bytes[r]!;
      e.packets += c.packets[r]!;
      e.retransmits += c.retransmits[r]!;
      e.opened += c.opened[r]!;
      e.failed += c.failed[r]!;
      e.drops += c.drops[r]!;
      e.resets += c.resets[r]!;
      const rtt = c.rttUs[r]!;
      if (rtt > 0) {
        e.rttSumUs += rtt;
        e.rttSamples++;
      }
    }
    this.#rows += batch.length;
  }

  /** Returns the window's edges and starts a new window. */
  drain(): EdgeWindow {
    const w: EdgeWindow = {
      edges: [...this.#edges.values()], rows: this.#rows,
      startTimeMs: Number.isFinite(this.#start) ? this.#start : 0, endTimeMs: Number.isFinite(this.#end) ? this.#end : 0,
    };
    this.#edges = new Map();
    this.#labelIds = new Map();
    this.#labels = [];
    this.#labelNamespaces = [];
    this.#rows = 0;
    this.#start = Infinity;
    this.#end = -Infinity;
    return w;
  }

  get pendingRows(): number {
    return this.#rows;
  }

  #id(label: string, namespace: string): number {
    let id = this.#labelIds.get(label);
    if (id === undefined) {
      // Past the key's capacity, further names share one bucket rather than collide.
      if (this.#labels.length >= MAX_LABELS - 1) return this.#id(OTHER, '');
      id = this.#labels.length;
      this.#labels.push(label);
      this.#labelNamespaces.push(namespace);
      this.#labelIds.set(label, id);
    }
    return id;
  }
}

/** Names one end of each row, caching per batch by string-table indexes so most rows build no string. */
class SideNamer {
  readonly #batch: FlowBatch;
  readonly #ns: Int32Array | undefined;
  readonly #workload: Int32Array | undefined;
  readonly #pod: Int32Array | undefined;
  readonly #service: Int32Array | undefined;
  readonly #addr: Uint8Array;
  readonly #cache = new Map<number, number>();
  readonly #intern: (label: string, namespace: string) => number;

  constructor(batch: FlowBatch, side: 'source' | 'destination', intern: (label: string, namespace: string) => number) {
    this.#batch = batch;
    this.#ns = batch.attributes.get(`${side}.k8s.namespace.name`);
    this.#workload = batch.attributes.get(`${side}.k8s.workload.name`);
    this.#pod = batch.attributes.get(`${side}.k8s.pod.name`);
    this.#service = side === 'destination' ? batch.attributes.get('destination.k8s.service.name') : undefined;
    this.#addr = side === 'source' ? batch.srcAddr : batch.dstAddr;
    this.#intern = intern;
  }

  id(r: number): number {
    const name = pick(this.#workload, r, pick(this.#pod, r, pick(this.#service, r, NO_STRING)));
    if (name === NO_STRING) return this.#intern(formatAddress(this.#addr, r * 16), '');
    const ns = this.#ns?.[r] ?? NO_STRING;
    const key = (ns + 1) * 2 ** 26 + name;
    let id = this.#cache.get(key);
    if (id === undefined) {
      const s = this.#batch.strings;
      id = ns === NO_STRING ? this.#intern(s.get(name), '') : this.#intern(`${s.get(ns)}/${s.get(name)}`, s.get(ns));
      this.#cache.set(key, id);
    }
    return id;
  }
}

/** The string index in `col` at row r, or `otherwise` when the column is absent or unset there. */
function pick(col: Int32Array | undefined, r: number, otherwise: number): number {
  const v = col?.[r] ?? NO_STRING;
  return v === NO_STRING ? otherwise : v;
}

/**
 * One window from several (consecutive windows kept by a view that shows a longer
 * span than it drains, as flows_ui does): edges with the same ends, port,
 * transport and direction are summed; the span covers all of them.
 */
export function mergeWindows(windows: readonly EdgeWindow[]): EdgeWindow {
  const edges = new Map<string, EdgeDetail>();
  let rows = 0;
  let start = Infinity;
  let end = -Infinity;
  for (const w of windows) {
    rows += w.rows;
    if (w.endTimeMs > w.startTimeMs) {
      start = Math.min(start, w.startTimeMs);
      end = Math.max(end, w.endTimeMs);
    }
    for (const e of w.edges) {
      const key = `${e.source}\0${e.destination}\0${e.port}\0${e.transport}\0${e.reply ? 1 : 0}`;
      const m = edges.get(key);
      if (!m) {
        edges.set(key, { ...e });
        continue;
      }
      m.bytes += e.bytes;
      m.packets += e.packets;
      m.retransmits += e.retransmits;
      m.opened += e.opened;
      m.failed += e.failed;
      m.drops += e.drops;
      m.resets += e.resets;
      m.rttSumUs += e.rttSumUs;
      m.rttSamples += e.rttSamples;
    }
  }
  return { edges: [...edges.values()], rows, startTimeMs: Number.isFinite(start) ? start : 0, endTimeMs: Number.isFinite(end) ? end : 0 };
}

/** The `n` largest edges by `key`, ties broken by bytes then names so the order is stable. */
export function topEdges<E extends EdgeStats>(edges: readonly E[], key: SortKey, n: number): E[] {
  return [...edges].sort((a, b) =>
    b[key] - a[key] || b.bytes - a.bytes || a.source.localeCompare(b.source)
    || a.destination.localeCompare(b.destination) || a.port - b.port).slice(0, n);
}
