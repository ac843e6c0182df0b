// FlowBatch: the columnar unit that moves between pipeline stages.
//
// One row is one directed flow edge (source → destination) observed over the
// batch's interval, with counters for what the source sent. Columns are typed
// arrays so the hot path allocates no object per flow, and every column owns its
// own ArrayBuffer so a batch can be transferred to a worker thread without a copy
// (see `transferList()` and `toTransfer()` / `fromTransfer()`).
//
// Addresses are 16 bytes per row: IPv6 as is, IPv4 as the v4-mapped form
// ::ffff:a.b.c.d, with `family` telling which one the flow really was.
// Names (Kubernetes attributes, labels, ...) live in a per-batch string table;
// an attribute column holds indexes into it, NO_STRING where unset.

import { aggregationArrays, copyAggregation, type FlowAggregation } from './flow-aggregation.ts';
import { releaseLargeBuffer } from './release-large-buffer.ts';
import { StringTable } from './string-table.ts';

export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

/** Row flags (bit set). */
export const FLAG_SOURCE_IS_CLIENT = 1 << 0; // TCP: the source end opened the connection
export const FLAG_OBSERVER_DESTINATION = 1 << 1; // reported by the destination's node
export const FLAG_HAS_ORIGINAL_DST = 1 << 2; // NAT: origDstAddr/origDstPort are set
export const FLAG_CONNECTION_ENDED = 1 << 3; // the connection closed or failed in this interval
export const FLAG_HAS_ORIGINAL_SRC = 1 << 4; // SNAT: origSrcAddr/origSrcPort are set

export const NO_STRING = -1;

/** Counter columns, all Float64 so byte counts stay exact past 2^32 (exact to 2^53). */
export const COUNTER_COLUMNS = [
  'bytes',
  'packets',
  'retransmits',
  'resets',
  'opened',
  'failed',
  'closed',
  'rttUs', // smoothed RTT sample in microseconds, 0 = no sample
  'durationMs', // connection duration for closed connections, 0 = none
  'connectUs', // TCP handshake time (connect() to ESTABLISHED) in microseconds, client → server edge, 0 = none
  'drops', // packets of this edge the kernel dropped (row attribute drop.reason says why)
  'dropBytes', // bytes of those packets
  'dnsRequests', // DNS lookups the source (client) made to the destination (server)
  'dnsDurationUs', // DNS response time sample in microseconds (one lookup per row), 0 = none (unanswered)
] as const;
export type CounterColumn = (typeof COUNTER_COLUMNS)[number];

export interface FlowBatchTransfer {
  length: number;
  capacity: number;
  startTimeMs: number;
  endTimeMs: number;
  family: Uint8Array;
  protocol: Uint8Array;
  flags: Uint8Array;
  srcAddr: Uint8Array;
  dstAddr: Uint8Array;
  origDstAddr: Uint8Array;
  origSrcAddr: Uint8Array;
  srcPort: Uint16Array;
  dstPort: Uint16Array;
  origDstPort: Uint16Array;
  origSrcPort: Uint16Array;
  counters: Record<CounterColumn, Float64Array>;
  strings: string[];
  attributes: Record<string, Int32Array>;
  /** Set on batches reduced by flow_aggregate (see flow-aggregation.ts). */
  aggregation?: FlowAggregation;
}

export class FlowBatch {
  length = 0;
  capacity: number;
  /** Interval the counters cover, Unix milliseconds. */
  startTimeMs = 0;
  endTimeMs = 0;

  family: Uint8Array;
  protocol: Uint8Array;
  flags: Uint8Array;
  srcAddr: Uint8Array;
  dstAddr: Uint8Array;
  origDstAddr: Uint8Array;
  origSrcAddr: Uint8Array;
  srcPort: Uint16Array;
  dstPort: Uint16Array;
  origDstPort: Uint16Array;
  origSrcPort: Uint16Array;
  counters: Record<CounterColumn, Float64Array>;
  strings: StringTable;
  /** Named string attribute columns, e.g. "source.k8s.pod.name". */
  attributes: Map<string, Int32Array>;
  /** Set on batches reduced by flow_aggregate: one row per group (see flow-aggregation.ts). */
  aggregation: FlowAggregation | undefined = undefined;

