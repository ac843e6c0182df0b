import t from 'tap';
import { resolveGrpcTarget, validateOtlpGrpcConfig, type OtlpGrpcConfig } from '../../../src/exporter/otlp_grpc/config.ts';
import { otlpGrpcExporterFactory } from '../../../src/exporter/otlp_grpc/factory.ts';
import { resolveCommon } from '../../../src/exporter/internal/otlp/otlp-common-config.ts';
import type { Problem } from '../../../src/config/schema.ts';

function decode(raw: Record<string, unknown>): { config?: OtlpGrpcConfig; problems: Problem[] } {
  const problems: Problem[] = [];
  const config = otlpGrpcExporterFactory.configSchema.decodeOrDefault(raw, ['exporters', 'otlp_grpc'], problems);
  return { config, problems };
}

t.test('defaults', async (t) => {
  const { config } = decode({});
  t.match(config, { temporality: 'cumulative', export_interval: 10_000, cardinality_limit: 10_000, series_expiry: 300_000 });
  t.same(resolveGrpcTarget(config!, {}), { url: 'http://localhost:4317', tls: false, insecure: true, source: 'default' });
  t.same(resolveCommon(config!, {}), { headers: {}, compression: 'gzip', timeoutMs: 5_000 });
  t.equal(otlpGrpcExporterFactory.aliases?.[0], 'otlp');
});

t.test('endpoint forms and TLS', async (t) => {
  const target = (endpoint: string, insecure?: boolean) =>
    resolveGrpcTarget(decode({ endpoint, ...(insecure === undefined ? {} : { tls: { insecure } }) }).config!, {});
  t.match(target('collector:4317'), { url: 'https://collector:4317', insecure: false }, 'host:port is TLS by default');
  t.match(target('collector:4317', true), { url: 'http://collector:4317', insecure: true });
  t.match(target('http://collector:4317'), { insecure: true });
  t.match(target('https://collector', true), { url: 'https://collector:443', insecure: false }, 'an explicit scheme decides');
  t.match(target('[::1]:4317', true), { url: 'http://[::1]:4317' });
  t.match(resolveGrpcTarget(decode({ endpoint: 'c:4317' }).config!, { OTEL_EXPORTER_OTLP_INSECURE: 'true' }), { insecure: true }, 'OTEL_EXPORTER_OTLP_INSECURE');
});

t.test('invalid endpoints are reported with their path', async (t) => {
  const check = (endpoint: string) => decode({ endpoint }).problems;
  t.same(check('http//x'), [{ path: ['exporters', 'otlp_grpc', 'endpoint'], message: 'invalid endpoint "http//x": expected host:port, http://host:port or https://host:port' }]);
  t.match(check('ftp://x:21'), [{ path: ['exporters', 'otlp_grpc', 'endpoint'], message: /unsupported scheme "ftp"/ }]);
  t.match(check('http://x:4317/v1/metrics'), [{ message: /takes no path/ }]);
  t.match(check('x:99999'), [{ message: /out of range/ }]);
  t.same(check('otel:4317'), []);
  t.same(validateOtlpGrpcConfig(decode({ endpoint: 'otel:4317' }).config!, {}), []);
});

t.test('environment fallbacks: signal-specific first, config wins', async (t) => {
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://generic:4317',
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://metrics:4317',
    OTEL_EXPORTER_OTLP_HEADERS: 'a=1,b=two%20words',
    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '2500',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
  };
  const { config } = decode({});
  t.same(resolveGrpcTarget(config!, env), { url: 'https://metrics:4317', tls: true, insecure: false, source: 'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT' });
  t.same(resolveCommon(config!, env), { headers: { a: '1', b: 'two words' }, compression: 'none', timeoutMs: 2500 });
  const own = decode({ endpoint: 'mine:4317', headers: { x: 'y' }, timeout: '1s', compression: 'gzip' }).config!;
  t.match(resolveGrpcTarget(own, env), { url: 'https://mine:4317', source: 'endpoint' });
  t.same(resolveCommon(own, env), { headers: { x: 'y' }, compression: 'gzip', timeoutMs: 1000 });
  t.same(validateOtlpGrpcConfig(config!, { OTEL_EXPORTER_OTLP_ENDPOINT: 'bad endpoint', OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' }), [
    { path: ['endpoint'], message: 'invalid endpoint "bad endpoint": expected host:port, http://host:port or https://host:port (from OTEL_EXPORTER_OTLP_ENDPOINT)' },
    { path: ['compression'], message: 'invalid value "zstd" in OTEL_EXPORTER_OTLP_COMPRESSION (valid values: [gzip, none])' },
  ]);
});

t.test('header names are checked at config time', async (t) => {
  const c = decode({ headers: { 'x-ok': '1', 'bad name': '2', 'trace-bin': '3' } }).config!;
  t.same(validateOtlpGrpcConfig(c, {}).map((p) => p.path.join('::')), ['headers::bad name', 'headers::trace-bin']);
});

t.test('all problems at once: schema and TLS files', async (t) => {
  const { problems } = decode({ temporality: 'sometimes', export_interval: 'soon', cardinality_limit: 0, keepalive: {} });
  t.same(problems.map((p) => p.path.join('::')).sort(), [
    'exporters::otlp_grpc', 'exporters::otlp_grpc::cardinality_limit', 'exporters::otlp_grpc::export_interval', 'exporters::otlp_grpc::temporality',
  ]);
  const c = decode({ endpoint: 'x:1', tls: { ca_file: '/nonexistent/ca.pem', cert_file: '/nonexistent/c.pem' } }).config!;
  t.same(validateOtlpGrpcConfig(c, {}), [
    { path: ['tls', 'ca_file'], message: 'file "/nonexistent/ca.pem" does not exist' },
    { path: ['tls', 'cert_file'], message: 'file "/nonexistent/c.pem" does not exist' },
    { path: ['tls'], message: 'cert_file and key_file must be set together (mutual TLS needs both)' },
  ]);
});
