// Generates the FlowBatch of one interval. The batch for interval i is a pure
// function of (config, i): every random choice is drawn from a generator
// seeded by hash(seed, i, flow), so a test or an e2e check can call
// generateInterval() and get exactly what the receiver emitted.
//
// Rows per interval: flows_per_interval long-lived flows (TCP connections that
// live for a number of intervals, or a pod's DNS traffic to kube-dns over UDP)
// plus the short-lived TCP connections opened in the interval; each yields a
// client→server edge and its server→client reply edge. After those pairs come
// the event rows, as the ebpf receiver writes them: one per pod's DNS lookups of
// the interval (dnsRequests, a response-time sample, dns.question.type and
// dns.response_code) and one per refused connect (its SYN dropped, no_socket).

import {
  FLAG_CONNECTION_ENDED, FLAG_SOURCE_IS_CLIENT, FlowBatch, PROTO_TCP, PROTO_UDP,
} from '../../pdata/flow-batch.ts';
import type { SyntheticConfig } from './config.ts';
import { EdgeWriter } from './edge-writer.ts';
import { flowModel, type FlowModel } from './flow-model.ts';
import { hash32, Rng } from './rng.ts';

export interface IntervalWindow {
  startTimeMs: number;
  endTimeMs: number;
}

const MSS = 1448; // typical TCP payload per segment with timestamps on a 1500 MTU
const EPHEMERAL_LOW = 32768; // Linux ip_local_port_range
const EPHEMERAL_SPAN = 60999 - 32768 + 1;
const SALT_FLOW = 0xf10;
const SALT_GEN = 0x6e7;
const SALT_CHURN = 0xc4a;
const FAILED_CONNECT_RATIO = 0.02;
const RESET_RATIO = 0.02;
const RETRANSMIT_RATIO = 0.04;
const SALT_DNS = 0xd45;
/** Shares of a pod's interval of lookups answered NXDOMAIN and SERVFAIL (the rest NOERROR). */
const NXDOMAIN_RATIO = 0.06;
const SERVFAIL_RATIO = 0.02;

/** The window interval i covers, counted from `epochMs` (the receiver's start). */
export function intervalWindow(c: SyntheticConfig, i: number, epochMs = 0): IntervalWindow {
  return { startTimeMs: epochMs + i * c.interval, endTimeMs: epochMs + (i + 1) * c.interval };
}

/** Short-lived connections opened in interval i (fractions carry over, so the long-run rate is exact). */
export function churnCount(c: SyntheticConfig, i: number): number {
  const perInterval = (c.connections_per_second * c.interval) / 1000;
  return Math.floor((i + 1) * perInterval) - Math.floor(i * perInterval);
}

export function generateInterval(c: SyntheticConfig, i: number, epochMs = 0): FlowBatch {
  if (!Number.isInteger(i) || i < 0) throw new RangeError(`interval index must be a non-negative integer, got ${i}`);
  const m = flowModel(c);
  const churn = churnCount(c, i);
  const paired = 2 * (c.flows_per_interval + churn);
  // Room for the event rows too: at most one per flow and per new connection.
  const batch = new FlowBatch(Math.max(1, paired + c.flows_per_interval + churn));
  const w = intervalWindow(c, i, epochMs);
  batch.startTimeMs = w.startTimeMs;
  batch.endTimeMs = w.endTimeMs;
  // New typed arrays are zeroed and attribute columns start unset, so rows are
  // written in place instead of through addRow().
  batch.length = paired;
  const g = new Gen(c, m, batch, i);
  for (let f = 0; f < c.flows_per_interval; f++) {
    if (m.udp[f]) g.dns(f, 2 * f);
    else g.longLived(f, 2 * f);
  }
  for (let k = 0; k < churn; k++) g.shortLived(k, 2 * (c.flows_per_interval + k));
  batch.length = g.eventRow;
  return batch;
}

/** The generation state of one interval: the batch's columns and one reusable PRNG. */
class Gen {
  readonly #c: SyntheticConfig;
  readonly #m: FlowModel;
  readonly #i: number;
  readonly #seconds: number;
  readonly #rng = new Rng();
  readonly #out: EdgeWriter;
  readonly #bytes: Float64Array;
  readonly #packets: Float64Array;
  readonly #retransmits: Float64Array;
  readonly #resets: Float64Array;
  readonly #opened: Float64Array;
  readonly #failed: Float64Array;
  readonly #closed: Float64Array;
  readonly #rtt: Float64Array;
  readonly #duration: Float64Array;
  readonly #batch: FlowBatch;
  /** Where the next event row (DNS lookups, a drop) goes: after every pair. */
  eventRow: number;

