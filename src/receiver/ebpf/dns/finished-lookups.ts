// The lookups finished since the last flush, held in columns until they become
// FlowBatch rows. A busy node finishes hundreds of thousands of lookups per
// interval; as objects they cost ~240 bytes each and all survive into the old
// generation, as columns ~56 bytes and no garbage. Query names are interned
// per interval, which also counts them for the top-N choice.

import { FLAG_SOURCE_IS_CLIENT, type FlowBatch } from '../../../pdata/flow-batch.ts';
import { dnsRcodeName, dnsTypeName, TIMEOUT_RCODE_NAME } from './dns-names.ts';

/** Bytes of a lookup's two ends: client addr (16), server addr (16), client port, server port (big-endian). */
export const ENDS_SIZE = 36;
export const ENDS_CLIENT = 0;
export const ENDS_SERVER = 16;
export const ENDS_CLIENT_PORT = 32;
export const ENDS_SERVER_PORT = 34;

export const RCODE_TIMEOUT = 255;
export const NO_QUESTION = -1;

export const ATTR_QUESTION_NAME = 'dns.question.name';
export const ATTR_QUESTION_TYPE = 'dns.question.type';
export const ATTR_RESPONSE_CODE = 'dns.response_code';

const INITIAL = 256;

interface Name {
  id: number;
  count: number;
}

export class FinishedLookups {
  length = 0;
  #capacity = INITIAL;
  #protocol = new Uint8Array(INITIAL);
  #family = new Uint8Array(INITIAL);
  #ends = new Uint8Array(INITIAL * ENDS_SIZE);
  #rcode = new Uint8Array(INITIAL);
  #type = new Int32Array(INITIAL); // NO_QUESTION: the query had none
  #name = new Int32Array(INITIAL); // index into #names
  #durationUs = new Float64Array(INITIAL);
  #names: string[] = [];
  #nameIndex = new Map<string, Name>();

  /**
   * Adds a lookup; `ends` holds ENDS_SIZE bytes at `endsOffset`. rcode 0-15, or
   * RCODE_TIMEOUT; type NO_QUESTION when there was no question (name ignored).
   */
  add(protocol: number, family: number, ends: Uint8Array, endsOffset: number, rcode: number, type: number, name: string, durationUs: number): void {
    if (this.length === this.#capacity) this.#grow(this.#capacity * 2);
    const i = this.length++;
    this.#protocol[i] = protocol;
    this.#family[i] = family;
    this.#ends.set(ends.subarray(endsOffset, endsOffset + ENDS_SIZE), i * ENDS_SIZE);
    this.#rcode[i] = rcode;
    this.#type[i] = type;
    this.#durationUs[i] = durationUs;
    if (type === NO_QUESTION) {
      this.#name[i] = -1;
      return;
    }
    let n = this.#nameIndex.get(name);
    if (n === undefined) {
      n = { id: this.#names.length, count: 0 };
      this.#names.push(name);
      this.#nameIndex.set(name, n);
    }
    n.count++;
    this.#name[i] = n.id;
  }

  /** How often each query name was looked up. */
  nameCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, n] of this.#nameIndex) out.set(name, n.count);
    return out;
  }

  /** Appends one row per lookup (client → server), names only where `keep` has them, then empties the store. */
  drainInto(batch: FlowBatch, keep: ReadonlySet<string>): void {
    const n = this.length;
    if (n > 0) {
      // Grown once, so the columns fetched here stay the batch's own while rows are added.
      if (batch.capacity < batch.length + n) batch.grow(batch.length + n);
      const rcodeCol = batch.attributeColumn(ATTR_RESPONSE_CODE);
      const typeCol = batch.attributeColumn(ATTR_QUESTION_TYPE);
      const nameCol = keep.size > 0 ? batch.attributeColumn(ATTR_QUESTION_NAME) : undefined;
      const strings = batch.strings;
      // String-table indexes, looked up once per distinct value.
      const rcodeIdx = new Map<number, number>();
      const typeIdx = new Map<number, number>();
      const nameIdx = this.#names.map((name) => (keep.has(name) ? strings.intern(name) : -1));
      const ends = this.#ends;
      for (let i = 0; i < n; i++) {
        const r = batch.addRow();
        batch.family[r] = this.#family[i]!;
        batch.protocol[r] = this.#protocol[i]!;
        batch.flags[r] = FLAG_SOURCE_IS_CLIENT;
        const e = i * ENDS_SIZE;
        batch.srcAddr.set(ends.subarray(e + ENDS_CLIENT, e + ENDS_CLIENT + 16), r * 16);
        batch.dstAddr.set(ends.subarray(e + ENDS_SERVER, e + ENDS_SERVER + 16), r * 16);
        batch.srcPort[r] = (ends[e + ENDS_CLIENT_PORT]! << 8) | ends[e + ENDS_CLIENT_PORT + 1]!;
        batch.dstPort[r] = (ends[e + ENDS_SERVER_PORT]! << 8) | ends[e + ENDS_SERVER_PORT + 1]!;
        batch.counters.dnsRequests[r] = 1;
        batch.counters.dnsDurationUs[r] = this.#durationUs[i]!;
        const rc = this.#rcode[i]!;
        let ri = rcodeIdx.get(rc);
        if (ri === undefined) rcodeIdx.set(rc, ri = strings.intern(rc === RCODE_TIMEOUT ? TIMEOUT_RCODE_NAME : dnsRcodeName(rc)));
        rcodeCol[r] = ri;
        const type = this.#type[i]!;
        if (type === NO_QUESTION) continue;
        let ti = typeIdx.get(type);
        if (ti === undefined) typeIdx.set(type, ti = strings.intern(dnsTypeName(type)));
        typeCol[r] = ti;
        const ni = nameIdx[this.#name[i]!]!;
        if (nameCol && ni >= 0) nameCol[r] = ni;
      }
    }
    this.length = 0;
    this.#names = [];
    this.#nameIndex = new Map();
    // A burst should not pin its memory for good.
    if (this.#capacity > INITIAL && n < this.#capacity / 4) this.#grow(Math.max(INITIAL, this.#capacity / 2), false);
  }

  #grow(capacity: number, keep = true): void {
    const n = keep ? this.length : 0;
    const g = <T extends Uint8Array | Int32Array | Float64Array>(a: T, make: (len: number) => T, w = 1): T => {
      const b = make(capacity * w);
      if (n) b.set(a.subarray(0, n * w) as never);
      return b;
    };
    this.#protocol = g(this.#protocol, (l) => new Uint8Array(l));
    this.#family = g(this.#family, (l) => new Uint8Array(l));
    this.#ends = g(this.#ends, (l) => new Uint8Array(l), ENDS_SIZE);
    this.#rcode = g(this.#rcode, (l) => new Uint8Array(l));
    this.#type = g(this.#type, (l) => new Int32Array(l));
    this.#name = g(this.#name, (l) => new Int32Array(l));
    this.#durationUs = g(this.#durationUs, (l) => new Float64Array(l));
    this.#capacity = capacity;
  }
}
