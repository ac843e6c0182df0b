// Turns the cumulative pf_udp map entries into FlowBatch rows with the deltas
// since the previous read, and decides which idle entries to delete.
//
// Egress entries are the local socket's own datagrams (reported as source);
// ingress entries are what it received (reported as destination).

import { FLAG_OBSERVER_DESTINATION, PROTO_UDP, type FlowBatch } from '../../pdata/flow-batch.ts';
import { PF_CONSTANTS as K, PF_UDP_ENTRY_SIZE, PF_UDP_KEY, PF_UDP_VALUE } from '../../native/ebpf-layout.ts';
import { u64 } from './connection-table.ts';

interface Seen {
  bytes: number;
  packets: number;
  /** Date.now() of the last read that saw it grow. */
  activeMs: number;
}

export interface UdpReadResult {
  /** Keys (n × PF_UDP_KEY.size bytes) idle past the timeout, to delete from the map. */
  idleKeys: ArrayBuffer;
  idleCount: number;
  /** Entries present in the map at this read. */
  present: number;
}

export class UdpTable {
  readonly #seen = new Map<string, Seen>();
  readonly #idleTimeoutMs: number;

  constructor(idleTimeoutMs: number) {
    this.#idleTimeoutMs = idleTimeoutMs;
  }

  append(batch: FlowBatch, buf: ArrayBuffer, nowMs: number): UdpReadResult {
    const view = new DataView(buf);
    const u8 = new Uint8Array(buf);
    const n = Math.floor(buf.byteLength / PF_UDP_ENTRY_SIZE);
    const present = new Set<string>();
    const idle: number[] = [];
    for (let e = 0; e < n; e++) {
      const off = e * PF_UDP_ENTRY_SIZE;
      const key = Buffer.from(buf, off, PF_UDP_KEY.size).toString('latin1');
      present.add(key);
      const v = off + PF_UDP_KEY.size;
      const bytes = u64(view, v + PF_UDP_VALUE.bytes);
      const packets = u64(view, v + PF_UDP_VALUE.packets);
      let s = this.#seen.get(key);
      if (!s) {
        s = { bytes: 0, packets: 0, activeMs: nowMs };
        this.#seen.set(key, s);
      }
      // Smaller than before: evicted and created again since the last read.
      const dp = packets >= s.packets ? packets - s.packets : packets;
      const db = packets >= s.packets ? bytes - s.bytes : bytes;
      s.bytes = bytes;
      s.packets = packets;
      if (dp === 0) {
        if (nowMs - s.activeMs >= this.#idleTimeoutMs) idle.push(off);
        continue;
      }
      s.activeMs = nowMs;
      const egress = u8[off + PF_UDP_KEY.direction] === K.PF_DIR_EGRESS;
      const local = off + PF_UDP_KEY.local_addr;
      const remote = off + PF_UDP_KEY.remote_addr;
      const lport = view.getUint16(off + PF_UDP_KEY.local_port, true);
      const rport = view.getUint16(off + PF_UDP_KEY.remote_port, true);
      const r = batch.addRow();
      batch.family[r] = u8[off + PF_UDP_KEY.family] === 6 ? 6 : 4;
      batch.protocol[r] = PROTO_UDP;
      const [src, sport, dst, dport] = egress ? [local, lport, remote, rport] : [remote, rport, local, lport];
      batch.srcAddr.set(u8.subarray(src, src + 16), r * 16);
      batch.dstAddr.set(u8.subarray(dst, dst + 16), r * 16);
      batch.srcPort[r] = sport;
      batch.dstPort[r] = dport;
      batch.flags[r] = egress ? 0 : FLAG_OBSERVER_DESTINATION;
      batch.counters.bytes[r] = db;
      batch.counters.packets[r] = dp;
    }
    // Entries gone from the map (evicted or deleted) are forgotten.
    for (const k of this.#seen.keys()) if (!present.has(k)) this.#seen.delete(k);
    const keys = new Uint8Array(idle.length * PF_UDP_KEY.size);
    idle.forEach((off, j) => {
      keys.set(u8.subarray(off, off + PF_UDP_KEY.size), j * PF_UDP_KEY.size);
      this.#seen.delete(Buffer.from(buf, off, PF_UDP_KEY.size).toString('latin1'));
    });
    return { idleKeys: keys.buffer, idleCount: idle.length, present: n };
  }
}
