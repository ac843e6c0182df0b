// Turns the cumulative pf_drops entries into FlowBatch rows with the deltas
// since the previous read (counters drops and dropBytes, attribute
// drop.reason), and decides which idle entries to delete.
//
// A row is the dropped packets' own direction: source and destination as in
// their IP header. Which end is the client decides which port exporters keep
// (see pdata/server-port.ts): a dropped SYN comes from the client, a SYN+ACK
// from the server; otherwise the lower port is taken as the server's.

import {
  FLAG_OBSERVER_DESTINATION, FLAG_SOURCE_IS_CLIENT, PROTO_TCP, PROTO_UDP, type FlowBatch,
} from '../../../pdata/flow-batch.ts';
import { PF_DROP_CONSTANTS as K, PF_DROP_ENTRY_SIZE, PF_DROP_KEY, PF_DROP_VALUE } from '../../../native/ebpf-drops.ts';
import { u64 } from '../connection-table.ts';
import type { DropReasons } from './drop-reasons.ts';

export const DROP_REASON_ATTRIBUTE = 'drop.reason';

interface Seen {
  packets: number;
  bytes: number;
  /** nowMs of the last read that saw it grow. */
  activeMs: number;
}

export interface DropReadResult {
  /** Keys (n × PF_DROP_KEY.size bytes) idle past the timeout, to delete from the map. */
  idleKeys: ArrayBuffer;
  idleCount: number;
  /** Entries present in the map at this read. */
  present: number;
}

export class DropTable {
  readonly #seen = new Map<string, Seen>();
  readonly #idleTimeoutMs: number;
  readonly #reasons: DropReasons;

  constructor(reasons: DropReasons, idleTimeoutMs: number) {
    this.#reasons = reasons;
    this.#idleTimeoutMs = idleTimeoutMs;
  }

  /** Entries remembered from the previous read. */
  get size(): number {
    return this.#seen.size;
  }

  append(batch: FlowBatch, buf: ArrayBuffer, nowMs: number): DropReadResult {
    const view = new DataView(buf);
    const u8 = new Uint8Array(buf);
    const n = Math.floor(buf.byteLength / PF_DROP_ENTRY_SIZE);
    const present = new Set<string>();
    const idle: number[] = [];
    for (let e = 0; e < n; e++) {
      const off = e * PF_DROP_ENTRY_SIZE;
      const key = Buffer.from(buf, off, PF_DROP_KEY.size).toString('latin1');
      present.add(key);
      const v = off + PF_DROP_KEY.size;
      const packets = u64(view, v + PF_DROP_VALUE.packets);
      const bytes = u64(view, v + PF_DROP_VALUE.bytes);
      let s = this.#seen.get(key);
      if (!s) {
        s = { packets: 0, bytes: 0, activeMs: nowMs };
        this.#seen.set(key, s);
      }
      // Smaller than before: evicted and created again since the last read.
      const renewed = packets < s.packets;
      const dp = renewed ? packets : packets - s.packets;
      const db = renewed ? bytes : bytes - s.bytes;
      s.packets = packets;
      s.bytes = bytes;
      if (dp === 0) {
        if (nowMs - s.activeMs >= this.#idleTimeoutMs) idle.push(off);
        continue;
      }
      s.activeMs = nowMs;
      const proto = u8[off + PF_DROP_KEY.protocol]!;
      const sport = view.getUint16(off + PF_DROP_KEY.src_port, true);
      const dport = view.getUint16(off + PF_DROP_KEY.dst_port, true);
      const tcpFlags = view.getUint32(v + PF_DROP_VALUE.tcp_flags, true);
      const r = batch.addRow();
      batch.family[r] = u8[off + PF_DROP_KEY.family] === 6 ? 6 : 4;
      batch.protocol[r] = proto;
      batch.srcAddr.set(u8.subarray(off + PF_DROP_KEY.src_addr, off + PF_DROP_KEY.src_addr + 16), r * 16);
      batch.dstAddr.set(u8.subarray(off + PF_DROP_KEY.dst_addr, off + PF_DROP_KEY.dst_addr + 16), r * 16);
      batch.srcPort[r] = sport;
      batch.dstPort[r] = dport;
      batch.flags[r] = (sourceIsClient(proto, tcpFlags, sport, dport) ? FLAG_SOURCE_IS_CLIENT : 0)
        | (u8[off + PF_DROP_KEY.rx] ? FLAG_OBSERVER_DESTINATION : 0);
      batch.counters.drops[r] = dp;
      batch.counters.dropBytes[r] = db;
      batch.setAttribute(r, DROP_REASON_ATTRIBUTE, this.#reasons.name(view.getUint32(off + PF_DROP_KEY.reason, true)));
    }
    // Entries gone from the map (evicted or deleted) are forgotten.
    for (const k of this.#seen.keys()) if (!present.has(k)) this.#seen.delete(k);
    const keys = new Uint8Array(idle.length * PF_DROP_KEY.size);
    idle.forEach((off, j) => {
      keys.set(u8.subarray(off, off + PF_DROP_KEY.size), j * PF_DROP_KEY.size);
      this.#seen.delete(Buffer.from(buf, off, PF_DROP_KEY.size).toString('latin1'));
    });
    return { idleKeys: keys.buffer, idleCount: idle.length, present: n };
  }
}

/** Whether the destination holds the server's port (FLAG_SOURCE_IS_CLIENT). */
export function sourceIsClient(protocol: number, tcpFlags: number, srcPort: number, dstPort: number): boolean {
  if (protocol === PROTO_TCP) {
    if (tcpFlags & K.PF_DROP_TCP_SYN) return true;
    if (tcpFlags & K.PF_DROP_TCP_SYNACK) return false;
    return dstPort < srcPort;
  }
  if (protocol === PROTO_UDP) return dstPort < srcPort;
  return false;
}
