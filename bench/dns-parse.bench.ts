// Cost of reading captured DNS messages (src/receiver/ebpf/dns), on a mix like a
// cluster's: search-path expansions of Service names (most ending NXDOMAIN),
// external names, A and AAAA, queries and answered responses.
//
// - parse: parseDnsMessage (bounded, escaping) against the obvious parser —
//   a DataView, TextDecoder per label, join and toLowerCase, no bounds beyond
//   what the runtime throws — on the same messages.
// - parse vs copy: the same parse against copying each message's bytes (the
//   floor any user-space handling pays: ratio = parse rate ÷ copy rate).
// - lookups: DnsTransactions.observe of a query and its response plus flush to
//   a FlowBatch, against the obvious matcher: the naive parser, a key of
//   formatted addresses and ports in a Map of objects, rows through appendFlow.
//   Extras: parsing the two messages alone (the floor), and the memory a
//   finished lookup holds until the flush.

import { FlowBatch } from '../src/pdata/flow-batch.ts';
import { appendFlow } from '../src/pdata/flow-record.ts';
import { formatAddress } from '../src/pdata/ip-address.ts';
import { dnsRcodeName, dnsTypeName } from '../src/receiver/ebpf/dns/dns-names.ts';
import { parseDnsMessage } from '../src/receiver/ebpf/dns/dns-message.ts';
import { DnsTransactions, type DnsPacket } from '../src/receiver/ebpf/dns/dns-transactions.ts';

interface BenchResult { name: string; value: number; unit: string; baseline: number; ratio: number; extra?: Record<string, number | string> }

function wireName(dotted: string): number[] {
  const out: number[] = [];
  for (const l of dotted.split('.')) out.push(l.length, ...Buffer.from(l));
  out.push(0);
  return out;
}

function message(id: number, qname: string, type: number, resp: boolean, rcode: number): Uint8Array {
  const answers: number[] = [];
  if (resp && rcode === 0) {
    const rdata = type === 28 ? new Array(16).fill(7) : [10, 96, id & 0xff, 1];
    answers.push(0xc0, 12, 0, type, 0, 1, 0, 0, 0, 30, 0, rdata.length, ...rdata);
  }
  const flags = (resp ? 0x8180 : 0x0100) | rcode;
  return new Uint8Array([
    id >> 8, id & 0xff, flags >> 8, flags & 0xff, 0, 1, 0, answers.length ? 1 : 0, 0, 0, 0, 0,
    ...wireName(qname), 0, type, 0, 1, ...answers,
  ]);
}

interface Pair { query: Uint8Array; response: Uint8Array }

function workload(n: number): Pair[] {
  const search = ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];
  const pairs: Pair[] = [];
  for (let i = 0; pairs.length < n; i++) {
    const svc = `service-${i % 200}`;
    const external = `api${i % 50}.example${i % 7}.com`;
    const id = i & 0xffff;
    const type = i % 2 ? 28 : 1;
    const candidates: Array<[string, number]> = i % 3 === 0
      ? [...search.map((s): [string, number] => [`${external}.${s}`, 3]), [external, 0]]
      : [[`${svc}.ns-${i % 20}.svc.cluster.local`, 0]];
    for (const [name, rcode] of candidates) pairs.push({ query: message(id, name, type, false, 0), response: message(id, name, type, true, rcode) });
  }
  return pairs.slice(0, n);
}

const decoder = new TextDecoder();

/** The obvious parser: correct on well-formed input, throws (a RangeError) on the rest. */
function naiveParse(buf: Uint8Array) {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const flags = view.getUint16(2);
  const labels: string[] = [];
  let off = 12;
  for (let len = view.getUint8(off); len !== 0; len = view.getUint8(off)) {
    if ((len & 0xc0) === 0xc0) {
      off = view.getUint16(off) & 0x3fff;
      continue;
    }
    labels.push(decoder.decode(buf.subarray(off + 1, off + 1 + len)));
    off += 1 + len;
  }
  off++;
  return {
    id: view.getUint16(0), isResponse: (flags & 0x8000) !== 0, opcode: (flags >> 11) & 0xf, rcode: flags & 0xf,
    truncatedFlag: (flags & 0x200) !== 0, questionCount: view.getUint16(4), answerCount: view.getUint16(6),
    question: { name: labels.join('.').toLowerCase(), type: view.getUint16(off), class: view.getUint16(off + 2) },
  };
}

