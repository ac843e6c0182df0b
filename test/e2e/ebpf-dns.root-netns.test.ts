// Needs root: network namespaces, BPF. DNS lookups from a client namespace to
// the test's own DNS server in a server namespace (both below the cgroup the
// receiver attaches to, so the node runs client and server): every lookup is
// one row on the client → server edge, counted once (the server side is not
// captured), with its response code, and a duration at least the server's
// added delay; UDP (unconnected and connected sockets) and TCP (several
// queries on one connection, one response longer than the 512-byte capture),
// IPv4 and IPv6; an unanswered query becomes TIMEOUT after dns::timeout.
// Malformed messages on the DNS port are counted by reason and make no row.

import t from 'tap';
import { defaultsOf } from '../../src/config/schema.ts';
import type { FlowRecord } from '../../src/pdata/flow-record.ts';
import { dnsConfigSchema } from '../../src/receiver/ebpf/dns/config.ts';
import { startReceiver, sum } from './support/ebpf-flows.ts';
import { createNetPair } from './support/ebpf-netns.ts';
import { runDnsClient, startDnsServer, type DnsClientResult } from './support/dns-processes.ts';
import { RCODE } from './support/dns-wire.ts';

const DELAY_MS = 150;
const TIMEOUT_MS = 1000;
/** Generous: a loaded CI machine, two namespaces and a Node server in between. */
const SLACK_MS = 3000;

const net = createNetPair(t, 'dns', 38);
const h = await startReceiver(t, { dns: { ...defaultsOf(dnsConfigSchema), timeout: TIMEOUT_MS } });
const v4 = await startDnsServer(t, net.server, net.serverV4, 53, DELAY_MS);
const v6 = await startDnsServer(t, net.server, net.serverV6, 53, DELAY_MS);

const NAMES: Record<number, string> = { [RCODE.NOERROR]: 'NOERROR', [RCODE.NXDOMAIN]: 'NXDOMAIN', [RCODE.SERVFAIL]: 'SERVFAIL' };

interface Run { server: string; transport: 'udp' | 'tcp'; client: DnsClientResult }

const runs: Run[] = [];
const lookups = async (server: string, mode: 'udp' | 'udp-connected' | 'tcp', names: string[], waitMs = 5000) => {
  const client = await runDnsClient(t, net.client, server, 53, mode, waitMs, names);
  runs.push({ server, transport: mode === 'tcp' ? 'tcp' : 'udp', client });
  return client;
};

t.test('the test server answers as told, over both transports and families', async (t) => {
  const a = await lookups(net.serverV4, 'udp', ['a.example.test', 'nx.example.test', 'fail.example.test', 'b.example.test', 'nx.other.test', 'fail.other.test']);
  const b = await lookups(net.serverV4, 'udp-connected', ['c.example.test', 'd.example.test/28']);
  const c = await lookups(net.serverV4, 'tcp', ['a.example.test', 'nx.example.test', 'fail.example.test', 'big.example.test', 'e.example.test']);
  const d = await lookups(net.serverV6, 'udp', ['a.example.test', 'nx.example.test', 'fail.example.test']);
  const e = await lookups(net.serverV6, 'tcp', ['a.example.test', 'fail.example.test']);
  for (const r of [a, b, c, d, e]) {
    for (const x of r.results) {
      const want = x.name.startsWith('nx.') ? RCODE.NXDOMAIN : x.name.startsWith('fail.') ? RCODE.SERVFAIL : RCODE.NOERROR;
      t.equal(x.rcode, want, `${x.name}: ${NAMES[want]}`);
      t.ok(x.ms >= DELAY_MS - 5, `${x.name}: the client waited the server's delay (${x.ms.toFixed(0)} ms)`);
    }
  }
  t.same(await v4.report(), { udp: 8, tcp: 5 });
  t.same(await v6.report(), { udp: 3, tcp: 2 });
});

t.test('an unanswered query', async (t) => {
  const r = await lookups(net.serverV4, 'udp', ['drop.example.test'], 200);
  t.equal(r.results[0]!.rcode, null, 'no answer');
});

/** One key per lookup outcome: edge and response code. */
function key(r: FlowRecord): string {
  return `${r.transport} ${r.sourceAddress}:${r.sourcePort} > ${r.destinationAddress}:${r.destinationPort} ${r.attributes?.['dns.response_code']}`;
}

function expected(): Map<string, number> {
  const out = new Map<string, number>();
  for (const run of runs) {
    const client = run.server === net.serverV4 ? net.clientV4 : net.clientV6;
    for (const x of run.client.results) {
      const code = x.rcode === null ? 'TIMEOUT' : NAMES[x.rcode]!;
      const k = `${run.transport} ${client}:${run.client.localPort} > ${run.server}:53 ${code}`;
      out.set(k, (out.get(k) ?? 0) + 1);
    }
  }
  return out;
}

