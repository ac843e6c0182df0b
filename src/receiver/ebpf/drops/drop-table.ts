// Turns one collection's pf_drops entries (the drops of that interval: the
// datapath swaps and drains the map, see bpf/features/drops.bpf.c) into
// FlowBatch rows: counters drops and dropBytes, attribute drop.reason.
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

export class DropTable {
  readonly #reasons: DropReasons;

  constructor(reasons: DropReasons) {
    this.#reasons = reasons;
  }

  /** Appends a row per entry of `buf` (n × PF_DROP_ENTRY_SIZE bytes); returns n. */
  append(batch: FlowBatch, buf: ArrayBuffer): number {
    const view = new DataView(buf);
    const u8 = new Uint8Array(buf);
    const n = Math.floor(buf.byteLength / PF_DROP_ENTRY_SIZE);
    for (let e = 0; e < n; e++) {
      const off = e * PF_DROP_ENTRY_SIZE;
      const v = off + PF_DROP_KEY.size;
      const packets = u64(view, v + PF_DROP_VALUE.packets);
      if (packets === 0) continue;
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
      batch.counters.drops[r] = packets;
      batch.counters.dropBytes[r] = u64(view, v + PF_DROP_VALUE.bytes);
      batch.setAttribute(r, DROP_REASON_ATTRIBUTE, this.#reasons.name(view.getUint32(off + PF_DROP_KEY.reason, true)));
    }
    return n;
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
