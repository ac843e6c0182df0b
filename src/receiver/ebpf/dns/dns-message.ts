// A DNS message's header and first question (RFC 1035 §4.1), read from bytes
// captured off the wire by the datapath: all a lookup metric needs.
//
// The bytes are hostile by assumption, so the reader is bounded and never throws:
// it never indexes past the buffer, follows at most MAX_POINTERS compression
// pointers, each strictly before the place the current name segment started
// (so pointers cannot loop), and refuses names over 255 bytes on the wire.
// A failure is a stable snake_case reason, used as a self-metric label.
//
// The answer, authority and additional sections are not read: the capture keeps
// at most the first 512 bytes, and the header and question are always first.
// The response code is therefore the header's 4 bits (EDNS0 extended codes such
// as BADVERS, in the OPT record, are not looked at).

export interface DnsQuestion {
  /** Presentation form: lower case, no trailing dot ("." for the root), see formatName. */
  name: string;
  type: number;
  class: number;
}

export interface DnsMessage {
  id: number;
  isResponse: boolean;
  opcode: number;
  rcode: number;
  truncatedFlag: boolean;
  questionCount: number;
  answerCount: number;
  /** The first question; undefined when QDCOUNT is 0. */
  question: DnsQuestion | undefined;
}

export type DnsParseResult = { ok: true; message: DnsMessage } | { ok: false; reason: DnsParseFailure };

/**
 * Why a message was refused. 'short_header', 'short_question' and
 * 'truncated_name' mean the bytes ran out (CUT_REASONS): for a message the
 * capture cut short they say nothing about the sender.
 */
export type DnsParseFailure =
  | 'short_header' // fewer than 12 bytes
  | 'short_question' // QDCOUNT > 0 but no room for the name, or the name is not followed by TYPE and CLASS
  | 'truncated_name' // a label or a compression pointer runs past the end of the message
  | 'bad_name' // a label of the reserved type 10 (first byte 0x80-0xBF)
  | 'label_too_long' // a length byte of 64-127 (type 01, the obsolete extended labels: in practice an over-long label)
  | 'name_too_long' // more than 255 bytes on the wire
  | 'bad_pointer' // a compression pointer into the 12-byte header
  | 'pointer_loop' // a compression pointer not strictly before its name segment (the only way to build a loop)
  | 'too_many_pointers'; // more than MAX_POINTERS pointers in one name

export const DNS_PARSE_FAILURES: readonly DnsParseFailure[] = [
  'short_header', 'short_question', 'truncated_name', 'bad_name', 'label_too_long',
  'name_too_long', 'bad_pointer', 'pointer_loop', 'too_many_pointers',
];

/** The reasons that only say the bytes ran out. */
export const CUT_REASONS: ReadonlySet<DnsParseFailure> = new Set(['short_header', 'short_question', 'truncated_name']);

export const HEADER_SIZE = 12;
export const MAX_NAME_WIRE_BYTES = 255;
export const MAX_LABEL_BYTES = 63;
/** A name has at most 127 labels, and real encoders chain two or three pointers; 16 is generous. */
export const MAX_POINTERS = 16;

export type DnsNameResult = { ok: true; name: string; end: number } | { ok: false; reason: DnsParseFailure };

// Presentation bytes of the name being read. Escapes take 4 bytes per wire byte
// at most, and a name holds at most 255 wire bytes.
const scratch = Buffer.alloc(4 * MAX_NAME_WIRE_BYTES);

/**
 * Reads the (possibly compressed) name at `offset`. `end` is the offset just
 * past the name where it starts, i.e. past its first pointer when compressed.
 */
