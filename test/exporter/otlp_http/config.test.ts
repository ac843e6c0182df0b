import t from 'tap';
import { resolveHttpUrl, validateOtlpHttpConfig, type OtlpHttpConfig } from '../../../src/exporter/otlp_http/config.ts';
import { otlpHttpExporterFactory } from '../../../src/exporter/otlp_http/factory.ts';
import type { Problem } from '../../../src/config/schema.ts';

function decode(raw: Record<string, unknown>): OtlpHttpConfig {
  const problems: Problem[] = [];
  const config = otlpHttpExporterFactory.configSchema.decodeOrDefault(raw, ['exporters', 'otlp_http'], problems);
  if (!config) throw new Error(JSON.stringify(problems));
  return config;
}

t.test('URL resolution as the Collector and the OTel spec do it', async (t) => {
  t.same(resolveHttpUrl(decode({}), {}), { url: 'http://localhost:4318/v1/metrics', source: 'default' });
  t.equal(resolveHttpUrl(decode({ endpoint: 'https://otlp.example.com/' }), {}).url, 'https://otlp.example.com/v1/metrics');
  t.equal(resolveHttpUrl(decode({ endpoint: 'https://gw.example.com/otlp' }), {}).url, 'https://gw.example.com/otlp/v1/metrics');
  t.equal(resolveHttpUrl(decode({ endpoint: 'http://a', metrics_endpoint: 'http://b/custom' }), {}).url, 'http://b/custom');
  t.equal(resolveHttpUrl(decode({}), { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318' }).url, 'http://env:4318/v1/metrics');
  t.equal(resolveHttpUrl(decode({}), { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://env:4318/m' }).url, 'http://env:4318/m', 'signal-specific env is used as is');
  t.equal(decode({}).encoding, 'proto');
  t.equal(otlpHttpExporterFactory.aliases?.[0], 'otlphttp');
});

t.test('invalid URLs name the key', async (t) => {
  const problems = (raw: Record<string, unknown>) => {
    const out: Problem[] = [];
    otlpHttpExporterFactory.configSchema.decodeOrDefault(raw, ['exporters', 'otlp_http'], out);
    return out;
  };
  t.same(problems({ endpoint: 'http//x', metrics_endpoint: 'grpc://x:4317' }), [
    { path: ['exporters', 'otlp_http', 'endpoint'], message: 'invalid endpoint "http//x": expected an http:// or https:// URL' },
    { path: ['exporters', 'otlp_http', 'metrics_endpoint'], message: 'invalid endpoint "grpc://x:4317": unsupported scheme "grpc" (use http:// or https://)' },
  ]);
  t.same(validateOtlpHttpConfig(decode({}), { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'nonsense' }), [
    { path: ['endpoint'], message: 'invalid endpoint "nonsense": expected an http:// or https:// URL (from OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)' },
  ]);
  t.same(validateOtlpHttpConfig(decode({ endpoint: 'https://ok.example.com', tls: { insecure: true } }), {}), [], 'tls.insecure accepted (Collector blocks carry it)');
  t.same(problems({ encoding: 'xml' }), [{ path: ['exporters', 'otlp_http', 'encoding'], message: 'invalid value "xml" (valid values: [proto, json])' }]);
});
