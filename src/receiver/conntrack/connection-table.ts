// The conntrack receiver's view of the kernel table: per connection, the last
// counters reported and what is pending for the next interval. Events and dumps
// both feed it; deltas are computed against the last counters seen, so a dump
// after a loss (resync) brings every total back to conntrack's own.
//
// Why each rule:
// - The start dump is a baseline: connections that existed before podflow get
//   their counters recorded, not reported, so the first interval does not carry
//   bytes from before the start.
// - After that, a connection first seen in a dump or an UPDATE/DESTROY had its
//   NEW event lost: it is opened now and reports its full counters.
// - A connection missing from a complete dump that began after it was known is
//   gone (its DESTROY was lost or is still queued): it ends with the counters
//   last seen, and a tombstone keeps them so a late DESTROY adds only the rest.
// - Closed/failed are counted at the first terminal TCP state (TIME_WAIT/CLOSE)
//   or at DESTROY, whichever comes first: TIME_WAIT entries live 120 s, far
//   longer than a collection interval. Failed = never ASSURED/ESTABLISHED.
// - Counters only grow: a dump snapshot older than an event already applied
//   yields no negative delta.

import { PROTO_TCP } from '../../pdata/flow-batch.ts';
import {
  IPS_ASSURED, REC_DESTROY, REC_DUMP, RF_HAS_COUNTERS, RF_HAS_REPLY, RF_HAS_STATUS, RF_HAS_TCP_STATE,
  TCP_CLOSE, TCP_ESTABLISHED, TCP_TIME_WAIT, type RecordView,
} from '../../native/conntrack-record.ts';
import { tuplesFromRecord, type ConnTuples } from '../../nat/conn-tuples.ts';

export interface Conn {
  tuples: ConnTuples;
  zone: number;
  mark: number;
  tcpState: number;
  assured: boolean;
  ended: boolean;
  /** Wall-clock ms when we saw it open; 0 when it predates the start. */
  openedAtMs: number;
  bornSeq: number;
  seenSeq: number;
  // last counters seen
  ob: number; op: number; rb: number; rp: number;
  // pending for the next interval
  dOb: number; dOp: number; dRb: number; dRp: number;
  opened: number; closed: number; failed: number; durationMs: number; endedNow: boolean;
}

interface Tombstone { ob: number; op: number; rb: number; rp: number; expiresAt: number }

export interface TableStats {
  /** Connections ended by a dump sweep because their DESTROY never came. */
  swept: number;
}

export class ConnectionTable {
  readonly #conns = new Map<string, Conn>();
  readonly #tombs = new Map<string, Tombstone>();
  /** Connections with something to report, including ones already removed. */
  #dirty = new Set<Conn>();
  readonly #tombTtlMs: number;
  readonly #now: () => number;
  #dumpSeq = 0;
  #baseline = true;
  readonly stats: TableStats = { swept: 0 };

  constructor(opts: { tombstoneTtlMs: number; now?: () => number }) {
    this.#tombTtlMs = opts.tombstoneTtlMs;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#conns.size;
  }

  dumpBegin(seq: number): void {
    this.#dumpSeq = seq;
  }

  /** End of a dump: the start dump ends the baseline; a complete dump sweeps vanished connections. */
  dumpEnd(seq: number, interrupted: boolean): void {
    const wasBaseline = this.#baseline;
    this.#baseline = false;
    if (interrupted || wasBaseline) return;
    for (const [key, c] of this.#conns) {
      if (c.seenSeq < seq && c.bornSeq < seq) {
        this.stats.swept++;
        if (!c.ended) this.#end(c, this.#now()); // a TIME_WAIT connection was already counted
        this.#remove(key, c);
      }
    }
  }

  applyEvents(view: RecordView): void {
    const now = this.#now();
    for (let i = 0; i < view.count; i++) this.#apply(view, i, now);
  }

  applyDump(view: RecordView): void {
    const now = this.#now();
    for (let i = 0; i < view.count; i++) this.#apply(view, i, now);
  }