  constructor(capacity = 1024) {
    this.capacity = Math.max(1, capacity | 0);
    const n = this.capacity;
    this.family = new Uint8Array(n);
    this.protocol = new Uint8Array(n);
    this.flags = new Uint8Array(n);
    this.srcAddr = new Uint8Array(n * 16);
    this.dstAddr = new Uint8Array(n * 16);
    this.origDstAddr = new Uint8Array(n * 16);
    this.origSrcAddr = new Uint8Array(n * 16);
    this.srcPort = new Uint16Array(n);
    this.dstPort = new Uint16Array(n);
    this.origDstPort = new Uint16Array(n);
    this.origSrcPort = new Uint16Array(n);
    this.counters = Object.fromEntries(
      COUNTER_COLUMNS.map((c) => [c, new Float64Array(n)]),
    ) as Record<CounterColumn, Float64Array>;
    this.strings = new StringTable();
    this.attributes = new Map();
  }

  /** Appends an empty row and returns its index; grows the columns as needed. */
  addRow(): number {
    if (this.length === this.capacity) this.grow(this.capacity * 2);
    const i = this.length++;
    this.family[i] = 4;
    this.protocol[i] = 0;
    this.flags[i] = 0;
    this.srcAddr.fill(0, i * 16, i * 16 + 16);
    this.dstAddr.fill(0, i * 16, i * 16 + 16);
    this.origDstAddr.fill(0, i * 16, i * 16 + 16);
    this.origSrcAddr.fill(0, i * 16, i * 16 + 16);
    this.srcPort[i] = 0;
    this.dstPort[i] = 0;
    this.origDstPort[i] = 0;
    this.origSrcPort[i] = 0;
    for (const c of COUNTER_COLUMNS) this.counters[c][i] = 0;
    for (const col of this.attributes.values()) col[i] = NO_STRING;
    return i;
  }

  /** The attribute column for `key`, created (all unset) on first use. */
  attributeColumn(key: string): Int32Array {
    let col = this.attributes.get(key);
    if (!col) {
      col = new Int32Array(this.capacity).fill(NO_STRING);
      this.attributes.set(key, col);
    }
    return col;
  }

  /**
   * A new attribute column for a caller that writes every row [0, length) of
   * it at once (k8s_attributes' names), so not prefilled as attributeColumn()
   * does. Rows past `length` need no value yet: whatever adds rows writes
   * every column of them (addRow, appendRows, grow). Receivers leave room for
   * more rows (capacity up to twice the rows), whose pages of a column are
   * then never touched, and the rows written are written once, not twice:
   * the synthetic receiver's 54k-row intervals (capacity 76k) carry ~1.7 MiB
   * less of names, and bench/pipeline.bench.ts' naming step took ~10% less
   * CPU (3 interleaved pairs: 561-579 vs 609-653 ms over 40 intervals).
   */
  newAttributeColumn(key: string): Int32Array {
    if (this.attributes.has(key)) throw new Error(`attribute column ${key} exists already`);
    const col = new Int32Array(this.capacity);
    this.attributes.set(key, col);
    return col;
  }

  setAttribute(row: number, key: string, value: string): void {
    this.attributeColumn(key)[row] = this.strings.intern(value);
  }

  getAttribute(row: number, key: string): string | undefined {
    const col = this.attributes.get(key);
    if (!col) return undefined;
    const idx = col[row]!;
    return idx === NO_STRING ? undefined : this.strings.get(idx);
  }

