// Matches captured DNS queries to their responses and turns each finished
// lookup (answered, or unanswered past the timeout) into one FlowBatch row on
// the client → server edge: dnsRequests = 1, dnsDurationUs = the response time.
//
// Decisions worth knowing:
// - A lookup is keyed by (protocol, client addr+port, server addr+port, DNS id).
//   A retransmitted query with the same key keeps the first query's time (the
//   client waited since then).
// - A response whose question differs from its query's (name, type or class) is
//   not an answer: resolvers drop it too (RFC 5452 §9.1, the spoofing check), so
//   it counts as unmatchedResponse() and the query stays pending. A response
//   without a question (servers often omit it from FORMERR) matches by key alone.
// - Only opcode QUERY is a lookup; NOTIFY, UPDATE and the like are ignored.
// - TCP: a segment's payload is walked by DNS's 2-byte length prefixes. A message
//   going on past the captured bytes is parsed if its header and question fit
//   (what the metric needs); if the capture cut it, truncated() counts it. With
//   DnsPacket.wireLength the bytes a message still has in later segments are
//   skipped there, so a continuation segment is never read as a new message.
//   The capture has no sequence numbers, so a retransmitted segment is seen
//   again: a repeated response counts as unmatchedResponse(), and a repeated
//   first segment of a multi-segment message can desynchronise that stream
//   until its next segment (counted as parse errors, never as lookups).
// - Everything dropped is counted through DnsEvents: parse failures (by reason),
//   cut captures, responses that answer nothing pending, queries evicted to stay
//   within maxPending, lookups that timed out (those do get a row).

import type { FlowBatch } from '../../../pdata/flow-batch.ts';
import { CUT_REASONS, DNS_PARSE_FAILURES, parseDnsMessage, type DnsMessage, type DnsParseFailure, type DnsQuestion } from './dns-message.ts';
import { ENDS_CLIENT, ENDS_CLIENT_PORT, ENDS_SERVER, ENDS_SERVER_PORT, ENDS_SIZE, FinishedLookups, NO_QUESTION, RCODE_TIMEOUT } from './finished-lookups.ts';
import { QueryNamePolicy } from './query-name-policy.ts';
import type { QueryNamesConfig } from './query-names-config.ts';

export { ATTR_QUESTION_NAME, ATTR_QUESTION_TYPE, ATTR_RESPONSE_CODE } from './finished-lookups.ts';

export interface DnsPacket {
  /** Capture time, CLOCK_MONOTONIC ns (bpf_ktime_get_ns). */
  timeNs: number;
  protocol: 6 | 17;
  family: 4 | 6;
  /** true: client → server (a query); false: server → client (a response). */
  fromClient: boolean;
  /** 16 bytes; IPv4 as v4-mapped (::ffff:a.b.c.d), as FlowBatch stores them. */
  clientAddr: Uint8Array;
  clientPort: number;
  serverAddr: Uint8Array;
  serverPort: number;
  /**
   * Transport payload as captured: UDP = one DNS message; TCP = segment data
   * starting with DNS's 2-byte length prefix, possibly several messages, possibly cut.
   */
  payload: Uint8Array;
  /** The capture holds less than the packet carried (the BPF side copies at most 512 bytes). */
  truncated: boolean;
  /**
   * Transport payload length on the wire, when the datapath knows it. Optional:
   * without it a truncated TCP segment's length is unknown, so the rest of a
   * message that continues in the next segment cannot be skipped there.
   */
  wireLength?: number;
}

export interface DnsEvents {
  /** A message that could not be read (a DnsPacketFailure). */
  parseError(reason: string): void;
  /** A packet or TCP message the capture cut short. */
  truncated(): void;
  /** A response with no pending query (late, duplicate, or not answering its query's question). */
  unmatchedResponse(): void;
  /** The oldest pending query dropped to stay within maxPending. */
  pendingEvicted(): void;
  /** A query unanswered past timeoutMs (reported with dns.response_code=TIMEOUT). */
  timedOut(): void;
  /** A finished lookup dropped because maxFinished were already waiting for the next flush. */
  finishedDropped?(): void;
}

export type DnsPacketFailure = DnsParseFailure | 'unexpected_direction';

/** Every reason parseError() can report, e.g. to declare a counter's series up front. */
export const DNS_PACKET_FAILURES: readonly DnsPacketFailure[] = [...DNS_PARSE_FAILURES, 'unexpected_direction'];

