// Reads the 128-byte records native/conntrack hands over (layout in
// native/conntrack/src/ct-record.h; keep the offsets in step).

export const RECORD_SIZE = 128;

export const REC_NEW = 1;
export const REC_UPDATE = 2;
export const REC_DESTROY = 3;
export const REC_DUMP = 4;

export const RF_HAS_COUNTERS = 1 << 0;
export const RF_HAS_STATUS = 1 << 1;
export const RF_HAS_TCP_STATE = 1 << 2;
export const RF_HAS_MARK = 1 << 3;
export const RF_HAS_ZONE = 1 << 4;
export const RF_HAS_ID = 1 << 5;
export const RF_HAS_REPLY = 1 << 6;
/**
 * A dump record whose key also came in an event read right after its dump
 * message (native/conntrack/src/ct-record.h): the snapshot may be older or
 * newer than that event, so only the events may change the connection.
 */
export const RF_CONTESTED = 1 << 7;

/** IPS_* status bits (linux/netfilter/nf_conntrack_common.h). */
export const IPS_ASSURED = 1 << 2;
export const IPS_SRC_NAT = 1 << 4;
export const IPS_DST_NAT = 1 << 5;

/** enum tcp_conntrack. */
export const TCP_STATE_NAMES = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
] as const;
export const TCP_ESTABLISHED = 3;
export const TCP_TIME_WAIT = 7;
export const TCP_CLOSE = 8;

/** Byte offsets of the four addresses inside a record. */
export const OFF_ORIG_SRC = 32;
export const OFF_ORIG_DST = 48;
export const OFF_REPLY_SRC = 64;
export const OFF_REPLY_DST = 80;

/** A batch of records over one ArrayBuffer; accessors take the record index. */
export class RecordView {
  readonly bytes: Uint8Array;
  readonly count: number;
  readonly #dv: DataView;

  constructor(buffer: ArrayBuffer) {
    this.bytes = new Uint8Array(buffer);
    this.#dv = new DataView(buffer);
    this.count = Math.floor(buffer.byteLength / RECORD_SIZE);
  }

  type(i: number): number { return this.bytes[i * RECORD_SIZE]!; }
  family(i: number): number { return this.bytes[i * RECORD_SIZE + 1]!; }
  proto(i: number): number { return this.bytes[i * RECORD_SIZE + 2]!; }
  tcpState(i: number): number { return this.bytes[i * RECORD_SIZE + 3]!; }
  status(i: number): number { return this.#dv.getUint32(i * RECORD_SIZE + 4, true); }
  mark(i: number): number { return this.#dv.getUint32(i * RECORD_SIZE + 8, true); }
  id(i: number): number { return this.#dv.getUint32(i * RECORD_SIZE + 12, true); }
  zone(i: number): number { return this.#dv.getUint16(i * RECORD_SIZE + 16, true); }
  flags(i: number): number { return this.#dv.getUint16(i * RECORD_SIZE + 18, true); }
  origSport(i: number): number { return this.#dv.getUint16(i * RECORD_SIZE + 20, true); }
  origDport(i: number): number { return this.#dv.getUint16(i * RECORD_SIZE + 22, true); }
  replySport(i: number): number { return this.#dv.getUint16(i * RECORD_SIZE + 24, true); }
  replyDport(i: number): number { return this.#dv.getUint16(i * RECORD_SIZE + 26, true); }
  origPackets(i: number): number { return this.#dv.getFloat64(i * RECORD_SIZE + 96, true); }
  origBytes(i: number): number { return this.#dv.getFloat64(i * RECORD_SIZE + 104, true); }
  replyPackets(i: number): number { return this.#dv.getFloat64(i * RECORD_SIZE + 112, true); }
  replyBytes(i: number): number { return this.#dv.getFloat64(i * RECORD_SIZE + 120, true); }

  /**
   * A string key for the connection: original tuple, protocol, zone and the
   * kernel's id, so a reused 5-tuple (a new connection after the old entry died)
   * is a different key.
   */
  key(i: number): string {
    // One flat string from 16-bit units in a single call: concatenating pieces
    // makes cons strings that cost more to hash than the Map operation itself.
    const b = i * RECORD_SIZE;
    const u = this.bytes;
    const w = (o: number) => (u[b + o]! << 8) | u[b + o + 1]!;
    return String.fromCharCode(
      u[b + 2]!, w(12), w(14), w(20), w(22),
      w(32), w(34), w(36), w(38), w(40), w(42), w(44), w(46),
      w(48), w(50), w(52), w(54), w(56), w(58), w(60), w(62),
    );
  }
}
