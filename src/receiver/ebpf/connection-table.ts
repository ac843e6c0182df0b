// Turns pf_conn records (live map entries and final ring-buffer records) into
// FlowBatch rows holding the counter deltas since the previous report.
//
// Each local TCP socket yields two edges: local → remote, counted from what the
// local end sent (bytes_acked, segs_out, retransmits), reported as its source;
// and remote → local, counted from what it received (bytes_received, segs_in),
// reported as its destination (FLAG_OBSERVER_DESTINATION). The per-connection
// facts (opened, failed, closed, resets, RTT, handshake time, duration) go on the client →
// server edge only. When both ends run on this node the connection is seen from
// both sockets; the observer flag tells the two reports apart (ARCHITECTURE.md,
// "Counting once").

import {
  FLAG_CONNECTION_ENDED, FLAG_OBSERVER_DESTINATION, FLAG_SOURCE_IS_CLIENT, PROTO_TCP, type FlowBatch,
} from '../../pdata/flow-batch.ts';
import { PF_CONN, PF_CONSTANTS as K } from '../../native/ebpf-layout.ts';

/** Cumulative counters last reported for one socket. */
interface Reported {
  bytesAcked: number;
  bytesReceived: number;
  segsOut: number;
  segsIn: number;
  retrans: number;
  resets: number;
  opened: boolean;
  /** The batch (ConnectionTable's count of batches) whose rows `row`, `row + 1` hold the last report. */
  batchSeq: number;
  row: number;
}

export function u64(view: DataView, off: number): number {
  // Exact below 2^53: byte counters and cookies stay far below it.
  return view.getUint32(off, true) + view.getUint32(off + 4, true) * 2 ** 32;
}

/** The u64 at byte offset `off` (8-aligned) of records read through their 32-bit words (a little-endian host, as the byte order of u64() assumes too). */
function word64(u32: Uint32Array, off: number): number {
  return u32[off >> 2]! + u32[(off >> 2) + 1]! * 2 ** 32;
}

export class ConnectionTable {
  readonly #reported = new Map<number, Reported>();
  /**
   * Cookies whose final record was reported in this interval and the one
   * before, so a late map read cannot revive them (two generations: swapping
   * them costs nothing, unlike sweeping one map of thousands of entries).
   */
  #ended = new Set<number>();
  #endedBefore = new Set<number>();
  /**
   * The part of those finals that came from a map read (flagged closed: the
   * ring buffer was full, or the read caught the close between its flag and
   * its delete). Only these can meet a ring-buffer record of the same socket,
   * so ring-buffer records, nearly every final at high churn, are checked
   * against these small sets and not the large ones (two look-ups in sets of
   * an interval's closes were ~18% of the receiver's main thread at 10k
   * conn/s).
   */
  #mapEnded = new Set<number>();
  #mapEndedBefore = new Set<number>();
  closedTotal = 0;
  /**
   * The batch being filled and how many batches came before it. A socket read
   * live and then closed before the same collection took its final record
   * (the ring buffer is taken after the map is read, and at shutdown after
   * the last read) has both in one batch: the final record is folded into the
   * rows the live read wrote, so a batch holds one row pair per socket. Two
   * pairs would read as two connections to whatever joins the edges (the flow
   * logs and spans), each half ended.
   */
  #batch: FlowBatch | undefined;
  #batchSeq = 0;

  /** Sockets currently tracked (seen open and not yet closed). */
  get active(): number {
    return this.#reported.size;
  }