export interface DnsTransactionsOptions {
  timeoutMs: number;
  maxPending: number;
  queryNames: QueryNamesConfig;
  events: DnsEvents;
  /** Finished lookups held between two flushes (one row each); default 1,048,576. */
  maxFinished?: number;
}

/** A pending query; its key in the map holds the protocol, addresses and ports. */
interface Lookup {
  family: number;
  queryNs: number;
  question: DnsQuestion | undefined;
}

interface TcpStream {
  /** Bytes of a message begun in an earlier segment that the next segments still carry. */
  skip: number;
  /** Captured bytes to put in front of the next segment (a length prefix split in two). */
  carry: Uint8Array | undefined;
  timeNs: number;
}

// The protocol, then the two ends as FinishedLookups stores them, then a 2-byte
// tail: the DNS id for lookups, the direction for TCP streams. One byte per
// latin1 character of the key string.
const K_ENDS = 1;
const K_TAIL = K_ENDS + ENDS_SIZE;
const KEY_SIZE = K_TAIL + 2;

export class DnsTransactions {
  readonly #timeoutNs: number;
  readonly #maxPending: number;
  readonly #maxFinished: number;
  readonly #events: DnsEvents;
  readonly #policy: QueryNamePolicy;
  readonly #pending = new Map<string, Lookup>(); // insertion order = age: the first is evicted first
  readonly #streams = new Map<string, TcpStream>();
  readonly #finished = new FinishedLookups();
  readonly #key = Buffer.alloc(KEY_SIZE);

  constructor(opts: DnsTransactionsOptions) {
    this.#timeoutNs = opts.timeoutMs * 1e6;
    this.#maxPending = Math.max(1, opts.maxPending);
    this.#maxFinished = Math.max(1, opts.maxFinished ?? 1 << 20);
    this.#events = opts.events;
    this.#policy = new QueryNamePolicy(opts.queryNames);
  }

  /** Outstanding queries (for a gauge). */
  get pending(): number {
    return this.#pending.size;
  }

  observe(p: DnsPacket): void {
    if (p.protocol === 6) {
      this.#tcp(p);
      return;
    }
    if (p.truncated) this.#events.truncated();
    this.#message(p, p.payload, p.truncated);
  }

  /** Appends one FlowBatch row per transaction finished since the last flush: answered, or unanswered for longer than timeoutMs at nowNs (then dns.response_code=TIMEOUT, no duration sample).
   * nowNs is on the packets' clock, CLOCK_MONOTONIC: Number(process.hrtime.bigint()) on Linux.
   */
  flush(batch: FlowBatch, nowNs: number): void {
    for (const [key, q] of this.#pending) {
      if (nowNs - q.queryNs <= this.#timeoutNs) continue;
      this.#pending.delete(key);
      this.#events.timedOut();
      this.#key.write(key, 'latin1');
      this.#finish(q, RCODE_TIMEOUT, 0);
    }
    for (const [key, s] of this.#streams) if (nowNs - s.timeNs > this.#timeoutNs) this.#streams.delete(key);
    const keep = this.#policy.keepsNames ? this.#policy.select(this.#finished.nameCounts()) : new Set<string>();
    this.#finished.drainInto(batch, keep);
  }

  /** `cut`: the bytes end before the message did, so running out of them is no parse error. */
  #message(p: DnsPacket, bytes: Uint8Array, cut: boolean): void {
    const r = parseDnsMessage(bytes);
    if (!r.ok) {
      if (!(cut && CUT_REASONS.has(r.reason))) this.#events.parseError(r.reason);
      return;
    }
    const m = r.message;
    if (m.isResponse === p.fromClient) {
      this.#events.parseError('unexpected_direction' satisfies DnsPacketFailure);
      return;
    }
    if (m.opcode !== 0) return;
    if (m.isResponse) this.#response(p, m);
    else this.#query(p, m);
  }

  #query(p: DnsPacket, m: DnsMessage): void {
    const key = this.#keyOf(p, m.id);
    if (this.#pending.has(key)) return;
    if (this.#pending.size >= this.#maxPending) {
      const oldest = this.#pending.keys().next().value!;
      this.#pending.delete(oldest);
      this.#events.pendingEvicted();
    }
    this.#pending.set(key, { family: p.family, queryNs: p.timeNs, question: m.question });
  }

  #response(p: DnsPacket, m: DnsMessage): void {
    const key = this.#keyOf(p, m.id);
    const q = this.#pending.get(key);
    if (q === undefined || (m.question !== undefined && q.question !== undefined && !sameQuestion(m.question, q.question))) {
      this.#events.unmatchedResponse();
      return;
    }
    this.#pending.delete(key);
    // At least 1 µs: 0 means "no sample", and CPUs' clocks may disagree by a little.
    this.#finish(q, m.rcode, Math.max(1, Math.round((p.timeNs - q.queryNs) / 1000)));
  }

