// Just enough DNS wire format (RFC 1035 §4.1) for the end-to-end tests' own
// server and client: queries with one question, and responses to them.

export const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;
export const TYPE_A = 1;
export const TYPE_AAAA = 28;

function encodeName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.split('.').filter((l) => l !== '')) {
    const b = Buffer.from(label, 'latin1');
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function encodeQuery(id: number, name: string, type = TYPE_A): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x0100, 2); // RD
  h.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([h, encodeName(name), tail]);
}

export interface Question {
  id: number;
  name: string;
  type: number;
  /** Offset just past the question. */
  end: number;
}

/** The first question of a message (no compression: queries never use it), or undefined. */
export function readQuestion(msg: Buffer): Question | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let o = 12;
  for (;;) {
    const n = msg[o];
    if (n === undefined || n > 63) return undefined;
    o++;
    if (n === 0) break;
    if (o + n > msg.length) return undefined;
    labels.push(msg.toString('latin1', o, o + n));
    o += n;
  }
  if (o + 4 > msg.length) return undefined;
  return { id: msg.readUInt16BE(0), name: labels.join('.'), type: msg.readUInt16BE(o), end: o + 4 };
}

/** A response to `query` with `rcode`, and `answers` A records (192.0.2.x) when NOERROR. */
export function encodeResponse(query: Buffer, q: Question, rcode: number, answers: number): Buffer {
  const h = Buffer.from(query.subarray(0, 12));
  h.writeUInt16BE(0x8180 | rcode, 2); // QR, RD, RA
  h.writeUInt16BE(1, 4);
  const n = rcode === RCODE.NOERROR && q.type === TYPE_A ? answers : 0;
  h.writeUInt16BE(n, 6);
  h.writeUInt16BE(0, 8);
  h.writeUInt16BE(0, 10);
  const rrs: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // the question's name
    rr.writeUInt16BE(TYPE_A, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(4, 10);
    rr.set([192, 0, 2, (i % 254) + 1], 12);
    rrs.push(rr);
  }
  return Buffer.concat([h, query.subarray(12, q.end), ...rrs]);
}

/** The response code of a response. */
export function rcodeOf(msg: Buffer): number {
  return msg.readUInt16BE(2) & 0xf;
}
