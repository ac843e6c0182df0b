// The protobuf primitives podflow's OTLP encoders write with (see
// metrics-request-encoder.ts): varints, fixed64, doubles, length-delimited
// bytes and strings, into a buffer that grows only when a write passes its end.

import type { HrTime } from '@opentelemetry/api';

const utf8 = new TextEncoder();
const TWO_32 = 4294967296;

/** Wire types. */
export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;

export const MIN_INT64 = -(2 ** 63);
export const MAX_INT64 = 2 ** 63;

/** Bytes of the varint of `v` (0 ≤ v < 2^32: lengths, tags). */
export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** A length-delimited field of `len` bytes: tag, length, content. */
export function fieldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

/**
 * Writes protobuf primitives into a buffer that grows when a write would pass
 * its end. Each write asks for exactly the bytes it writes, so a buffer made
 * the size of what is measured to go in never grows.
 */
export class ProtoOut {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** 0 ≤ v < 2^32. */
  varint32(v: number): void {
    let x = v >>> 0;
    this.ensure(varintSize(x));
    while (x > 0x7f) {
      this.buf[this.pos++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.buf[this.pos++] = x;
  }

  /** Any integer of the int64 range; negative ones as 64-bit two's complement (ten bytes). */
  varint64(v: number): void {
    if (v >= 0 && v <= 0xffffffff) {
      this.varint32(v);
      return;
    }
    this.ensure(varint64Size(v));
    split64(v);
    let low = HALVES[0]!;
    let high = HALVES[1]!;
    while (high > 0 || low > 0x7f) {
      this.buf[this.pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    this.buf[this.pos++] = low;
  }

  tag(field: number, wire: number): void {
    this.varint32((field << 3) | wire);
  }

  fixed64(low: number, high: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, low, true);
    this.view.setUint32(this.pos + 4, high, true);
    this.pos += 8;
  }

  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** A length-delimited field's content after its tag: length, then the bytes. */
  lengthDelimited(b: Uint8Array): void {
    this.varint32(b.length);
    this.raw(b);
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /**
   * A string field's content: its UTF-8 length `n`, then its bytes (ASCII
   * copied, the rest through TextEncoder); `n` when the caller measured it already.
   */
  string(s: string, n = utf8Length(s)): void {
    this.varint32(n);
    this.ensure(n);
    if (n === s.length) {
      const buf = this.buf;
      let p = this.pos;
      for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
    } else {
      utf8.encodeInto(s, this.buf.subarray(this.pos, this.pos + n));
    }
    this.pos += n;
  }

  /** Time since the epoch in ns as a fixed64; the ns exceed 2^53, so the seconds go in two halves. */
  hrTime(t: HrTime): void {
    const s = t[0];
    const sHigh = Math.floor(s / 65536);
    const a = sHigh * 1e9; // × 2^16 below
    const b = (s - sHigh * 65536) * 1e9 + t[1];
    let low = (a % 65536) * 65536 + (b % TWO_32);
    const high = Math.floor(a / 65536) + Math.floor(b / TWO_32) + Math.floor(low / TWO_32);
    low %= TWO_32;
    this.fixed64(low >>> 0, high >>> 0);
  }

  /** A whole number 0 ≤ v < 2^64 as a fixed64 (counts). */
  uint64(v: number): void {
    this.fixed64(v >>> 0, (v / TWO_32) >>> 0);
  }

  /** An sfixed64 (a point's value when the instrument counts integers). */
  sfixed64(v: number): void {
    split64(v);
    this.fixed64(HALVES[0]!, HALVES[1]!);
  }
}

/**
 * Where split64 leaves its result: a pair returned as an array was one
 * allocation per integer point, a quarter of what the metrics encoder allocated
 * in bench/pipeline.bench.ts' child (2.7 MB sampled over 4 exports).
 */
const HALVES = new Uint32Array(2);

/** Sets HALVES to the low and high 32 bits of an integer's 64-bit two's complement. */
function split64(v: number): void {
  if (v >= 0) {
    HALVES[0] = v >>> 0;
    HALVES[1] = (v / TWO_32) >>> 0;
    return;
  }
  const abs = -v;
  let low = ~(abs >>> 0) >>> 0;
  let high = ~((abs / TWO_32) >>> 0) >>> 0;
  low = (low + 1) >>> 0;
  if (low === 0) high = (high + 1) >>> 0;
  HALVES[0] = low;
  HALVES[1] = high;
}

/** Bytes of `s` in UTF-8, lone surrogates counted as the U+FFFD the encoder writes for them. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a pair: 4 bytes for 2 code units
      i++;
    } else n += 2;
  }
  return n;
}

/** Bytes of the varint ProtoOut.varint64 writes for `v`. */
export function varint64Size(v: number): number {
  if (v >= 0 && v <= 0xffffffff) return varintSize(v);
  split64(v);
  let low = HALVES[0]!;
  let high = HALVES[1]!;
  let n = 1;
  while (high > 0 || low > 0x7f) {
    low = ((low >>> 7) | (high << 25)) >>> 0;
    high >>>= 7;
    n++;
  }
  return n;
}
