// Builds DNS messages byte by byte for the tests (RFC 1035 §4.1): the parser is
// tested against these, never against its own output.

export interface Header {
  id?: number;
  qr?: boolean;
  opcode?: number;
  aa?: boolean;
  tc?: boolean;
  rd?: boolean;
  ra?: boolean;
  rcode?: number;
  qdcount?: number;
  ancount?: number;
  nscount?: number;
  arcount?: number;
}

export function header(h: Header = {}): number[] {
  const flags = (h.qr ? 0x8000 : 0) | ((h.opcode ?? 0) << 11) | (h.aa ? 0x0400 : 0) | (h.tc ? 0x0200 : 0)
    | (h.rd ?? true ? 0x0100 : 0) | (h.ra ? 0x0080 : 0) | (h.rcode ?? 0);
  return [...u16(h.id ?? 0x1234), ...u16(flags), ...u16(h.qdcount ?? 1), ...u16(h.ancount ?? 0), ...u16(h.nscount ?? 0), ...u16(h.arcount ?? 0)];
}

export function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

export function u32(n: number): number[] {
  return [...u16(Math.floor(n / 65536)), ...u16(n & 0xffff)];
}

/** Uncompressed wire form of a dotted name ("" or "." is the root). */
export function name(dotted: string): number[] {
  const out: number[] = [];
  for (const label of dotted.split('.').filter((l) => l !== '')) {
    const bytes = [...Buffer.from(label, 'latin1')];
    out.push(bytes.length, ...bytes);
  }
  out.push(0);
  return out;
}

/** A compression pointer to `offset`. */
export function ptr(offset: number): number[] {
  return [0xc0 | (offset >> 8), offset & 0xff];
}

export function question(dotted: string, type = 1, cls = 1): number[] {
  return [...name(dotted), ...u16(type), ...u16(cls)];
}

/** A resource record: owner as wire bytes (a name or a pointer). */
export function rr(owner: number[], type: number, ttl: number, rdata: number[], cls = 1): number[] {
  return [...owner, ...u16(type), ...u16(cls), ...u32(ttl), ...u16(rdata.length), ...rdata];
}

/** EDNS0 OPT pseudo-record (RFC 6891) advertising `udpSize`. */
export function opt(udpSize = 1232): number[] {
  return [0, ...u16(41), ...u16(udpSize), 0, 0, 0, 0, ...u16(0)];
}

export function query(dotted: string, type = 1, h: Header = {}): Uint8Array {
  return new Uint8Array([...header({ qdcount: 1, ...h }), ...question(dotted, type)]);
}

/** A response to `dotted` with one A answer whose owner is compressed to the question. */
export function response(dotted: string, type = 1, h: Header = {}): Uint8Array {
  const answers = h.rcode ? [] : rr(ptr(12), type === 28 ? 28 : 1, 30, type === 28 ? new Array(16).fill(1) : [10, 0, 0, 7]);
  return new Uint8Array([...header({ qr: true, ra: true, qdcount: 1, ancount: answers.length ? 1 : 0, ...h }), ...question(dotted, type), ...answers]);
}

/** TCP framing: each message behind its 2-byte length. */
export function tcpFrame(...messages: Uint8Array[]): Uint8Array {
  return new Uint8Array(messages.flatMap((m) => [...u16(m.length), ...m]));
}