  grow(capacity: number): void {
    const n = Math.max(capacity, this.length, 1); // a released batch has capacity 0
    const g8 = (a: Uint8Array, w = 1) => {
      const b = new Uint8Array(n * w);
      b.set(a.subarray(0, this.length * w));
      return b;
    };
    const g16 = (a: Uint16Array) => {
      const b = new Uint16Array(n);
      b.set(a.subarray(0, this.length));
      return b;
    };
    this.family = g8(this.family);
    this.protocol = g8(this.protocol);
    this.flags = g8(this.flags);
    this.srcAddr = g8(this.srcAddr, 16);
    this.dstAddr = g8(this.dstAddr, 16);
    this.origDstAddr = g8(this.origDstAddr, 16);
    this.origSrcAddr = g8(this.origSrcAddr, 16);
    this.srcPort = g16(this.srcPort);
    this.dstPort = g16(this.dstPort);
    this.origDstPort = g16(this.origDstPort);
    this.origSrcPort = g16(this.origSrcPort);
    for (const c of COUNTER_COLUMNS) {
      const b = new Float64Array(n);
      b.set(this.counters[c].subarray(0, this.length));
      this.counters[c] = b;
    }
    for (const [k, col] of this.attributes) {
      const b = new Int32Array(n).fill(NO_STRING);
      b.set(col.subarray(0, this.length));
      this.attributes.set(k, b);
    }
    this.capacity = n;
  }

  /** A deep copy, for a consumer that mutates or keeps the batch. */
  clone(): FlowBatch {
    return FlowBatch.fromTransfer(copyTransfer(this.toTransfer()));
  }

  /** The plain object form; its typed arrays are this batch's own (no copy). */
  toTransfer(): FlowBatchTransfer {
    return {
      length: this.length,
      capacity: this.capacity,
      startTimeMs: this.startTimeMs,
      endTimeMs: this.endTimeMs,
      family: this.family,
      protocol: this.protocol,
      flags: this.flags,
      srcAddr: this.srcAddr,
      dstAddr: this.dstAddr,
      origDstAddr: this.origDstAddr,
      origSrcAddr: this.origSrcAddr,
      srcPort: this.srcPort,
      dstPort: this.dstPort,
      origDstPort: this.origDstPort,
      origSrcPort: this.origSrcPort,
      counters: this.counters,
      strings: this.strings.values(),
      attributes: Object.fromEntries(this.attributes),
      ...(this.aggregation ? { aggregation: this.aggregation } : {}),
    };
  }

  /** The ArrayBuffers to pass as postMessage's transfer list (detaches them here). */
  transferList(): ArrayBuffer[] {
    return columnArrays(this).map((a) => a.buffer as ArrayBuffer);
  }

  /**
   * Frees the memory of every column now and leaves the batch empty. Only for
   * the stage that made the batch (with `new FlowBatch`: its columns are its
   * own), once the consume() it passed the batch to has settled: a stage that
   * keeps a batch past consume() copies it (ARCHITECTURE.md), so nothing reads
   * it any more. Left to the garbage collector, an interval's batch (~16 MiB
   * with names at 50k flows) stays resident until V8 runs a full collection,
   * which it starts only when the external memory has grown by tens of MiB:
   * `podflow run` at 50k active flows (synthetic → flow_aggregate →
   * otlp_http) peaked at 199 MiB RSS in its first minute without this and
   * at 152 MiB with it.
   */
  release(): void {
    for (const buffer of this.transferList()) releaseLargeBuffer(buffer);
    empty(this);
  }

