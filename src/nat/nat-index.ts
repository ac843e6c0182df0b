// The NAT join's index: for every translated conntrack entry, its original tuple
// and its reply tuple, so a flow seen with the address the packets carried (a
// Service VIP, an SNAT address) can be resolved to the endpoint that really
// took part. Fed by conntrack records (events and dumps); queried per row.
//
// Only entries whose tuples differ (DNAT or SNAT happened) are kept: a lookup
// that misses means "no NAT", so untranslated connections cost nothing here.
// Destroyed entries linger a while because other receivers may report a
// connection after conntrack forgot it (the ebpf receiver reports closed
// connections at its next interval).

import { FLAG_HAS_ORIGINAL_DST, FLAG_HAS_ORIGINAL_SRC, type FlowBatch } from '../pdata/flow-batch.ts';
import { OFF_ORIG_DST, OFF_ORIG_SRC, REC_DESTROY, RECORD_SIZE, RF_HAS_REPLY, type RecordView } from '../native/conntrack-record.ts';
import {
  A_ORIG_DST, A_ORIG_SRC, A_REPLY_DST, A_REPLY_SRC, recordHasReply, recordIsTranslated, tuplesFromRecord, writeForwardEdge,
  writeReverseEdge, type ConnTuples,
} from './conn-tuples.ts';

interface Entry {
  tuples: ConnTuples;
  origKey: string;
  replyKey: string;
  lastSeenMs: number;
  /** 0 while the connection lives; the time it may be forgotten after DESTROY. */
  expiresAt: number;
}

export interface NatIndexOptions {
  /** How long a destroyed entry still answers lookups. */
  lingerMs?: number;
  /** Upper bound on entries; inserts past it are dropped and counted. */
  maxEntries?: number;
  now?: () => number;
}

/** A tuple as a map key: protocol, then address/port of each end. */
export function tupleKey(proto: number, a: Uint8Array, ao: number, ap: number, b: Uint8Array, bo: number, bp: number): string {
  // One flat string in a single call (see RecordView.key for why).
  return String.fromCharCode(proto, ap, bp,
    (a[ao]! << 8) | a[ao + 1]!, (a[ao + 2]! << 8) | a[ao + 3]!, (a[ao + 4]! << 8) | a[ao + 5]!, (a[ao + 6]! << 8) | a[ao + 7]!,
    (a[ao + 8]! << 8) | a[ao + 9]!, (a[ao + 10]! << 8) | a[ao + 11]!, (a[ao + 12]! << 8) | a[ao + 13]!, (a[ao + 14]! << 8) | a[ao + 15]!,
    (b[bo]! << 8) | b[bo + 1]!, (b[bo + 2]! << 8) | b[bo + 3]!, (b[bo + 4]! << 8) | b[bo + 5]!, (b[bo + 6]! << 8) | b[bo + 7]!,
    (b[bo + 8]! << 8) | b[bo + 9]!, (b[bo + 10]! << 8) | b[bo + 11]!, (b[bo + 12]! << 8) | b[bo + 13]!, (b[bo + 14]! << 8) | b[bo + 15]!);
}

export type NatMatch = 'forward' | 'reverse';

export class NatIndex {
  readonly #byOrig = new Map<string, Entry>();
  readonly #byReply = new Map<string, Entry>();
  readonly #lingerMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  #lastSweep = 0;
  #dumpStartMs = 0;
  /** Inserts refused because the index was full. */
  dropped = 0;

  constructor(opts: NatIndexOptions = {}) {
    this.#lingerMs = opts.lingerMs ?? 30_000;
    this.#maxEntries = opts.maxEntries ?? 1_000_000;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#byOrig.size;
  }

  /** Applies every record of a batch (events or dump records). */
  applyRecords(view: RecordView): void {
    const now = this.#now();
    const u = view.bytes;
    for (let i = 0; i < view.count; i++) {
      if (!(view.flags(i) & RF_HAS_REPLY) || !recordIsTranslated(view, i)) continue;
      // Keyed in place; the tuples are copied out only for a new entry.
      const b = i * RECORD_SIZE;
      const origKey = tupleKey(view.proto(i), u, b + OFF_ORIG_SRC, view.origSport(i), u, b + OFF_ORIG_DST, view.origDport(i));
      const destroyed = view.type(i) === REC_DESTROY;
      const e = this.#byOrig.get(origKey);
      if (e) {
        // A new connection on the same original tuple (a client port reused
        // soon after) may have been translated to another backend.
        if (!destroyed && !recordHasReply(e.tuples, view, i)) this.#retranslate(e, tuplesFromRecord(view, i));
        e.lastSeenMs = now;
        e.expiresAt = destroyed ? now + this.#lingerMs : 0;
      } else if (!destroyed) {
        this.#insert(tuplesFromRecord(view, i), origKey, now);
      }
    }
    if (now - this.#lastSweep >= 1000) this.sweep(now);
  }

  /** Adds or refreshes one translated connection (other feeds and tests). */
  upsert(t: ConnTuples): void {
    this.#apply(t, false, this.#now());
  }

  #apply(t: ConnTuples, destroyed: boolean, now: number): void {
    const origKey = tupleKey(t.proto, t.addrs, A_ORIG_SRC, t.origSport, t.addrs, A_ORIG_DST, t.origDport);
    const e = this.#byOrig.get(origKey);
    if (!e) {
      if (!destroyed) this.#insert(t, origKey, now);
      return;
    }
    e.lastSeenMs = now;
    e.expiresAt = destroyed ? now + this.#lingerMs : 0;
  }