  #apply(view: RecordView, i: number, now: number): void {
    if (!(view.flags(i) & RF_HAS_REPLY)) return;
    const type = view.type(i);
    const key = view.key(i);
    let c = this.#conns.get(key);
    if (!c) {
      const tomb = this.#tombs.get(key);
      if (tomb) {
        // Already ended: only a late DESTROY may still add bytes.
        if (type === REC_DESTROY && view.flags(i) & RF_HAS_COUNTERS) this.#lateDestroy(view, i, tomb);
        return;
      }
      const baseline = this.#baseline && type === REC_DUMP;
      c = this.#create(view, i, now, baseline);
      this.#conns.set(key, c);
      if (baseline) {
        this.#takeCounters(c, view, i, false);
        c.seenSeq = this.#dumpSeq;
        c.assured = (view.status(i) & IPS_ASSURED) !== 0;
        // Already closing before we started: its end is not ours to report.
        c.ended = c.tcpState === TCP_TIME_WAIT || c.tcpState === TCP_CLOSE;
        return;
      }
      if (c.tuples.proto === PROTO_TCP) {
        c.opened = 1;
        this.#dirty.add(c);
      }
      // A non-NEW record for an unknown connection: its NEW was lost; it started at zero.
    }
    if (type === REC_DUMP) c.seenSeq = this.#dumpSeq;
    const flags = view.flags(i);
    if (flags & RF_HAS_STATUS && view.status(i) & IPS_ASSURED) c.assured = true;
    if (flags & RF_HAS_TCP_STATE) {
      c.tcpState = view.tcpState(i);
      if (c.tcpState === TCP_ESTABLISHED) c.assured = true;
    }
    if (flags & RF_HAS_COUNTERS) this.#takeCounters(c, view, i, true);
    if (c.tuples.proto === PROTO_TCP && !c.ended && (c.tcpState === TCP_TIME_WAIT || c.tcpState === TCP_CLOSE)) {
      this.#end(c, now);
    }
    if (type === REC_DESTROY) {
      if (!c.ended) this.#end(c, now);
      this.#remove(key, c);
    }
  }

  #create(view: RecordView, i: number, now: number, baseline: boolean): Conn {
    return {
      tuples: tuplesFromRecord(view, i),
      zone: view.zone(i),
      mark: view.mark(i),
      tcpState: view.tcpState(i),
      assured: false,
      ended: false,
      openedAtMs: baseline ? 0 : now,
      bornSeq: this.#dumpSeq,
      seenSeq: view.type(i) === REC_DUMP ? this.#dumpSeq : 0,
      ob: 0, op: 0, rb: 0, rp: 0,
      dOb: 0, dOp: 0, dRb: 0, dRp: 0,
      opened: 0, closed: 0, failed: 0, durationMs: 0, endedNow: false,
    };
  }

  #takeCounters(c: Conn, view: RecordView, i: number, report: boolean): void {
    const ob = view.origBytes(i), op = view.origPackets(i), rb = view.replyBytes(i), rp = view.replyPackets(i);
    if (report) {
      const dOb = ob - c.ob, dOp = op - c.op, dRb = rb - c.rb, dRp = rp - c.rp;
      if (dOb > 0) c.dOb += dOb;
      if (dOp > 0) c.dOp += dOp;
      if (dRb > 0) c.dRb += dRb;
      if (dRp > 0) c.dRp += dRp;
      if (dOb > 0 || dOp > 0 || dRb > 0 || dRp > 0) this.#dirty.add(c);
    }
    if (ob > c.ob) c.ob = ob;
    if (op > c.op) c.op = op;
    if (rb > c.rb) c.rb = rb;
    if (rp > c.rp) c.rp = rp;
    const m = view.mark(i);
    if (m !== 0) c.mark = m;
  }

  #lateDestroy(view: RecordView, i: number, t: Tombstone): void {
    const ob = view.origBytes(i), op = view.origPackets(i), rb = view.replyBytes(i), rp = view.replyPackets(i);
    if (ob <= t.ob && op <= t.op && rb <= t.rb && rp <= t.rp) return;
    // A late DESTROY for a connection already swept: report only what grew.
    const c = this.#create(view, i, this.#now(), true);
    c.ended = true;
    c.dOb = Math.max(0, ob - t.ob); c.dOp = Math.max(0, op - t.op);
    c.dRb = Math.max(0, rb - t.rb); c.dRp = Math.max(0, rp - t.rp);
    t.ob = Math.max(ob, t.ob); t.op = Math.max(op, t.op); t.rb = Math.max(rb, t.rb); t.rp = Math.max(rp, t.rp);
    this.#dirty.add(c);
  }

  #end(c: Conn, now: number): void {
    c.ended = true;
    c.endedNow = true;
    if (c.tuples.proto === PROTO_TCP) {
      if (c.assured) c.closed = 1;
      else c.failed = 1;
      if (c.openedAtMs > 0) c.durationMs = Math.max(0, now - c.openedAtMs);
    }
    this.#dirty.add(c);
  }

  #remove(key: string, c: Conn): void {
    this.#conns.delete(key);
    this.#tombs.set(key, { ob: c.ob, op: c.op, rb: c.rb, rp: c.rp, expiresAt: this.#now() + this.#tombTtlMs });
  }

  /** Connections with pending deltas, handed over and reset; also expires old tombstones. */
  drain(): Conn[] {
    const out = [...this.#dirty];
    this.#dirty = new Set();
    const now = this.#now();
    for (const [k, t] of this.#tombs) if (t.expiresAt <= now) this.#tombs.delete(k);
    return out;
  }

  /** Clears a connection's pending values after they were written to a batch. */
  static reset(c: Conn): void {
    c.dOb = 0; c.dOp = 0; c.dRb = 0; c.dRp = 0;
    c.opened = 0; c.closed = 0; c.failed = 0; c.durationMs = 0; c.endedNow = false;
  }

  /** Every live connection (flows_api snapshots, tests). */
  connections(): IterableIterator<Conn> {
    return this.#conns.values();
  }
}
