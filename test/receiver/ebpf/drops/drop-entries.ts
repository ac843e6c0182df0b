// Hand-made pf_drops entries (key then value, as the addon returns them) for
// the drop-table and drop-feature tests.

import { PF_DROP_ENTRY_SIZE, PF_DROP_KEY, PF_DROP_VALUE } from '../../../../src/native/ebpf-drops.ts';
import { writeAddress } from '../../../../src/pdata/ip-address.ts';

export interface DropEntry {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  protocol: number;
  reason: number;
  packets: number;
  bytes: number;
  tcpFlags?: number;
  rx?: boolean;
}

export function dropEntries(...es: DropEntry[]): ArrayBuffer {
  const buf = new ArrayBuffer(es.length * PF_DROP_ENTRY_SIZE);
  const v = new DataView(buf);
  const u8 = new Uint8Array(buf);
  es.forEach((e, i) => {
    const o = i * PF_DROP_ENTRY_SIZE;
    const fam = writeAddress(u8, o + PF_DROP_KEY.src_addr, e.src);
    writeAddress(u8, o + PF_DROP_KEY.dst_addr, e.dst);
    v.setUint32(o + PF_DROP_KEY.reason, e.reason, true);
    v.setUint16(o + PF_DROP_KEY.src_port, e.sport, true);
    v.setUint16(o + PF_DROP_KEY.dst_port, e.dport, true);
    u8[o + PF_DROP_KEY.family] = fam;
    u8[o + PF_DROP_KEY.protocol] = e.protocol;
    u8[o + PF_DROP_KEY.rx] = e.rx ? 1 : 0;
    const val = o + PF_DROP_KEY.size;
    v.setBigUint64(val + PF_DROP_VALUE.packets, BigInt(e.packets), true);
    v.setBigUint64(val + PF_DROP_VALUE.bytes, BigInt(e.bytes), true);
    v.setUint32(val + PF_DROP_VALUE.tcp_flags, e.tcpFlags ?? 0, true);
  });
  return buf;
}

/** A kernel's enum skb_drop_reason as kernelDropReasons() returns it (6.x numbering, abridged). */
export const KERNEL_REASONS = [
  { value: 0, name: 'SKB_NOT_DROPPED_YET' },
  { value: 1, name: 'SKB_CONSUMED' },
  { value: 2, name: 'SKB_DROP_REASON_NOT_SPECIFIED' },
  { value: 3, name: 'SKB_DROP_REASON_NO_SOCKET' },
  { value: 10, name: 'SKB_DROP_REASON_TCP_CSUM' },
  { value: 12, name: 'SKB_DROP_REASON_NETFILTER_DROP' },
  { value: 104, name: 'SKB_DROP_REASON_QUEUE_PURGE' },
  { value: 128, name: 'SKB_DROP_REASON_MAX' },
  { value: 0xffff0000, name: 'SKB_DROP_REASON_SUBSYS_MASK' },
];