  /** Stores a finished lookup; its key's bytes are in this.#key. */
  #finish(q: Lookup, rcode: number, durationUs: number): void {
    if (this.#finished.length >= this.#maxFinished) {
      this.#events.finishedDropped?.();
      return;
    }
    const question = q.question;
    this.#finished.add(this.#key[0]!, q.family, this.#key, K_ENDS, rcode, question ? question.type : NO_QUESTION, question ? question.name : '', durationUs);
  }

  #tcp(p: DnsPacket): void {
    let data = p.payload;
    let wire = p.wireLength ?? (p.truncated ? -1 : data.length); // -1: unknown
    const sk = this.#keyOf(p, p.fromClient ? 1 : 2);
    const st = this.#streams.get(sk);
    let off = 0;
    if (st !== undefined) {
      this.#streams.delete(sk);
      if (st.carry !== undefined) {
        const joined = new Uint8Array(st.carry.length + data.length);
        joined.set(st.carry);
        joined.set(data, st.carry.length);
        data = joined;
        if (wire >= 0) wire += st.carry.length;
      } else if (wire >= 0 && st.skip >= wire) {
        // All of this segment continues the message.
        if (st.skip > wire) this.#keepStream(sk, { skip: st.skip - wire, carry: undefined, timeNs: p.timeNs });
        return;
      } else if (st.skip >= data.length) {
        // The capture ends inside the message: whatever follows it in this
        // segment is out of sight, and the next segment is read from its start,
        // where messages usually begin.
        if (wire > st.skip) this.#events.truncated();
        return;
      } else {
        off = st.skip;
      }
    }
    const cap = data.length;
    const capturedAll = wire >= 0 && wire <= cap;
    while (off < cap) {
      if (off + 2 > cap) {
        if (capturedAll) this.#keepStream(sk, { skip: 0, carry: data.slice(off), timeNs: p.timeNs });
        else this.#events.truncated();
        return;
      }
      const start = off + 2;
      const end = start + ((data[off]! << 8) | data[off + 1]!);
      if (end <= cap) {
        this.#message(p, data.subarray(start, end), false);
        off = end;
        continue;
      }
      if (!capturedAll) this.#events.truncated();
      this.#message(p, data.subarray(start, cap), true);
      if (wire >= 0 && end > wire) this.#keepStream(sk, { skip: end - wire, carry: undefined, timeNs: p.timeNs });
      return;
    }
  }

  #keepStream(key: string, s: TcpStream): void {
    // Bounded like the lookups; losing one only costs the sync of one connection.
    if (this.#streams.size >= this.#maxPending) this.#streams.delete(this.#streams.keys().next().value!);
    this.#streams.set(key, s);
  }

  #keyOf(p: DnsPacket, tail: number): string {
    const k = this.#key;
    k[0] = p.protocol;
    k.set(p.clientAddr.subarray(0, 16), K_ENDS + ENDS_CLIENT);
    k.set(p.serverAddr.subarray(0, 16), K_ENDS + ENDS_SERVER);
    k[K_ENDS + ENDS_CLIENT_PORT] = p.clientPort >> 8;
    k[K_ENDS + ENDS_CLIENT_PORT + 1] = p.clientPort;
    k[K_ENDS + ENDS_SERVER_PORT] = p.serverPort >> 8;
    k[K_ENDS + ENDS_SERVER_PORT + 1] = p.serverPort;
    k[K_TAIL] = tail >> 8;
    k[K_TAIL + 1] = tail;
    return k.toString('latin1', 0, KEY_SIZE);
  }
}

function sameQuestion(a: DnsQuestion, b: DnsQuestion): boolean {
  return a.name === b.name && a.type === b.type && a.class === b.class;
}