  /** A new entry under `origKey` (known absent), unless the index is full. */
  #insert(t: ConnTuples, origKey: string, now: number): void {
    if (this.#byOrig.size >= this.#maxEntries) {
      this.dropped++;
      return;
    }
    const replyKey = tupleKey(t.proto, t.addrs, A_REPLY_SRC, t.replySport, t.addrs, A_REPLY_DST, t.replyDport);
    const e = { tuples: t, origKey, replyKey, lastSeenMs: now, expiresAt: 0 };
    this.#byOrig.set(origKey, e);
    this.#byReply.set(replyKey, e);
  }

  #retranslate(e: Entry, t: ConnTuples): void {
    if (this.#byReply.get(e.replyKey) === e) this.#byReply.delete(e.replyKey);
    e.tuples = t;
    e.replyKey = tupleKey(t.proto, t.addrs, A_REPLY_SRC, t.replySport, t.addrs, A_REPLY_DST, t.replyDport);
    this.#byReply.set(e.replyKey, e);
  }

  /** Forgets every entry (the join has nobody to answer). */
  clear(): void {
    this.#byOrig.clear();
    this.#byReply.clear();
  }

  /** Marks the start of a full dump: entries the dump does not refresh are gone. */
  dumpBegin(): void {
    this.#dumpStartMs = this.#now();
  }

  /** After a complete dump: entries not seen since it began start lingering. */
  dumpEnd(): void {
    const now = this.#now();
    for (const e of this.#byOrig.values()) {
      if (e.expiresAt === 0 && e.lastSeenMs < this.#dumpStartMs) e.expiresAt = now + this.#lingerMs;
    }
  }

  sweep(now = this.#now()): void {
    this.#lastSweep = now;
    for (const e of this.#byOrig.values()) {
      if (e.expiresAt !== 0 && e.expiresAt <= now) {
        this.#byOrig.delete(e.origKey);
        if (this.#byReply.get(e.replyKey) === e) this.#byReply.delete(e.replyKey);
      }
    }
  }

  /**
   * The translated connection a directed flow src → dst belongs to, as the
   * packets carried it on either side of the NAT, and whether the flow runs in
   * the connection's direction (client → server) or against it.
   */
  lookup(proto: number, src: Uint8Array, so: number, sport: number, dst: Uint8Array, dO: number, dport: number):
    { tuples: ConnTuples; match: NatMatch } | undefined {
    // Client side: client → VIP, or VIP → client.
    let e = this.#byOrig.get(tupleKey(proto, src, so, sport, dst, dO, dport));
    if (e) return { tuples: e.tuples, match: 'forward' };
    e = this.#byOrig.get(tupleKey(proto, dst, dO, dport, src, so, sport));
    if (e) return { tuples: e.tuples, match: 'reverse' };
    // Server side: server → SNAT address, or SNAT address → server.
    e = this.#byReply.get(tupleKey(proto, src, so, sport, dst, dO, dport));
    if (e) return { tuples: e.tuples, match: 'reverse' };
    e = this.#byReply.get(tupleKey(proto, dst, dO, dport, src, so, sport));
    if (e) return { tuples: e.tuples, match: 'forward' };
    return undefined;
  }

  /**
   * Resolves NAT in place for every row of `batch` that has no original address
   * yet: the translated endpoint goes to source/destination, the address the
   * packets carried to origSrc/origDst with FLAG_HAS_ORIGINAL_*. Returns the
   * number of rows changed. The caller owns the batch (this mutates it).
   */
  resolveBatch(batch: FlowBatch): number {
    let changed = 0;
    for (let i = 0; i < batch.length; i++) {
      if (batch.flags[i]! & (FLAG_HAS_ORIGINAL_DST | FLAG_HAS_ORIGINAL_SRC)) continue;
      const hit = this.lookup(batch.protocol[i]!, batch.srcAddr, i * 16, batch.srcPort[i]!, batch.dstAddr, i * 16, batch.dstPort[i]!);
      if (!hit) continue;
      if (hit.match === 'forward') writeForwardEdge(batch, i, hit.tuples);
      else writeReverseEdge(batch, i, hit.tuples);
      changed++;
    }
    return changed;
  }
}
