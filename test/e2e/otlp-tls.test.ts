// The OTLP exporters' tls settings against real TLS servers with mutual TLS:
// certificates are made per run with the openssl CLI in a temp dir (installed by
// scripts/setup.d/50-exporter-tls.sh). Loopback only, no root needed.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { ExporterFactory } from '../../src/component/component.ts';
import type { Problem } from '../../src/config/schema.ts';
import { otlpGrpcExporterFactory } from '../../src/exporter/otlp_grpc/factory.ts';
import { otlpHttpExporterFactory } from '../../src/exporter/otlp_http/factory.ts';
import { SelfTelemetry } from '../../src/service/telemetry/self-telemetry.ts';
import { SAMPLE_BYTES, sampleBatch } from '../exporter/support/sample-flows.ts';
import { testSettings } from '../support/test-settings.ts';
import { OtlpSink } from './support/otlp-sink.ts';

const dir = mkdtempSync(join(tmpdir(), 'pf-exporter-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
openssl('req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=pf-exporter-test-ca');
writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
for (const who of ['server', 'client']) {
  openssl('req', ...EC, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=pf-${who}`);
  openssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '1',
    ...(who === 'server' ? ['-extfile', 'server.ext'] : []));
}

const sink = new OtlpSink();
t.before(() => sink.start({ key: readFileSync(f('server.key')), cert: readFileSync(f('server.pem')), ca: readFileSync(f('ca.pem')) }));
t.teardown(() => sink.stop());

const clientTls = { ca_file: f('ca.pem'), cert_file: f('client.pem'), key_file: f('client.key') };

async function send<C>(factory: ExporterFactory<C>, id: string, raw: Record<string, unknown>): Promise<SelfTelemetry> {
  const problems: Problem[] = [];
  const config = factory.configSchema.decodeOrDefault(raw, ['exporters', id], problems)!;
  problems.push(...(factory.validate?.(config) ?? []));
  if (problems.length) throw new Error(JSON.stringify(problems));
  const telemetry = new SelfTelemetry();
  const e = factory.create(testSettings(id, { telemetry }), config);
  await e.start();
  await e.consume(sampleBatch());
  await e.shutdown();
  return telemetry;
}

const delivered = (tel: SelfTelemetry, id: string) => tel.counter('podflow_exporter_sent_metric_points_total', '').get({ exporter: id });
/** Over every drop reason. */
const failed = (tel: SelfTelemetry, id: string) => tel.counter('podflow_exporter_send_failed_metric_points_total', '').series()
  .filter((s) => s.labels.exporter === id).reduce((n, s) => n + s.value, 0);

t.test('otlp_grpc: host:port is TLS by default; ca_file + client certificate (mTLS)', async (t) => {
  const before = sink.requests.length;
  const tel = await send(otlpGrpcExporterFactory, 'otlp_grpc', { endpoint: `localhost:${sink.grpcPort}`, tls: clientTls, timeout: '3s' });
  t.ok(delivered(tel, 'otlp_grpc') > 0);
  const r = sink.requests.slice(before).find((x) => x.transport === 'grpc');
  t.equal(r?.points.filter((p) => p.metric === 'network.flow.bytes').reduce((n, p) => n + (p.value as number), 0), SAMPLE_BYTES);
});

t.test('otlp_http: https with ca_file + client certificate', async (t) => {
  const tel = await send(otlpHttpExporterFactory, 'otlp_http', { endpoint: `https://localhost:${sink.httpPort}`, tls: clientTls, timeout: '3s' });
  t.ok(delivered(tel, 'otlp_http') > 0);
  t.equal(failed(tel, 'otlp_http'), 0);
});

t.test('an unknown CA fails (counted); insecure_skip_verify accepts it', async (t) => {
  const noCa = { cert_file: clientTls.cert_file, key_file: clientTls.key_file };
  const bad = await send(otlpHttpExporterFactory, 'otlp_http/noca', { endpoint: `https://localhost:${sink.httpPort}`, tls: noCa, timeout: '2s' });
  t.ok(failed(bad, 'otlp_http/noca') > 0, 'server certificate not trusted');
  const skip = await send(otlpHttpExporterFactory, 'otlp_http/skip', { endpoint: `https://localhost:${sink.httpPort}`, tls: { ...noCa, insecure_skip_verify: true }, timeout: '2s' });
  t.ok(delivered(skip, 'otlp_http/skip') > 0);
  const grpcSkip = await send(otlpGrpcExporterFactory, 'otlp_grpc/skip', { endpoint: `localhost:${sink.grpcPort}`, tls: { ...noCa, insecure_skip_verify: true }, timeout: '3s' });
  t.ok(delivered(grpcSkip, 'otlp_grpc/skip') > 0, 'gRPC too');
});

t.test('mTLS server rejects a client without a certificate', async (t) => {
  const tel = await send(otlpGrpcExporterFactory, 'otlp_grpc/nocert', { endpoint: `localhost:${sink.grpcPort}`, tls: { ca_file: clientTls.ca_file }, timeout: '2s', shutdown_timeout: '1s' });
  t.ok(failed(tel, 'otlp_grpc/nocert') > 0);
});
