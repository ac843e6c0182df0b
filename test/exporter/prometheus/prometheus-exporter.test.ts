import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { Problem } from '../../../src/config/schema.ts';
import { prometheusExporterFactory } from '../../../src/exporter/prometheus/factory.ts';
import type { PrometheusFlowExporter } from '../../../src/exporter/prometheus/prometheus-exporter.ts';
import { SelfTelemetry } from '../../../src/service/telemetry/self-telemetry.ts';
import { testSettings } from '../../support/test-settings.ts';
import { sampleBatch } from '../support/sample-flows.ts';

function make(raw: Record<string, unknown>, telemetry = new SelfTelemetry()): PrometheusFlowExporter {
  const problems: Problem[] = [];
  const c = prometheusExporterFactory.configSchema.decodeOrDefault(raw, ['exporters', 'prometheus'], problems)!;
  if (problems.length) throw new Error(JSON.stringify(problems));
  return prometheusExporterFactory.create(testSettings('prometheus/x', { telemetry }), c) as PrometheusFlowExporter;
}

t.test('namespace, resource_to_telemetry_conversion, 404 elsewhere, self-metrics', async (t) => {
  const telemetry = new SelfTelemetry();
  const e = make({ endpoint: '127.0.0.1:0', namespace: 'pf', resource_to_telemetry_conversion: { enabled: true }, cardinality_limit: 1 }, telemetry);
  await e.start();
  t.teardown(() => e.shutdown());
  await e.consume(sampleBatch());
  const text = await (await fetch(`http://127.0.0.1:${e.port}/metrics`)).text();
  t.match(text, /^pf_network_flow_bytes_total\{.*service_name="podflow".*host_name="test-host".*\} \d+$/m, 'prefix and resource labels');
  t.match(text, /^pf_network_flow_tcp_rtt_seconds_bucket\{/m);
  t.match(text, /^pf_network_flow_bytes_total\{otel_metric_overflow="true",.*\} 142$/m, 'beyond cardinality_limit: the overflow series (100 + 42 bytes)');
  t.equal((await fetch(`http://127.0.0.1:${e.port}/other`)).status, 404);
  t.ok(telemetry.counter('podflow_exporter_series_overflow_total', '').get({ exporter: 'prometheus/x' }) > 0);
  t.ok(telemetry.gauge('podflow_exporter_series_active', '').get({ exporter: 'prometheus/x' }) > 0);
});

t.test('a taken port fails start with PODFLOW_PORT_IN_USE naming the setting', async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => blocker.close(() => r())));
  const port = (blocker.address() as AddressInfo).port;
  const e = make({ endpoint: `127.0.0.1:${port}` });
  await t.rejects(e.start(), { code: 'PODFLOW_PORT_IN_USE', message: `exporters::prometheus/x::endpoint: 127.0.0.1:${port} is already in use` });
  await e.shutdown();
});
