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
// - A key can come back for a new entry. The key holds the kernel's id, but the
//   kernel derives that id from the entry's memory address and tuple, so a new
//   connection on the same 5-tuple (a client port reused after an RST, whose
//   SYN makes conntrack kill the CLOSE entry and create a new one) that lands in
//   the freed slot gets the same id. Each kernel entry's counters only grow and
//   it has one NEW and one DESTROY event, so a record is a new entry when
//   (a) its counters are lower than the ones last seen for the key,
//   (b) it is a second NEW event for the key,
//   (c) it is an event after the key's DESTROY event (the event socket is in
//       kernel order), or
//   (d) it comes from a dump that began after the key was removed (the old
//       entry was gone from the kernel by then), or from the running dump
//       with counters above the ones the old entry's DESTROY event carried.
//   The old connection then ends (if it had not) and the new one opens with its
//   full counters. Any other dump record of a removed key comes from a dump
//   that was already running and is the old entry's stale snapshot: ignored.
// - Events and dump records come in the order the session read them, and it
//   empties the event socket before each dump message; a dump record whose
//   key also came in an event read right after its message (RF_CONTESTED) may
//   be older or newer than that event (the new entry's snapshot before the old
//   one's DESTROY would open the new one twice), so it only marks the
//   connection seen: the events decide, and the next dump brings the counters.

import { PROTO_TCP } from '../../pdata/flow-batch.ts';
import {
  IPS_ASSURED, REC_DESTROY, REC_DUMP, REC_NEW, RF_CONTESTED, RF_HAS_COUNTERS, RF_HAS_REPLY, RF_HAS_STATUS, RF_HAS_TCP_STATE,
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
  /** Its NEW event was applied (a second NEW for the key is another entry). */
  sawNew: boolean;
  // last counters seen
  ob: number; op: number; rb: number; rp: number;
  // pending for the next interval
  dOb: number; dOp: number; dRb: number; dRp: number;
  opened: number; closed: number; failed: number; durationMs: number; endedNow: boolean;
}

interface Tombstone {
  ob: number; op: number; rb: number; rp: number; expiresAt: number;
  /** The dump sequence current when it was removed; later dumps cannot hold it. */
  seq: number;
  /** Removed by its DESTROY event (any later event for the key is another entry), not by a sweep. */
  byEvent: boolean;
  sawNew: boolean;
}

export interface TableStats {
  /** Connections ended by a dump sweep because their DESTROY never came. */
  swept: number;
  /** Keys the kernel reused for a new entry (same 5-tuple and id) while podflow still held the old one. */
  reused: number;
}

export class ConnectionTable {
  readonly #conns = new Map<string, Conn>();
  readonly #tombs = new Map<string, Tombstone>();
  /** Connections with something to report, including ones already removed. */
  #dirty = new Set<Conn>();
  readonly #tombTtlMs: number;
  readonly #now: () => number;
  #dumpSeq = 0;
  #dumpRunning = false;
  /** Keys removed by their DESTROY event while the current dump runs. */
  #dumpTombs: string[] = [];
  #baseline = true;
  readonly stats: TableStats = { swept: 0, reused: 0 };

  constructor(opts: { tombstoneTtlMs: number; now?: () => number }) {
    this.#tombTtlMs = opts.tombstoneTtlMs;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#conns.size;
  }

  /** Tombstones held (removed connections whose stale or late records may still come). */
  get tombstones(): number {
    return this.#tombs.size;
  }

  dumpBegin(seq: number): void {
    this.#endDumpTombs(); // one dump at a time: a new one means the last is over, even if it failed
    this.#dumpSeq = seq;
    this.#dumpRunning = true;
  }

