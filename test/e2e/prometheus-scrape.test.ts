// The prometheus exporter scraped by a real Prometheus (Debian's
// /usr/bin/prometheus, loopback only, temp TSDB), read back through its HTTP API:
// the exact metric names, labels and values a user will query. No root needed.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { prometheusExporterFactory } from '../../src/exporter/prometheus/factory.ts';
import type { PrometheusFlowExporter } from '../../src/exporter/prometheus/prometheus-exporter.ts';
import type { Problem } from '../../src/config/schema.ts';
import { SAMPLE_BYTES, sampleBatch } from '../exporter/support/sample-flows.ts';
import { testSettings } from '../support/test-settings.ts';

const PROMETHEUS = '/usr/bin/prometheus';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', () => res()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

interface Sample { metric: Record<string, string>; value: [number, string] }

async function query(port: number, q: string): Promise<Sample[]> {
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await r.json()) as { status: string; data?: { result: Sample[] }; error?: string };
  if (body.status !== 'success') throw new Error(`query ${q}: ${body.error}`);
  return body.data!.result;
}

/** Polls until `q` returns samples for which `ok` holds. */
async function until(port: number, q: string, ok: (s: Sample[]) => boolean, ms = 30_000): Promise<Sample[]> {
  const deadline = Date.now() + ms;
  let last: Sample[] = [];
  while (Date.now() < deadline) {
    try {
      last = await query(port, q);
      if (ok(last)) return last;
    } catch { /* Prometheus still starting */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out on ${q}; last result ${JSON.stringify(last)}`);
}

t.test('Prometheus scrapes podflow: names, labels, values', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-exporter-prom-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  const problems: Problem[] = [];
  const config = prometheusExporterFactory.configSchema.decodeOrDefault(
    { endpoint: '127.0.0.1:0', const_labels: { cluster: 'ci' } }, ['exporters', 'prometheus'], problems)!;
  t.same(problems, []);
  const exporter = prometheusExporterFactory.create(testSettings('prometheus'), config) as PrometheusFlowExporter;
  await exporter.start();
  t.teardown(() => exporter.shutdown());
  await exporter.consume(sampleBatch());

  const promPort = await freePort();
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global:', '  scrape_interval: 1s', '  evaluation_interval: 1s',
    'scrape_configs:', '  - job_name: podflow', '    static_configs:', `      - targets: ['127.0.0.1:${exporter.port}']`, '',
  ].join('\n'));
  const prom: ChildProcess = spawn(PROMETHEUS, [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  prom.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  t.teardown(async () => {
    if (prom.exitCode === null) {
      const exited = new Promise((r) => prom.once('exit', r));
      prom.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (prom.exitCode === null) prom.kill('SIGKILL');
    }
  });

  try {
    const bytes = await until(promPort, 'network_flow_bytes_total', (s) => s.length === 3);
    const total = bytes.reduce((n, s) => n + Number(s.value[1]), 0);
    t.equal(total, SAMPLE_BYTES, 'bytes over all series');
    const shop = bytes.find((s) => s.metric.destination_port === '8080')!;
    t.same(shop.metric, {
      __name__: 'network_flow_bytes_total', job: 'podflow', instance: `127.0.0.1:${exporter.port}`, cluster: 'ci',
      network_transport: 'tcp', network_type: 'ipv4', source_address: '10.0.0.1', destination_address: '10.0.0.2',
      destination_port: '8080', flow_observer: 'source', source_k8s_namespace_name: 'shop', destination_k8s_service_name: 'cart',
      otel_scope_name: 'podflow', otel_scope_version: '0.0.0-test',
    }, 'labels of the shop series');
    t.equal(shop.value[1], '1500');
    const nat = bytes.find((s) => s.metric.destination_port === '8443')!;
    t.match(nat.metric, { destination_original_address: '10.96.0.10', destination_original_port: '443' });

    const names = await query(promPort, 'count by (__name__) ({job="podflow"})');
    t.same(names.map((s) => s.metric.__name__).sort(), [
      'network_flow_bytes_total',
      'network_flow_connection_duration_seconds_bucket', 'network_flow_connection_duration_seconds_count', 'network_flow_connection_duration_seconds_sum',
      'network_flow_connections_closed_total', 'network_flow_connections_opened_total', 'network_flow_packets_total',
      'network_flow_tcp_retransmits_total',
      'network_flow_tcp_rtt_seconds_bucket', 'network_flow_tcp_rtt_seconds_count', 'network_flow_tcp_rtt_seconds_sum',
      'scrape_duration_seconds', 'scrape_samples_post_metric_relabeling', 'scrape_samples_scraped', 'scrape_series_added',
      'target_info', 'up',
    ], 'exactly these series names');
    t.equal((await query(promPort, 'sum(network_flow_packets_total)'))[0]!.value[1], '17');
    t.equal((await query(promPort, 'sum(network_flow_connections_opened_total)'))[0]!.value[1], '2');
    t.equal((await query(promPort, 'network_flow_tcp_rtt_seconds_count'))[0]!.value[1], '2');
    t.equal((await query(promPort, 'network_flow_tcp_rtt_seconds_bucket{le="0.0025"}'))[0]!.value[1], '2');
    t.equal((await query(promPort, 'network_flow_tcp_rtt_seconds_bucket{le="0.001"}'))[0]!.value[1], '0');
    t.equal((await query(promPort, 'network_flow_connection_duration_seconds_sum'))[0]!.value[1], '2');
    t.match((await query(promPort, 'target_info'))[0]!.metric, { service_name: 'podflow', host_name: 'test-host', k8s_node_name: 'test-node' });

    await exporter.consume(sampleBatch());
    await until(promPort, 'sum(network_flow_bytes_total)', (s) => s[0]?.value[1] === String(2 * SAMPLE_BYTES));
    t.pass('a second batch shows up as the cumulative total on the next scrape');
  } catch (e) {
    t.comment(`prometheus stderr:\n${stderr}`);
    throw e;
  }
});