/** Messages per second of `fn` over `msgs`, repeated until `ms` elapsed (after a warm-up). */
function rate(msgs: Uint8Array[], ms: number, fn: (m: Uint8Array) => unknown): number {
  let sink = 0;
  const pass = () => {
    for (const m of msgs) if (fn(m)) sink++;
  };
  for (let i = 0; i < 20; i++) pass();
  let n = 0;
  const t0 = performance.now();
  let el = 0;
  do {
    pass();
    n += msgs.length;
    el = performance.now() - t0;
  } while (el < ms);
  if (sink < 0) console.log(sink);
  return n / (el / 1000);
}

/** Heap and ArrayBuffer bytes per lookup finished and not yet flushed. */
function bytesPerFinished(pairs: Pair[]): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return NaN;
  const nop = () => {};
  const tx = new DnsTransactions({
    timeoutMs: 5000, maxPending: 65_536, maxFinished: 1 << 20, queryNames: { mode: 'top', top_n: 20, allow: [] },
    events: { parseError: nop, truncated: nop, unmatchedResponse: nop, pendingEvicted: nop, timedOut: nop },
  });
  const addr = new Uint8Array(16);
  const p: DnsPacket = { timeNs: 0, protocol: 17, family: 4, fromClient: true, clientAddr: addr, clientPort: 0, serverAddr: addr, serverPort: 53, payload: pairs[0]!.query, truncated: false };
  const n = 200_000;
  gc();
  const m0 = process.memoryUsage();
  for (let i = 0; i < n; i++) {
    const pair = pairs[i % pairs.length]!;
    p.clientPort = i & 0xffff;
    addr[0] = i >> 16;
    p.fromClient = true;
    p.payload = pair.query;
    tx.observe(p);
    p.fromClient = false;
    p.payload = pair.response;
    tx.observe(p);
  }
  gc();
  const m1 = process.memoryUsage();
  const bytes = (m1.heapUsed + m1.arrayBuffers - m0.heapUsed - m0.arrayBuffers) / n;
  tx.flush(new FlowBatch(1), 0); // keeps tx alive past the measurement
  return bytes;
}

interface Matcher {
  observe(p: DnsPacket): void;
  flush(b: FlowBatch, nowNs: number): void;
}

/** The obvious matcher (well-formed input only, no bounds, every name kept). */
class NaiveMatcher implements Matcher {
  readonly pending = new Map<string, { timeNs: number; name: string; type: number }>();
  done: Array<{ p: DnsPacket; client: string; server: string; name: string; type: number; rcode: number; us: number }> = [];
  observe(p: DnsPacket): void {
    const m = naiveParse(p.payload);
    const client = formatAddress(p.clientAddr, 0);
    const server = formatAddress(p.serverAddr, 0);
    const key = `${p.protocol}|${client}|${p.clientPort}|${server}|${p.serverPort}|${m.id}`;
    if (!m.isResponse) {
      if (!this.pending.has(key)) this.pending.set(key, { timeNs: p.timeNs, name: m.question.name, type: m.question.type });
      return;
    }
    const q = this.pending.get(key);
    if (!q) return;
    this.pending.delete(key);
    this.done.push({ p: { ...p }, client, server, name: q.name, type: q.type, rcode: m.rcode, us: Math.max(1, Math.round((p.timeNs - q.timeNs) / 1000)) });
  }
  flush(b: FlowBatch): void {
    for (const d of this.done) {
      appendFlow(b, {
        transport: d.p.protocol === 6 ? 'tcp' : 'udp', sourceAddress: d.client, sourcePort: d.p.clientPort,
        destinationAddress: d.server, destinationPort: d.p.serverPort, sourceIsClient: true,
        counters: { dnsRequests: 1, dnsDurationUs: d.us },
        attributes: { 'dns.question.type': dnsTypeName(d.type), 'dns.response_code': dnsRcodeName(d.rcode), 'dns.question.name': d.name },
      });
    }
    this.done = [];
  }
}

