// Test helper: conntrack records in the addon's 128-byte layout, written from
// plain objects, so the table and the NAT index can be driven without a kernel.

import { RECORD_SIZE, RecordView, RF_CONTESTED, RF_HAS_COUNTERS, RF_HAS_ID, RF_HAS_REPLY, RF_HAS_STATUS, RF_HAS_TCP_STATE } from '../../../src/native/conntrack-record.ts';
import { writeAddress } from '../../../src/pdata/ip-address.ts';

export interface Rec {
  type: number;
  proto?: number;
  id?: number;
  src: string; dst: string; sport: number; dport: number;
  /** Reply tuple; defaults to the plain reverse (no NAT). */
  rsrc?: string; rdst?: string; rsport?: number; rdport?: number;
  status?: number;
  tcpState?: number;
  zone?: number;
  mark?: number;
  counters?: [number, number, number, number]; // orig packets, orig bytes, reply packets, reply bytes
  /** A dump record the session flagged RF_CONTESTED. */
  contested?: boolean;
}

export function records(list: Rec[]): RecordView {
  const buf = new ArrayBuffer(list.length * RECORD_SIZE);
  const u8 = new Uint8Array(buf);
  const dv = new DataView(buf);
  list.forEach((r, i) => {
    const b = i * RECORD_SIZE;
    let flags = RF_HAS_REPLY | RF_HAS_ID;
    u8[b] = r.type;
    u8[b + 2] = r.proto ?? 6;
    dv.setUint32(b + 12, r.id ?? 1, true);
    if (r.status !== undefined) { flags |= RF_HAS_STATUS; dv.setUint32(b + 4, r.status, true); }
    if (r.tcpState !== undefined) { flags |= RF_HAS_TCP_STATE; u8[b + 3] = r.tcpState; }
    dv.setUint32(b + 8, r.mark ?? 0, true);
    dv.setUint16(b + 16, r.zone ?? 0, true);
    dv.setUint16(b + 20, r.sport, true);
    dv.setUint16(b + 22, r.dport, true);
    dv.setUint16(b + 24, r.rsport ?? r.dport, true);
    dv.setUint16(b + 26, r.rdport ?? r.sport, true);
    const fam = writeAddress(u8, b + 32, r.src);
    writeAddress(u8, b + 48, r.dst);
    writeAddress(u8, b + 64, r.rsrc ?? r.dst);
    writeAddress(u8, b + 80, r.rdst ?? r.src);
    u8[b + 1] = fam;
    if (r.counters) {
      flags |= RF_HAS_COUNTERS;
      r.counters.forEach((v, k) => dv.setFloat64(b + 96 + k * 8, v, true));
    }
    if (r.contested) flags |= RF_CONTESTED;
    dv.setUint16(b + 18, flags, true);
  });
  return new RecordView(buf);
}