  /**
   * Appends rows for every record in `buf` (n × PF_CONN.size bytes). `final`:
   * the records are closing sockets' last counters. Returns cookies of records
   * that were final but came from the map (orphaned: the ring buffer was full),
   * which the caller deletes from the map.
   */
  append(batch: FlowBatch, buf: ArrayBuffer, final: boolean): number[] {
    if (batch !== this.#batch) {
      this.#batch = batch;
      this.#batchSeq++;
    }
    // Word views instead of a DataView: element loads the optimising
    // compilers inline, where the DataView getters stayed builtin calls in
    // the receiver's profile. Every pf_conn field is naturally aligned, the
    // record size is a multiple of 8 and the addon's buffers are 8-aligned.
    const end = Math.floor(buf.byteLength / PF_CONN.size) * PF_CONN.size;
    const u8 = new Uint8Array(buf, 0, end);
    const u16 = new Uint16Array(buf, 0, end >> 1);
    const u32 = new Uint32Array(buf, 0, end >> 2);
    const orphans: number[] = [];
    for (let off = 0; off < end; off += PF_CONN.size) {
      const cookie = word64(u32, off + PF_CONN.cookie);
      const closed = (u8[off + PF_CONN.flags]! & K.PF_CONN_CLOSED) !== 0;
      if (final) {
        if ((this.#mapEnded.size > 0 && this.#mapEnded.has(cookie))
          || (this.#mapEndedBefore.size > 0 && this.#mapEndedBefore.has(cookie))) continue;
      } else {
        // Deleted again even when already reported (a delete that failed).
        if (closed) orphans.push(cookie);
        if (this.#ended.has(cookie) || this.#endedBefore.has(cookie)) continue;
        if (closed) this.#mapEnded.add(cookie);
      }
      this.#appendOne(batch, u8, u16, u32, off, cookie, final || closed);
    }
    return orphans;
  }

  /** Marks the end of an interval: final cookies are kept for one more interval (a map read can trail the ring buffer by at most that), then forgotten. */
  endInterval(): void {
    this.#endedBefore = this.#ended;
    this.#ended = new Set();
    this.#mapEndedBefore = this.#mapEnded;
    this.#mapEnded = new Set();
  }

  #appendOne(batch: FlowBatch, u8: Uint8Array, u16: Uint16Array, u32: Uint32Array, off: number, cookie: number, final: boolean): void {
    // Hot path (thousands of records a second at high connection churn):
    // plain numbers, no per-record objects or closures.
    const flags = u8[off + PF_CONN.flags]!;
    const isClient = (flags & K.PF_CONN_CLIENT) !== 0;
    const established = (flags & K.PF_CONN_ESTABLISHED) !== 0;
    const acked = word64(u32, off + PF_CONN.bytes_acked);
    const received = word64(u32, off + PF_CONN.bytes_received);
    const segsOut = u32[(off + PF_CONN.segs_out) >> 2]!;
    const segsIn = u32[(off + PF_CONN.segs_in) >> 2]!;
    const retrans = u32[(off + PF_CONN.total_retrans) >> 2]!;
    const resetsNow = u32[(off + PF_CONN.resets) >> 2]!;
    // A socket that lived less than an interval is seen only in its final record.
    const prev = this.#reported.get(cookie) ?? NONE;
    // Counters only grow; a smaller value would be a reused cookie, counted afresh.
    const outBytes = acked >= prev.bytesAcked ? acked - prev.bytesAcked : acked;
    const outPackets = segsOut >= prev.segsOut ? segsOut - prev.segsOut : segsOut;
    const outRetrans = retrans >= prev.retrans ? retrans - prev.retrans : retrans;
    const inBytes = received >= prev.bytesReceived ? received - prev.bytesReceived : received;
    const inPackets = segsIn >= prev.segsIn ? segsIn - prev.segsIn : segsIn;
    const resets = resetsNow >= prev.resets ? resetsNow - prev.resets : resetsNow;
    const opened = established && !prev.opened ? 1 : 0;
    if (final) {
      if (prev !== NONE) this.#reported.delete(cookie);
      this.#ended.add(cookie);
      this.closedTotal++;
      if (prev !== NONE && prev.batchSeq === this.#batchSeq) {
        this.#foldFinal(batch, u32, off, prev.row, isClient, established, opened, outBytes, outPackets, outRetrans, inBytes, inPackets, resets);
        return;
      }
    } else {
      if (opened === 0 && resets === 0 && outBytes === 0 && outPackets === 0 && outRetrans === 0
        && inBytes === 0 && inPackets === 0) return; // idle this interval
      const next: Reported = prev === NONE ? ({} as Reported) : (prev as Reported);
      next.bytesAcked = acked;
      next.bytesReceived = received;
      next.segsOut = segsOut;
      next.segsIn = segsIn;
      next.retrans = retrans;
      next.resets = resetsNow;
      next.opened = prev.opened || established;
      next.batchSeq = this.#batchSeq;
      next.row = batch.length;
      if (prev === NONE) this.#reported.set(cookie, next);
    }

    const family = u8[off + PF_CONN.family]! === 6 ? 6 : 4;
    const ended = final ? FLAG_CONNECTION_ENDED : 0;
    const local = off + PF_CONN.local_addr;
    const remote = off + PF_CONN.remote_addr;
    const lport = u16[(off + PF_CONN.local_port) >> 1]!;
    const rport = u16[(off + PF_CONN.remote_port) >> 1]!;
    const cnt = batch.counters;

    const o = edge(batch, u8, family, local, lport, remote, rport, (isClient ? FLAG_SOURCE_IS_CLIENT : 0) | ended);
    cnt.bytes[o] = outBytes;
    cnt.packets[o] = outPackets;
    cnt.retransmits[o] = outRetrans;
    const i = edge(batch, u8, family, remote, rport, local, lport,
      (isClient ? 0 : FLAG_SOURCE_IS_CLIENT) | FLAG_OBSERVER_DESTINATION | ended);
    cnt.bytes[i] = inBytes;
    cnt.packets[i] = inPackets;

    const c2s = isClient ? o : i;
    cnt.opened[c2s] = opened;
    cnt.resets[c2s] = resets;
    cnt.rttUs[c2s] = u32[(off + PF_CONN.srtt_us) >> 2]!;
    if (opened) openConnection(batch, u32, off, c2s, isClient);
    if (final) endConnection(batch, u32, off, c2s, established);
  }

  /** Adds a final record's deltas to the rows `o` (local → remote) and `o + 1` (remote → local) a live read of the same socket wrote into this batch, and marks them ended. */
  #foldFinal(
    batch: FlowBatch, u32: Uint32Array, off: number, o: number, isClient: boolean, established: boolean, opened: number,
    outBytes: number, outPackets: number, outRetrans: number, inBytes: number, inPackets: number, resets: number,
  ): void {
    const cnt = batch.counters;
    const i = o + 1;
    cnt.bytes[o] += outBytes;
    cnt.packets[o] += outPackets;
    cnt.retransmits[o] += outRetrans;
    cnt.bytes[i] += inBytes;
    cnt.packets[i] += inPackets;
    batch.flags[o] |= FLAG_CONNECTION_ENDED;
    batch.flags[i] |= FLAG_CONNECTION_ENDED;
    const c2s = isClient ? o : i;
    cnt.resets[c2s] += resets;
    const rtt = u32[(off + PF_CONN.srtt_us) >> 2]!;
    if (rtt) cnt.rttUs[c2s] = rtt;
    if (opened) openConnection(batch, u32, off, c2s, isClient);
    endConnection(batch, u32, off, c2s, established);
  }
}

/** A connection seen established for the first time: counted opened, with the handshake as the client lived it (once per connection, in the interval it opened in). */
function openConnection(batch: FlowBatch, u32: Uint32Array, off: number, c2s: number, isClient: boolean): void {
  const cnt = batch.counters;
  cnt.opened[c2s] = 1;
  if (!isClient) return;
  const start = word64(u32, off + PF_CONN.start_ns);
  const est = word64(u32, off + PF_CONN.established_ns);
  if (est > start) cnt.connectUs[c2s] = Math.max(1, Math.round((est - start) / 1e3));
}

/** The per-connection facts of a final record, on its client → server row. */
function endConnection(batch: FlowBatch, u32: Uint32Array, off: number, c2s: number, established: boolean): void {
  const cnt = batch.counters;
  cnt.failed[c2s] = established ? 0 : 1;
  cnt.closed[c2s] = established ? 1 : 0;
  const start = word64(u32, off + PF_CONN.start_ns);
  const end = word64(u32, off + PF_CONN.end_ns);
  cnt.durationMs[c2s] = end > start ? (end - start) / 1e6 : 0;
}

/** What "nothing reported yet" compares against (never mutated). */
const NONE: Readonly<Reported> = Object.freeze({
  bytesAcked: 0, bytesReceived: 0, segsOut: 0, segsIn: 0, retrans: 0, resets: 0, opened: false, batchSeq: -1, row: -1,
});

/**
 * The next row of a batch being filled by this receiver. FlowBatch only grows,
 * and rows past `length` are still as its constructor or grow() left them
 * (counters zero, attribute columns unset), so only the columns edge() writes
 * need setting: addRow() resets every column of the row (the counter columns
 * in a keyed loop, an iterator over the attribute columns), which was a third
 * of this receiver's JS time per connection at high churn.
 */
function nextRow(batch: FlowBatch): number {
  if (batch.length === batch.capacity) batch.grow(batch.capacity * 2);
  return batch.length++;
}

function edge(
  batch: FlowBatch, u8: Uint8Array, family: 4 | 6,
  src: number, sport: number, dst: number, dport: number, flags: number,
): number {
  const r = nextRow(batch);
  batch.family[r] = family;
  batch.protocol[r] = PROTO_TCP;
  const s = batch.srcAddr;
  const d = batch.dstAddr;
  const at = r * 16;
  for (let k = 0; k < 16; k++) {
    s[at + k] = u8[src + k]!;
    d[at + k] = u8[dst + k]!;
  }
  batch.srcPort[r] = sport;
  batch.dstPort[r] = dport;
  batch.flags[r] = flags;
  return r;
}