function lookupRate(pairs: Pair[], ms: number, naive = false): number {
  const client = new Uint8Array(16);
  client.set([0xff, 0xff, 10, 244, 1, 9], 10);
  const server = new Uint8Array(16);
  server.set([0xff, 0xff, 10, 96, 0, 10], 10);
  const nop = () => {};
  const tx: Matcher = naive ? new NaiveMatcher() : new DnsTransactions({
    timeoutMs: 5000, maxPending: 65_536, queryNames: { mode: 'top', top_n: 20, allow: [] },
    events: { parseError: nop, truncated: nop, unmatchedResponse: nop, pendingEvicted: nop, timedOut: nop },
  });
  const p: DnsPacket = { timeNs: 0, protocol: 17, family: 4, fromClient: true, clientAddr: client, clientPort: 40000, serverAddr: server, serverPort: 53, payload: pairs[0]!.query, truncated: false };
  let t = 0;
  let rows = 0;
  const pass = () => {
    const b = new FlowBatch(pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      p.clientPort = 32768 + (i & 0x3fff);
      p.timeNs = t += 1000;
      p.fromClient = true;
      p.payload = pairs[i]!.query;
      tx.observe(p);
      p.timeNs = t += 250_000;
      p.fromClient = false;
      p.payload = pairs[i]!.response;
      tx.observe(p);
    }
    tx.flush(b, t);
    rows += b.length;
  };
  for (let i = 0; i < 5; i++) pass();
  rows = 0;
  const t0 = performance.now();
  let el = 0;
  do {
    pass();
    el = performance.now() - t0;
  } while (el < ms);
  return rows / (el / 1000);
}

export default async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const ms = opts.quick ? 400 : 2000;
  const pairs = workload(2000);
  const msgs = pairs.flatMap((p) => [p.query, p.response]);
  for (const m of msgs) {
    const a = parseDnsMessage(m);
    const b = naiveParse(m);
    if (!a.ok || JSON.stringify(a.message) !== JSON.stringify(b)) throw new Error('the two parsers disagree on the workload');
  }
  const avgBytes = msgs.reduce((s, m) => s + m.length, 0) / msgs.length;

  // Interleaved (ours, baseline, ours, baseline) so drift on a shared machine hits both.
  const ours1 = rate(msgs, ms, (m) => parseDnsMessage(m).ok);
  const naive1 = rate(msgs, ms, (m) => naiveParse(m).id >= 0);
  const ours2 = rate(msgs, ms, (m) => parseDnsMessage(m).ok);
  const naive2 = rate(msgs, ms, (m) => naiveParse(m).id >= 0);
  const copy = rate(msgs, ms, (m) => m.slice().length);
  const ours = (ours1 + ours2) / 2;
  const naive = (naive1 + naive2) / 2;

  const lookups1 = lookupRate(pairs, ms);
  const naiveLookups1 = lookupRate(pairs, ms, true);
  const lookups2 = lookupRate(pairs, ms);
  const naiveLookups2 = lookupRate(pairs, ms, true);
  const lookups = (lookups1 + lookups2) / 2;
  const naiveLookups = (naiveLookups1 + naiveLookups2) / 2;
  const parsePairs = rate(msgs, ms, (m) => parseDnsMessage(m).ok) / 2;

  return [
    { name: 'dns parseDnsMessage vs naive parser', value: Math.round(ours), unit: 'messages/s', baseline: Math.round(naive), ratio: ours / naive, extra: { messages: msgs.length, avgBytes: Math.round(avgBytes) } },
    { name: 'dns parseDnsMessage vs copying the bytes', value: Math.round(ours), unit: 'messages/s', baseline: Math.round(copy), ratio: ours / copy },
    {
      name: 'dns lookups (query + response matched, row written) vs naive matcher', value: Math.round(lookups), unit: 'lookups/s', baseline: Math.round(naiveLookups), ratio: lookups / naiveLookups,
      extra: { parseBothOnlyPerS: Math.round(parsePairs), bytesPerFinishedLookup: Math.round(bytesPerFinished(pairs)) },
    },
  ];
}