  /** End of a dump: the start dump ends the baseline; a complete dump sweeps vanished connections. */
  dumpEnd(seq: number, interrupted: boolean): void {
    this.#dumpRunning = false;
    this.#endDumpTombs();
    const wasBaseline = this.#baseline;
    this.#baseline = false;
    if (interrupted || wasBaseline) return;
    for (const [key, c] of this.#conns) {
      if (c.seenSeq < seq && c.bornSeq < seq) {
        this.stats.swept++;
        if (!c.ended) this.#end(c, this.#now()); // a TIME_WAIT connection was already counted
        this.#remove(key, c, false);
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
    if (type === REC_DUMP && view.flags(i) & RF_CONTESTED && !this.#baseline) {
      if (c) c.seenSeq = this.#dumpSeq; // in the kernel at the snapshot: not to be swept
      return;
    }
    if (c && !this.#baseline && this.#replacedBy(c, view, i, type)) {
      // The old entry is gone (its DESTROY was lost): it ends with what it had.
      if (!c.ended) this.#end(c, now);
      this.#conns.delete(key);
      this.stats.reused++;
      c = undefined;
    }
    if (!c) {
      const tomb = this.#tombs.get(key);
      if (tomb) {
        if (!this.#tombReused(tomb, view, i, type)) {
          // The removed entry's own record: only a late DESTROY may still add bytes.
          if (type === REC_DESTROY && view.flags(i) & RF_HAS_COUNTERS) this.#lateDestroy(view, i, tomb);
          return;
        }
        this.#tombs.delete(key);
        this.stats.reused++;
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
    if (type === REC_NEW) c.sawNew = true;
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
      this.#remove(key, c, true);
    }
  }

  /** Rules (a) and (b) of the header: the live connection's key now names a new kernel entry. */
  #replacedBy(c: Conn, view: RecordView, i: number, type: number): boolean {
    if (type === REC_NEW) return c.sawNew;
    if (!(view.flags(i) & RF_HAS_COUNTERS)) return false;
    return view.origBytes(i) < c.ob || view.origPackets(i) < c.op || view.replyBytes(i) < c.rb || view.replyPackets(i) < c.rp;
  }

  /** Rules (a), (c) and (d) of the header, for a key already removed. */
  #tombReused(t: Tombstone, view: RecordView, i: number, type: number): boolean {
    if (type === REC_DUMP) {
      if (this.#dumpSeq > t.seq) return true;
      // From the running dump: a snapshot older than the DESTROY has at most its final counters.
      return t.byEvent && view.flags(i) & RF_HAS_COUNTERS ? grew(view, i, t) : false;
    }
    if (t.byEvent) return true;
    // Swept (its DESTROY lost or still queued): a late DESTROY or NEW of the old entry may follow.
    if (type === REC_NEW) return t.sawNew;
    if (!(view.flags(i) & RF_HAS_COUNTERS)) return false;
    return view.origBytes(i) < t.ob || view.origPackets(i) < t.op || view.replyBytes(i) < t.rb || view.replyPackets(i) < t.rp;
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
      sawNew: false,
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

  #remove(key: string, c: Conn, byEvent: boolean): void {
    this.#conns.delete(key);
    // After its DESTROY event, any later event or record of a later dump is
    // another entry (rules c, d): the tombstone only screens stale records of
    // the dump running now, so none is kept when no dump runs. At tens of
    // thousands of connections per second, keeping one per connection for the
    // TTL would hold millions.
    if (byEvent && !this.#dumpRunning) return;
    this.#tombs.set(key, {
      ob: c.ob, op: c.op, rb: c.rb, rp: c.rp, expiresAt: this.#now() + this.#tombTtlMs,
      seq: this.#dumpSeq, byEvent, sawNew: c.sawNew,
    });
    if (byEvent) this.#dumpTombs.push(key);
  }

  /** The running dump is over: its stale records can no longer come. */
  #endDumpTombs(): void {
    for (const k of this.#dumpTombs) if (this.#tombs.get(k)?.byEvent) this.#tombs.delete(k);
    this.#dumpTombs = [];
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

/** Any counter of the record above the tombstone's. */
function grew(view: RecordView, i: number, t: Tombstone): boolean {
  return view.origBytes(i) > t.ob || view.origPackets(i) > t.op || view.replyBytes(i) > t.rb || view.replyPackets(i) > t.rp;
}
