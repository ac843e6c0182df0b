// Needs root: network namespaces, BPF. A burst of DNS queries larger than the
// capture's ring buffer holds (6,000 records of 568 bytes against 2 MiB),
// inside one collection interval: between collections nothing drains the
// buffer but the poll thread, which the programs wake when they find it half
// full. Every query is counted once (as TIMEOUT: nothing answers them) and
// nothing is lost.

import t from 'tap';
import { defaultsOf } from '../../src/config/schema.ts';
import { dnsConfigSchema } from '../../src/receiver/ebpf/dns/config.ts';
import { runDnsClient } from './support/dns-processes.ts';
import { encodeQuery } from './support/dns-wire.ts';
import { startReceiver, sum } from './support/ebpf-flows.ts';
import { createNetPair } from './support/ebpf-netns.ts';

const QUERIES = 6000;
const COLLECTION_MS = 3000;

const net = createNetPair(t, 'dnsb', 40);
const h = await startReceiver(t, { collection_interval: COLLECTION_MS, dns: { ...defaultsOf(dnsConfigSchema), timeout: 300 } });

t.test('a burst of queries beyond the ring buffer: every one counted, none lost', async (t) => {
  const datagrams = Array.from({ length: QUERIES }, (_, i) => encodeQuery(i + 1, `q${i}.burst.test`).toString('hex'));
  await runDnsClient(t, net.client, net.serverV4, 53, 'raw-udp', 0, datagrams);
  const counted = () => sum(h.flows([net.serverV4]).filter((r) => (r.counters?.dnsRequests ?? 0) > 0), 'dnsRequests');
  for (const until = Date.now() + 5 * COLLECTION_MS; Date.now() < until && counted() < QUERIES;) await h.settle(1);
  await h.settle(1); // anything more (double counts) would arrive by now
  const rows = h.flows([net.serverV4]).filter((r) => (r.counters?.dnsRequests ?? 0) > 0);
  t.equal(sum(rows, 'dnsRequests'), QUERIES, 'every query counted once');
  t.ok(rows.every((r) => r.attributes?.['dns.response_code'] === 'TIMEOUT'), 'all unanswered');
  const lost = h.telemetry.families().find((f) => f.name === 'podflow_ebpf_dns_lost_total');
  t.same(lost?.series() ?? [], [], 'nothing lost: no podflow_ebpf_dns_lost_total series');
});
