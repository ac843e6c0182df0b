// Needs root: network namespaces, BPF. The DNS lookups the ebpf receiver
// captures, exported: ebpf receiver → prometheus exporter, scraped.
// network_flow_dns_requests_total counts each lookup of the test client once
// per response code (and TIMEOUT), and the network_flow_dns_duration_seconds
// histogram holds one sample per answered lookup, all in buckets at or above
// the server's added delay.

import t from 'tap';
import { defaultsOf, type Problem } from '../../src/config/schema.ts';
import { prometheusExporterFactory } from '../../src/exporter/prometheus/factory.ts';
import type { PrometheusFlowExporter } from '../../src/exporter/prometheus/prometheus-exporter.ts';
import { ebpfConfigSchema } from '../../src/receiver/ebpf/config.ts';
import { ebpfReceiverFactory } from '../../src/receiver/ebpf/factory.ts';
import { SelfTelemetry } from '../../src/service/telemetry/self-telemetry.ts';
import { testSettings } from '../support/test-settings.ts';
import { runDnsClient, startDnsServer } from './support/dns-processes.ts';
import { createNetPair } from './support/ebpf-netns.ts';

const DELAY_MS = 260; // above the 0.25 s bucket bound, so every sample lands above it

const net = createNetPair(t, 'dnsm', 39);
await startDnsServer(t, net.server, net.serverV4, 53, DELAY_MS);
await startDnsServer(t, net.server, net.serverV6, 53, DELAY_MS);

function decode<C>(f: { configSchema: { decodeOrDefault(v: unknown, p: string[], pr: Problem[]): C | undefined } }, raw: unknown): C {
  const problems: Problem[] = [];
  const c = f.configSchema.decodeOrDefault(raw, [], problems);
  if (!c || problems.length) throw new Error(JSON.stringify(problems));
  return c;
}

const telemetry = new SelfTelemetry();
const exporter = prometheusExporterFactory.create(testSettings('prometheus', { telemetry }),
  decode(prometheusExporterFactory, { endpoint: '127.0.0.1:0' })) as PrometheusFlowExporter;
const config = { ...defaultsOf(ebpfConfigSchema), collection_interval: 200 };
config.dns = { ...config.dns, timeout: 500 };
const receiver = ebpfReceiverFactory.create(testSettings('ebpf', { telemetry }), config, exporter);
await exporter.start();
await receiver.start();
t.teardown(async () => {
  await receiver.shutdown();
  await exporter.shutdown();
});

async function scrape(): Promise<string[]> {
  const r = await fetch(`http://127.0.0.1:${exporter.port}/metrics`);
  return (await r.text()).split('\n');
}

/** Sum of the series of `metric` between the two addresses, by the value of `label`. */
function byLabel(lines: string[], metric: string, client: string, server: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of lines) {
    if (!l.startsWith(`${metric}{`) || !l.includes(`source_address="${client}"`) || !l.includes(`destination_address="${server}"`)) continue;
    const key = new RegExp(`${label}="([^"]*)"`).exec(l)?.[1] ?? '';
    out[key] = (out[key] ?? 0) + Number(l.split(' ').pop());
  }
  return out;
}

t.test('lookups over UDP (IPv4) and TCP (IPv6) become requests by response code and duration samples', async (t) => {
  const udp = await runDnsClient(t, net.client, net.serverV4, 53, 'udp', 1000, ['a.test', 'b.test', 'nx.test', 'fail.test', 'drop.test']);
  const tcp = await runDnsClient(t, net.client, net.serverV6, 53, 'tcp', 1000, ['a.test', 'nx.test']);
  t.same(udp.results.map((r) => r.rcode), [0, 0, 3, 2, null]);
  t.same(tcp.results.map((r) => r.rcode), [0, 3]);

  const want4 = { NOERROR: 2, NXDOMAIN: 1, SERVFAIL: 1, TIMEOUT: 1 };
  const want6 = { NOERROR: 1, NXDOMAIN: 1 };
  let lines: string[] = [];
  const requests = (c: string, s: string) => byLabel(lines, 'network_flow_dns_requests_total', c, s, 'dns_response_code');
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 200));
    lines = await scrape();
    if (requests(net.clientV4, net.serverV4).TIMEOUT && requests(net.clientV6, net.serverV6).NXDOMAIN) break;
  }
  t.same(requests(net.clientV4, net.serverV4), want4, 'IPv4 UDP: requests by response code');
  t.same(requests(net.clientV6, net.serverV6), want6, 'IPv6 TCP: requests by response code');

  for (const [client, server, answered] of [[net.clientV4, net.serverV4, 4], [net.clientV6, net.serverV6, 2]] as const) {
    const count = byLabel(lines, 'network_flow_dns_duration_seconds_count', client, server, 'destination_address')[server];
    const sum = byLabel(lines, 'network_flow_dns_duration_seconds_sum', client, server, 'destination_address')[server]!;
    const buckets = byLabel(lines, 'network_flow_dns_duration_seconds_bucket', client, server, 'le');
    t.equal(count, answered, `${server}: one sample per answered lookup (none for TIMEOUT)`);
    t.ok(sum >= answered * DELAY_MS / 1000 && sum < answered * (DELAY_MS / 1000 + 3), `${server}: sum ${sum} s ≥ ${answered} × the ${DELAY_MS} ms delay`);
    t.equal(buckets['0.25'], 0, `${server}: nothing at or below 0.25 s`);
    t.equal(buckets['+Inf'], answered, `${server}: every sample in the histogram`);
  }
});