  constructor(c: SyntheticConfig, m: FlowModel, batch: FlowBatch, i: number) {
    this.#c = c;
    this.#m = m;
    this.#i = i;
    this.#seconds = c.interval / 1000;
    this.#out = new EdgeWriter(batch, m.topo);
    this.#batch = batch;
    this.eventRow = batch.length;
    const k = batch.counters;
    this.#bytes = k.bytes;
    this.#packets = k.packets;
    this.#retransmits = k.retransmits;
    this.#resets = k.resets;
    this.#opened = k.opened;
    this.#failed = k.failed;
    this.#closed = k.closed;
    this.#rtt = k.rttUs;
    this.#duration = k.durationMs;
  }

  /** A TCP connection that lives `lifetime` intervals; when it ends a new one (new port, maybe new server pod) replaces it. */
  longLived(f: number, row: number): void {
    const m = this.#m;
    const topo = m.topo;
    const life = m.lifetime[f]!;
    const age = this.#i + m.phase[f]!;
    const phase = age % life;
    const genHash = hash32(m.seed, f, Math.floor(age / life), SALT_GEN);
    const server = topo.workloads[topo.pairServer[m.pair[f]!]!]!;
    const serverPod = server.firstPod + (genHash % server.podCount);
    const clientPod = m.clientPod[f]!;
    const clientPort = EPHEMERAL_LOW + (hash32(genHash, 1) % EPHEMERAL_SPAN);
    const v6 = hash32(genHash, 2) / 0x1_0000_0000 < this.#c.ipv6_ratio;
    const rng = this.#rng.reseed(hash32(m.seed, this.#i, f, SALT_FLOW));
    const ended = phase === life - 1;
    const flags = ended ? FLAG_CONNECTION_ENDED : 0;
    const up = Math.max(66, Math.round(m.rate[f]! * this.#seconds * rng.logNormal(1, 0.35)));
    const down = Math.max(66, Math.round(up * m.replyRatio[f]! * rng.logNormal(1, 0.2)));

    const out = this.#out;
    out.edge(row, PROTO_TCP, flags | FLAG_SOURCE_IS_CLIENT, clientPod, clientPort, serverPod, server.targetPort, v6);
    out.viaService(row, server, v6);
    this.#traffic(row, up, segments(up), rng);
    this.#rtt[row] = this.#rttUs(clientPod, serverPod, rng);
    if (phase === 0) {
      this.#opened[row] = 1;
      this.#batch.counters.connectUs[row] = this.#handshakeUs(row);
    }
    if (ended) {
      this.#closed[row] = 1;
      this.#duration[row] = life * this.#c.interval;
      if (rng.next() < RESET_RATIO) this.#resets[row] = 1;
    }
    out.edge(row + 1, PROTO_TCP, flags, serverPod, server.targetPort, clientPod, clientPort, v6);
    this.#traffic(row + 1, down, segments(down), rng);
  }

  /** A pod's DNS lookups over the interval: UDP queries to kube-dns and their answers. */
  dns(f: number, row: number): void {
    const m = this.#m;
    const dns = m.topo.dns;
    const rng = this.#rng.reseed(hash32(m.seed, this.#i, f, SALT_FLOW));
    const clientPod = m.clientPod[f]!;
    const serverPod = dns.firstPod + rng.int(dns.podCount);
    const clientPort = EPHEMERAL_LOW + rng.int(EPHEMERAL_SPAN);
    const v6 = rng.next() < this.#c.ipv6_ratio;
    const queries = Math.max(1, Math.round(m.rate[f]! * this.#seconds * rng.logNormal(1, 0.3)));
    const out = this.#out;
    out.edge(row, PROTO_UDP, FLAG_SOURCE_IS_CLIENT, clientPod, clientPort, serverPod, dns.targetPort, v6);
    out.viaService(row, dns, v6);
    this.#bytes[row] = queries * (60 + rng.int(40));
    this.#packets[row] = queries;
    out.edge(row + 1, PROTO_UDP, 0, serverPod, dns.targetPort, clientPod, clientPort, v6);
    this.#bytes[row + 1] = queries * (100 + rng.int(200));
    this.#packets[row + 1] = queries;

    // The lookups themselves. Drawn from a hash of their own, not the flow's
    // generator, so adding them changed no other value of the interval.
    const e = this.eventRow++;
    out.edge(e, PROTO_UDP, FLAG_SOURCE_IS_CLIENT, clientPod, clientPort, serverPod, dns.targetPort, v6);
    out.viaService(e, dns, v6);
    const h = hash32(m.seed, this.#i, f, SALT_DNS);
    const u = (h >>> 8) / 0x100_0000;
    const rcode = u < NXDOMAIN_RATIO ? 'NXDOMAIN' : u < NXDOMAIN_RATIO + SERVFAIL_RATIO ? 'SERVFAIL' : 'NOERROR';
    const k = this.#batch.counters;
    k.dnsRequests[e] = queries;
    // One response-time sample per row: a cache hit in CoreDNS is well under a millisecond.
    k.dnsDurationUs[e] = 150 + (h & 0xff) * 4;
    this.#batch.setAttribute(e, 'dns.question.type', v6 ? 'AAAA' : 'A');
    this.#batch.setAttribute(e, 'dns.response_code', rcode);
  }

  /** A connection opened and closed within the interval (a request), or a refused connect. */
  shortLived(k: number, row: number): void {
    const m = this.#m;
    const topo = m.topo;
    const rng = this.#rng.reseed(hash32(m.seed, this.#i, k, SALT_CHURN));
    const pair = m.zipf.rank(rng.next());
    const client = topo.workloads[topo.pairClient[pair]!]!;
    const server = topo.workloads[topo.pairServer[pair]!]!;
    const clientPod = client.firstPod + rng.int(client.podCount);
    const serverPod = server.firstPod + rng.int(server.podCount);
    const clientPort = EPHEMERAL_LOW + rng.int(EPHEMERAL_SPAN);
    const v6 = rng.next() < this.#c.ipv6_ratio;
    const flags = FLAG_CONNECTION_ENDED;
    const out = this.#out;
    out.edge(row, PROTO_TCP, flags | FLAG_SOURCE_IS_CLIENT, clientPod, clientPort, serverPod, server.targetPort, v6);
    out.viaService(row, server, v6);
    out.edge(row + 1, PROTO_TCP, flags, serverPod, server.targetPort, clientPod, clientPort, v6);
    if (rng.next() < FAILED_CONNECT_RATIO) {
      // Refused: SYN (and its retries) out, one RST back.
      const retries = rng.int(3);
      this.#bytes[row] = 60 * (1 + retries);
      this.#packets[row] = 1 + retries;
      this.#retransmits[row] = retries;
      this.#failed[row] = 1;
      this.#bytes[row + 1] = 40;
      this.#packets[row + 1] = 1;
      // The SYN that found no listener, as the kernel's drop tracepoint reports it.
      const e = this.eventRow++;
      out.edge(e, PROTO_TCP, FLAG_SOURCE_IS_CLIENT, clientPod, clientPort, serverPod, server.targetPort, v6);
      out.viaService(e, server, v6);
      this.#batch.counters.drops[e] = 1;
      this.#batch.counters.dropBytes[e] = 60;
      this.#batch.setAttribute(e, 'drop.reason', 'no_socket');
      return;
    }
    const up = Math.round(rng.logNormal(500, 1));
    const down = Math.round(rng.logNormal(5000, 1.5));
    // +2 segments each way: the handshake and the FIN.
    this.#traffic(row, up + 120, segments(up) + 2, rng);
    this.#traffic(row + 1, down + 120, segments(down) + 2, rng);
    this.#opened[row] = 1;
    this.#closed[row] = 1;
    this.#rtt[row] = this.#rttUs(clientPod, serverPod, rng);
    this.#batch.counters.connectUs[row] = this.#handshakeUs(row);
    this.#duration[row] = Math.max(1, Math.round(rng.logNormal(25, 1)));
    if (rng.next() < RESET_RATIO) this.#resets[row] = 1;
  }

  /** Bytes and segments one side sent, with an occasional retransmission burst. */
  #traffic(row: number, bytes: number, packets: number, rng: Rng): void {
    let retrans = 0;
    if (rng.next() < RETRANSMIT_RATIO) retrans = 1 + rng.int(Math.min(4, packets));
    this.#bytes[row] = bytes + retrans * Math.min(MSS, bytes);
    this.#packets[row] = packets + retrans;
    this.#retransmits[row] = retrans;
  }

  /** connect() to ESTABLISHED: one round trip (the row's RTT sample) plus the peer's SYN handling. */
  #handshakeUs(row: number): number {
    return Math.max(20, this.#rtt[row]! + 15);
  }

  /** Smoothed RTT: tens of µs within a node, a few hundred across nodes. */
  #rttUs(a: number, b: number, rng: Rng): number {
    const node = this.#m.topo.podNode;
    const base = node[a] === node[b] ? 60 : 300;
    return Math.max(10, Math.round(base * rng.logNormal(1, 0.3)));
  }
}

function segments(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / MSS));
}