export function readDnsName(bytes: Uint8Array, offset: number): DnsNameResult {
  // An offset that indexes nothing would read undefined forever, not run out.
  if (!Number.isInteger(offset) || offset < 0) return { ok: false, reason: 'truncated_name' };
  const len = bytes.length;
  let pos = offset;
  let segmentStart = offset; // a pointer must go strictly before this
  let end = -1;
  let wire = 0;
  let pointers = 0;
  let out = 0;
  for (;;) {
    if (pos >= len) return { ok: false, reason: 'truncated_name' };
    const b = bytes[pos]!;
    if (b === 0) {
      wire += 1;
      if (wire > MAX_NAME_WIRE_BYTES) return { ok: false, reason: 'name_too_long' };
      if (end < 0) end = pos + 1;
      break;
    }
    const kind = b & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= len) return { ok: false, reason: 'truncated_name' };
      const target = ((b & 0x3f) << 8) | bytes[pos + 1]!;
      if (target < HEADER_SIZE) return { ok: false, reason: 'bad_pointer' };
      if (target >= segmentStart) return { ok: false, reason: 'pointer_loop' };
      if (++pointers > MAX_POINTERS) return { ok: false, reason: 'too_many_pointers' };
      if (end < 0) end = pos + 2;
      pos = segmentStart = target;
      continue;
    }
    if (kind === 0x40) return { ok: false, reason: 'label_too_long' };
    if (kind === 0x80) return { ok: false, reason: 'bad_name' };
    wire += 1 + b;
    if (wire + 1 > MAX_NAME_WIRE_BYTES) return { ok: false, reason: 'name_too_long' };
    if (pos + 1 + b > len) return { ok: false, reason: 'truncated_name' };
    if (out > 0) scratch[out++] = 0x2e;
    for (let i = pos + 1, stop = pos + 1 + b; i < stop; i++) out = putByte(bytes[i]!, out);
    pos += 1 + b;
  }
  return { ok: true, name: out === 0 ? '.' : scratch.toString('latin1', 0, out), end };
}

// Letters (lower-cased), digits and - _ * / (as in RFC 2317 reverse names) stay;
// every other byte, dots and backslashes inside a label included, becomes \DDD,
// which is valid presentation format and cannot break out of a log line, a
// label value or a suffix match on dots.
function putByte(c: number, out: number): number {
  if (c >= 0x61 && c <= 0x7a) scratch[out++] = c;
  else if (c >= 0x41 && c <= 0x5a) scratch[out++] = c + 0x20;
  else if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2a || c === 0x2f) scratch[out++] = c;
  else {
    scratch[out++] = 0x5c;
    scratch[out++] = 0x30 + ((c / 100) | 0);
    scratch[out++] = 0x30 + (((c / 10) | 0) % 10);
    scratch[out++] = 0x30 + (c % 10);
  }
  return out;
}

export function parseDnsMessage(bytes: Uint8Array): DnsParseResult {
  if (bytes.length < HEADER_SIZE) return { ok: false, reason: 'short_header' };
  const flags = (bytes[2]! << 8) | bytes[3]!;
  const questionCount = (bytes[4]! << 8) | bytes[5]!;
  let question: DnsQuestion | undefined;
  if (questionCount > 0) {
    if (bytes.length <= HEADER_SIZE) return { ok: false, reason: 'short_question' };
    const n = readDnsName(bytes, HEADER_SIZE);
    if (!n.ok) return n;
    if (n.end + 4 > bytes.length) return { ok: false, reason: 'short_question' };
    question = {
      name: n.name,
      type: (bytes[n.end]! << 8) | bytes[n.end + 1]!,
      class: (bytes[n.end + 2]! << 8) | bytes[n.end + 3]!,
    };
  }
  return {
    ok: true,
    message: {
      id: (bytes[0]! << 8) | bytes[1]!,
      isResponse: (flags & 0x8000) !== 0,
      opcode: (flags >> 11) & 0xf,
      rcode: flags & 0xf,
      truncatedFlag: (flags & 0x0200) !== 0,
      questionCount,
      answerCount: (bytes[6]! << 8) | bytes[7]!,
      question,
    },
  };
}
