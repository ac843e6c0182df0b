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

// Tuples are allocated as 64-byte views into shared 64 KiB slabs: one
// ArrayBuffer per connection would make the garbage collector (which tracks
// every backing store) the bottleneck at tens of thousands of connections/s.
const SLAB = 64 * 1024;
let slab = new ArrayBuffer(SLAB);
let slabUsed = 0;

function allocAddrs(): Uint8Array {
  if (slabUsed + 64 > SLAB) {
    slab = new ArrayBuffer(SLAB);
    slabUsed = 0;
  }
  const a = new Uint8Array(slab, slabUsed, 64);
  slabUsed += 64;
  return a;
}

/** Copies 16 bytes (one address) without allocating a subarray. */
export function copy16(dst: Uint8Array, dOff: number, src: Uint8Array, sOff: number): void {
  for (let k = 0; k < 16; k++) dst[dOff + k] = src[sOff + k]!;
}

/** True when the record's connection was translated (DNAT or SNAT), read in place. */
export function recordIsTranslated(view: RecordView, i: number): boolean {
  const b = i * RECORD_SIZE;
  const u = view.bytes;
  if (view.replySport(i) !== view.origDport(i) || view.replyDport(i) !== view.origSport(i)) return true;
  for (let k = 0; k < 16; k++) {
    if (u[b + OFF_REPLY_SRC + k] !== u[b + OFF_ORIG_DST + k] || u[b + OFF_REPLY_DST + k] !== u[b + OFF_ORIG_SRC + k]) return true;
  }
  return false;
}

/** True when the record's reply tuple is `t`'s (the same translation), read in place. */
export function recordHasReply(t: ConnTuples, view: RecordView, i: number): boolean {
  if (t.replySport !== view.replySport(i) || t.replyDport !== view.replyDport(i)) return false;
  const b = i * RECORD_SIZE;
  const u = view.bytes;
  // reply src and reply dst are contiguous in both layouts.
  for (let k = 0; k < 32; k++) if (t.addrs[A_REPLY_SRC + k] !== u[b + OFF_REPLY_SRC + k]) return false;
  return true;
}

export function tuplesFromRecord(view: RecordView, i: number): ConnTuples {
  const b = i * RECORD_SIZE;
  const addrs = allocAddrs();
  // orig src, orig dst, reply src, reply dst are contiguous in the record, in this order.
  const u = view.bytes;
  for (let k = 0; k < 64; k++) addrs[k] = u[b + OFF_ORIG_SRC + k]!;
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
  copy16(batch.srcAddr, o, t.addrs, A_ORIG_SRC);
  batch.srcPort[row] = t.origSport;
  copy16(batch.dstAddr, o, t.addrs, A_REPLY_SRC);
  batch.dstPort[row] = t.replySport;
  let flags = batch.flags[row]! & ~(FLAG_HAS_ORIGINAL_DST | FLAG_HAS_ORIGINAL_SRC);
  if (isDnat(t)) {
    flags |= FLAG_HAS_ORIGINAL_DST;
    copy16(batch.origDstAddr, o, t.addrs, A_ORIG_DST);
    batch.origDstPort[row] = t.origDport;
  }
  if (isSnat(t)) {
    flags |= FLAG_HAS_ORIGINAL_SRC;
    copy16(batch.origSrcAddr, o, t.addrs, A_REPLY_DST);
    batch.origSrcPort[row] = t.replyDport;
  }
  batch.flags[row] = flags;
}

/** Writes the endpoints of edge server → client into `row`. */
export function writeReverseEdge(batch: FlowBatch, row: number, t: ConnTuples): void {
  const o = row * 16;
  batch.family[row] = t.family;
  batch.protocol[row] = t.proto;
  copy16(batch.srcAddr, o, t.addrs, A_REPLY_SRC);
  batch.srcPort[row] = t.replySport;
  copy16(batch.dstAddr, o, t.addrs, A_ORIG_SRC);
  batch.dstPort[row] = t.origSport;
  let flags = batch.flags[row]! & ~(FLAG_HAS_ORIGINAL_DST | FLAG_HAS_ORIGINAL_SRC);
  if (isDnat(t)) {
    flags |= FLAG_HAS_ORIGINAL_SRC;
    copy16(batch.origSrcAddr, o, t.addrs, A_ORIG_DST);
    batch.origSrcPort[row] = t.origDport;
  }
  if (isSnat(t)) {
    flags |= FLAG_HAS_ORIGINAL_DST;
    copy16(batch.origDstAddr, o, t.addrs, A_REPLY_DST);
    batch.origDstPort[row] = t.replyDport;
  }
  batch.flags[row] = flags;
}