t.test('podflow: one row per lookup on the client → server edge, with its response code', async (t) => {
  const want = expected();
  const total = [...want.values()].reduce((a, b) => a + b, 0);
  t.equal(total, 19, '18 answered lookups and one unanswered');
  // The unanswered one is reported once dns::timeout has passed.
  let rows: FlowRecord[] = [];
  for (const until = Date.now() + TIMEOUT_MS + 10_000; Date.now() < until;) {
    await h.settle(1);
    rows = h.flows([net.serverV4, net.serverV6]).filter((r) => (r.counters?.dnsRequests ?? 0) > 0);
    if (sum(rows, 'dnsRequests') >= total) break;
  }
  await h.settle(2); // anything more (double counts) would arrive by now
  rows = h.flows([net.serverV4, net.serverV6]).filter((r) => (r.counters?.dnsRequests ?? 0) > 0);

  t.equal(sum(rows, 'dnsRequests'), total, 'every lookup counted exactly once (the server side is not)');
  const got = new Map<string, number>();
  for (const r of rows) got.set(key(r), (got.get(key(r)) ?? 0) + r.counters!.dnsRequests!);
  t.same(Object.fromEntries([...got].sort()), Object.fromEntries([...want].sort()), 'per client socket, server and response code');

  for (const r of rows) {
    t.equal(r.counters!.dnsRequests, 1, 'one lookup per row');
    t.equal(r.sourceIsClient, true);
    t.equal(r.destinationPort, 53);
    const code = r.attributes?.['dns.response_code'];
    const name = r.attributes?.['dns.question.name'] ?? '';
    const us = r.counters!.dnsDurationUs ?? 0;
    if (code === 'TIMEOUT') {
      t.equal(us, 0, 'a timed-out lookup has no duration sample');
      t.equal(name, 'drop.example.test');
      continue;
    }
    t.equal(r.attributes?.['dns.question.type'], name.startsWith('d.') ? 'AAAA' : 'A', `${name}: question type`);
    t.ok(us >= DELAY_MS * 1000 && us <= (DELAY_MS + SLACK_MS) * 1000, `${name} ${code}: duration ${us} µs ≥ the server's ${DELAY_MS} ms delay`);
  }
});

t.test('self-metrics: nothing lost or unparseable; the cut response and the timeout counted', async (t) => {
  const c = (name: string, labels = {}) => h.telemetry.counter(name, '').get(labels);
  const families = h.telemetry.families().map((f) => f.name);
  for (const name of ['podflow_ebpf_dns_parse_errors_total', 'podflow_ebpf_dns_lost_total', 'podflow_ebpf_dns_pending_evicted_total']) {
    const f = h.telemetry.families().find((x) => x.name === name);
    t.same(f?.series() ?? [], [], `${name}: no series`);
  }
  t.ok(families.includes('podflow_ebpf_dns_unmatched_responses_total'));
  t.equal(c('podflow_ebpf_dns_unmatched_responses_total'), 0, 'every response matched its query');
  t.equal(c('podflow_ebpf_dns_timeouts_total'), 1, 'the unanswered query');
  t.ok(c('podflow_ebpf_dns_truncated_total') >= 1, 'the 60-record response is longer than the capture');
});

t.test('malformed messages to the DNS port: counted by reason, no row, nothing breaks', async (t) => {
  const before = h.flows([net.serverV4]).filter((r) => (r.counters?.dnsRequests ?? 0) > 0).length;
  const header = (flags: string, qd: string) => `1234${flags}${qd}000000000000`;
  await runDnsClient(t, net.client, net.serverV4, 53, 'raw-udp', 0, [
    'abcd', // 2 bytes
    header('0100', '0001'), // a query announcing a question it does not have
    `${header('0100', '0001')}03777777`, // its name runs past the end
    `${header('8180', '0000')}`, // a response, sent by the client
  ]);
  const errors = () => h.telemetry.counter('podflow_ebpf_dns_parse_errors_total', '');
  const want = { short_header: 1, short_question: 1, truncated_name: 1, unexpected_direction: 1 };
  for (const until = Date.now() + 5000; Date.now() < until;) {
    await h.settle(1);
    if (Object.keys(want).every((reason) => errors().get({ reason }) >= 1)) break;
  }
  for (const [reason, n] of Object.entries(want)) t.equal(errors().get({ reason }), n, `parse error ${reason}`);
  t.equal(h.flows([net.serverV4]).filter((r) => (r.counters?.dnsRequests ?? 0) > 0).length, before, 'no lookup row');
  // The capture still works after them.
  const r = await lookups(net.serverV4, 'udp', ['after.example.test']);
  t.equal(r.results[0]!.rcode, RCODE.NOERROR);
  for (const until = Date.now() + 5000; Date.now() < until;) {
    await h.settle(1);
    if (h.flows([net.serverV4]).some((x) => x.sourcePort === r.localPort && x.counters?.dnsRequests)) break;
  }
  t.ok(h.flows([net.serverV4]).some((x) => x.sourcePort === r.localPort && x.counters?.dnsRequests === 1), 'a lookup after them is counted');
});
