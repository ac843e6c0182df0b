// Lifetime counters of open TCP connections, for the spans of the connections
// when they end. Receivers report per-interval deltas, so a connection that
// lived across several intervals would otherwise show only its last interval's
// bytes (often just the FIN). Bounded: past `maxEntries` open connections, a
// new one is not tracked (its span carries its last interval only) and is
// counted; entries not seen for `idleMs` (their end was never reported) are
// dropped and counted.

import type { ConnectionFacts } from './connection-facts.ts';

interface Totals {
  bytesClientToServer: number;
  bytesServerToClient: number;
  packetsClientToServer: number;
  packetsServerToClient: number;
  retransmits: number;
  lastSeenMs: number;
}

/** Where the losses of accuracy are reported (podflow_exporter_span_totals_*). */
export interface TotalsEvents {
  /** A connection was not tracked because the table was full. */
  untracked(): void;
  /** n entries were dropped after idleMs unseen. */
  expired(n: number): void;
}

export class ConnectionTotals {
  readonly #open = new Map<string, Totals>();
  readonly #maxEntries: number;
  readonly #idleMs: number;
  #lastSweepMs = 0;
  readonly #events: TotalsEvents | undefined;
  /** Connections not tracked because the table was full. */
  untracked = 0;
  /** Entries dropped after idleMs unseen. */
  expired = 0;

  constructor(maxEntries = 100_000, idleMs = 15 * 60_000, events?: TotalsEvents) {
    this.#maxEntries = maxEntries;
    this.#idleMs = idleMs;
    this.#events = events;
  }

  get size(): number {
    return this.#open.size;
  }

  /**
   * Adds this interval's counters of `f` to its running totals and writes the
   * totals back into `f`; an ended connection's entry is then forgotten.
   */
  accumulate(f: ConnectionFacts, nowMs: number): void {
    this.#sweep(nowMs);
    const key = `${f.clientAddress}|${f.clientPort}|${f.serverAddress}|${f.serverPort}|${f.serverSide ? 's' : 'c'}`;
    let t = this.#open.get(key);
    if (!t) {
      if (f.ended) return; // opened and closed within one interval: its counters are already whole
      if (this.#open.size >= this.#maxEntries) {
        this.untracked++;
        this.#events?.untracked();
        return;
      }
      t = { bytesClientToServer: 0, bytesServerToClient: 0, packetsClientToServer: 0, packetsServerToClient: 0, retransmits: 0, lastSeenMs: nowMs };
      this.#open.set(key, t);
    }
    t.bytesClientToServer += f.bytesClientToServer;
    t.bytesServerToClient += f.bytesServerToClient;
    t.packetsClientToServer += f.packetsClientToServer;
    t.packetsServerToClient += f.packetsServerToClient;
    t.retransmits += f.retransmits;
    t.lastSeenMs = nowMs;
    f.bytesClientToServer = t.bytesClientToServer;
    f.bytesServerToClient = t.bytesServerToClient;
    f.packetsClientToServer = t.packetsClientToServer;
    f.packetsServerToClient = t.packetsServerToClient;
    f.retransmits = t.retransmits;
    if (f.ended) this.#open.delete(key);
  }

  #sweep(nowMs: number): void {
    if (nowMs - this.#lastSweepMs < this.#idleMs / 4) return;
    this.#lastSweepMs = nowMs;
    let n = 0;
    for (const [k, t] of this.#open) {
      if (nowMs - t.lastSeenMs > this.#idleMs) {
        this.#open.delete(k);
        n++;
      }
    }
    if (n) {
      this.expired += n;
      this.#events?.expired(n);
    }
  }
}
