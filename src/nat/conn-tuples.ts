// A conntrack entry's two tuples, and how they become the two directed edges of
// a flow with NAT resolved. Shared by the conntrack receiver (which writes rows
// from its own entries) and the NAT index (which rewrites other receivers' rows),
// so both resolve NAT identically.
//
//   original tuple: client ──▶ address the client used (a Service VIP under DNAT)
//   reply tuple:    server that answered ──▶ address the server saw (a node IP under SNAT)
//
// Edge client → server:  source = orig.src, destination = reply.src:reply.sport
//   DNAT (reply.src ≠ orig.dst):  FLAG_HAS_ORIGINAL_DST, origDst = orig.dst (the VIP)
//   SNAT (reply.dst ≠ orig.src):  FLAG_HAS_ORIGINAL_SRC, origSrc = reply.dst (what the server saw)
// Edge server → client:  source = reply.src, destination = orig.src:orig.sport
//   DNAT: FLAG_HAS_ORIGINAL_SRC, origSrc = orig.dst (the client saw replies from the VIP)
//   SNAT: FLAG_HAS_ORIGINAL_DST, origDst = reply.dst (where the server sent them)
//
// "original" is therefore always the address the packets carried on the
// untranslated side, where the real endpoint is hidden by NAT.

import { FLAG_HAS_ORIGINAL_DST, FLAG_HAS_ORIGINAL_SRC, type FlowBatch } from '../pdata/flow-batch.ts';
import { OFF_ORIG_DST, OFF_ORIG_SRC, OFF_REPLY_DST, OFF_REPLY_SRC, type RecordView, RECORD_SIZE } from '../native/conntrack-record.ts';

/** Offsets inside ConnTuples.addrs (16 bytes each, IPv4 v4-mapped). */
export const A_ORIG_SRC = 0;
export const A_ORIG_DST = 16;
export const A_REPLY_SRC = 32;
export const A_REPLY_DST = 48;

export interface ConnTuples {
  family: number;
  proto: number;
  /** orig.src, orig.dst, reply.src, reply.dst. */
  addrs: Uint8Array;
  origSport: number;
  origDport: number;
  replySport: number;
  replyDport: number;
}

export function tuplesFromRecord(view: RecordView, i: number): ConnTuples {
  const b = i * RECORD_SIZE;
  const addrs = new Uint8Array(64);
  addrs.set(view.bytes.subarray(b + OFF_ORIG_SRC, b + OFF_ORIG_SRC + 16), A_ORIG_SRC);
  addrs.set(view.bytes.subarray(b + OFF_ORIG_DST, b + OFF_ORIG_DST + 16), A_ORIG_DST);
  addrs.set(view.bytes.subarray(b + OFF_REPLY_SRC, b + OFF_REPLY_SRC + 16), A_REPLY_SRC);
  addrs.set(view.bytes.subarray(b + OFF_REPLY_DST, b + OFF_REPLY_DST + 16), A_REPLY_DST);
  return {
    family: view.family(i),
    proto: view.proto(i),
    addrs,
    origSport: view.origSport(i),
    origDport: view.origDport(i),
    replySport: view.replySport(i),
    replyDport: view.replyDport(i),
  };
}

function sameAddr(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  for (let k = 0; k < 16; k++) if (a[ao + k] !== b[bo + k]) return false;
  return true;
}

export function isDnat(t: ConnTuples): boolean {
  return !sameAddr(t.addrs, A_REPLY_SRC, t.addrs, A_ORIG_DST) || t.replySport !== t.origDport;
}

export function isSnat(t: ConnTuples): boolean {
  return !sameAddr(t.addrs, A_REPLY_DST, t.addrs, A_ORIG_SRC) || t.replyDport !== t.origSport;
}

/** Writes the endpoints of edge client → server into `row` (addresses, ports, family, protocol, NAT flags). */
export function writeForwardEdge(batch: FlowBatch, row: number, t: ConnTuples): void {
  const o = row * 16;
  batch.family[row] = t.family;
  batch.protocol[row] = t.proto;
  batch.srcAddr.set(t.addrs.subarray(A_ORIG_SRC, A_ORIG_SRC + 16), o);
  batch.srcPort[row] = t.origSport;
  batch.dstAddr.set(t.addrs.subarray(A_REPLY_SRC, A_REPLY_SRC + 16), o);
  batch.dstPort[row] = t.replySport;
  let flags = batch.flags[row]! & ~(FLAG_HAS_ORIGINAL_DST | FLAG_HAS_ORIGINAL_SRC);
  if (isDnat(t)) {
    flags |= FLAG_HAS_ORIGINAL_DST;
    batch.origDstAddr.set(t.addrs.subarray(A_ORIG_DST, A_ORIG_DST + 16), o);
    batch.origDstPort[row] = t.origDport;
  }
  if (isSnat(t)) {
    flags |= FLAG_HAS_ORIGINAL_SRC;
    batch.origSrcAddr.set(t.addrs.subarray(A_REPLY_DST, A_REPLY_DST + 16), o);
    batch.origSrcPort[row] = t.replyDport;
  }
  batch.flags[row] = flags;
}

/** Writes the endpoints of edge server → client into `row`. */
export function writeReverseEdge(batch: FlowBatch, row: number, t: ConnTuples): void {
  const o = row * 16;
  batch.family[row] = t.family;
  batch.protocol[row] = t.proto;
  batch.srcAddr.set(t.addrs.subarray(A_REPLY_SRC, A_REPLY_SRC + 16), o);
  batch.srcPort[row] = t.replySport;
  batch.dstAddr.set(t.addrs.subarray(A_ORIG_SRC, A_ORIG_SRC + 16), o);
  batch.dstPort[row] = t.origSport;
  let flags = batch.flags[row]! & ~(FLAG_HAS_ORIGINAL_DST | FLAG_HAS_ORIGINAL_SRC);
  if (isDnat(t)) {
    flags |= FLAG_HAS_ORIGINAL_SRC;
    batch.origSrcAddr.set(t.addrs.subarray(A_ORIG_DST, A_ORIG_DST + 16), o);
    batch.origSrcPort[row] = t.origDport;
  }
  if (isSnat(t)) {
    flags |= FLAG_HAS_ORIGINAL_DST;
    batch.origDstAddr.set(t.addrs.subarray(A_REPLY_DST, A_REPLY_DST + 16), o);
    batch.origDstPort[row] = t.replyDport;
  }
  batch.flags[row] = flags;
}