  /**
   * Hands this batch's columns over without a copy and leaves the batch
   * empty: for a consumer that may write to the batch (`mutatesData`, so the
   * fan-out gave it the batch alone) and moves it to another thread
   * (flow_aggregate with one worker transfers it instead of copying the rows
   * it needs). Undefined, and the batch untouched, unless every column is the
   * whole of an ArrayBuffer of its own (a view into a buffer other views
   * share, as a slice of a bigger batch would be, cannot move alone).
   */
  moveOut(): { transfer: FlowBatchTransfer; transferList: ArrayBuffer[] } | undefined {
    const views = columnArrays(this);
    const list = views.map((v) => v.buffer as ArrayBuffer);
    if (new Set(list).size !== list.length) return undefined;
    for (const v of views) {
      if (!(v.buffer instanceof ArrayBuffer) || v.byteOffset !== 0 || v.byteLength !== v.buffer.byteLength) return undefined;
    }
    // Its own counters object: emptying this batch replaces the columns in this one.
    const transfer = { ...this.toTransfer(), counters: { ...this.counters } };
    empty(this);
    return { transfer, transferList: list };
  }

  static fromTransfer(t: FlowBatchTransfer): FlowBatch {
    const b = Object.create(FlowBatch.prototype) as FlowBatch;
    b.length = t.length;
    b.capacity = t.capacity;
    b.startTimeMs = t.startTimeMs;
    b.endTimeMs = t.endTimeMs;
    b.family = t.family;
    b.protocol = t.protocol;
    b.flags = t.flags;
    b.srcAddr = t.srcAddr;
    b.dstAddr = t.dstAddr;
    b.origDstAddr = t.origDstAddr;
    b.origSrcAddr = t.origSrcAddr;
    b.srcPort = t.srcPort;
    b.dstPort = t.dstPort;
    b.origDstPort = t.origDstPort;
    b.origSrcPort = t.origSrcPort;
    b.counters = t.counters;
    b.strings = StringTable.from(t.strings);
    b.attributes = new Map(Object.entries(t.attributes));
    b.aggregation = t.aggregation;
    return b;
  }
}

/** Every typed array of `b`: its columns, and the aggregation's when it has one. */
function columnArrays(b: FlowBatch): ArrayBufferView[] {
  return [
    b.family, b.protocol, b.flags, b.srcAddr, b.dstAddr, b.origDstAddr, b.origSrcAddr,
    b.srcPort, b.dstPort, b.origDstPort, b.origSrcPort,
    ...Object.values(b.counters), ...b.attributes.values(),
    ...(b.aggregation ? aggregationArrays(b.aggregation) : []),
  ];
}

/**
 * No rows and no columns (capacity 0: the next row grows it). A function, not
 * a private method: batches made by fromTransfer() bypass the constructor.
 */
function empty(b: FlowBatch): void {
  b.length = 0;
  b.capacity = 0;
  b.family = b.protocol = b.flags = new Uint8Array(0);
  b.srcAddr = b.dstAddr = b.origDstAddr = b.origSrcAddr = new Uint8Array(0);
  b.srcPort = b.dstPort = b.origDstPort = b.origSrcPort = new Uint16Array(0);
  for (const c of COUNTER_COLUMNS) b.counters[c] = new Float64Array(0);
  b.attributes.clear();
  b.strings = new StringTable();
  b.aggregation = undefined;
}

function copyTransfer(t: FlowBatchTransfer): FlowBatchTransfer {
  const counters = Object.fromEntries(
    Object.entries(t.counters).map(([k, v]) => [k, v.slice()]),
  ) as Record<CounterColumn, Float64Array>;
  const attributes = Object.fromEntries(
    Object.entries(t.attributes).map(([k, v]) => [k, v.slice()]),
  );
  return {
    ...t,
    family: t.family.slice(),
    protocol: t.protocol.slice(),
    flags: t.flags.slice(),
    srcAddr: t.srcAddr.slice(),
    dstAddr: t.dstAddr.slice(),
    origDstAddr: t.origDstAddr.slice(),
    origSrcAddr: t.origSrcAddr.slice(),
    srcPort: t.srcPort.slice(),
    dstPort: t.dstPort.slice(),
    origDstPort: t.origDstPort.slice(),
    origSrcPort: t.origSrcPort.slice(),
    counters,
    strings: t.strings.slice(),
    attributes,
    ...(t.aggregation ? { aggregation: copyAggregation(t.aggregation) } : {}),
  };
}
