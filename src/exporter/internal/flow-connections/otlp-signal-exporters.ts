// Builds the logs or traces instance of otlp_grpc / otlp_http: a
// ConnectionSignalExporter whose items come from FlowLogBuilder or
// ConnectionSpanBuilder and go to the official OTLP log or trace exporter of
// the same transport, with the same endpoint, TLS, headers, compression and
// timeout rules as the metrics instance.

import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPLogExporter as JsonLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import type { ConsumerComponent, CreateSettings } from '../../../component/component.ts';
import { resolveCommon } from '../otlp/otlp-common-config.ts';
import { insecureSetting, readTlsFiles, type TlsConfig } from '../otlp/tls-settings.ts';
import { parseGrpcEndpoint } from '../otlp/otlp-endpoint.ts';
import { otlpEnv } from '../otlp/otlp-env.ts';
import { FlowLogBuilder, type FlowLogRecord } from '../flow-logs/flow-log-records.ts';
import { ConnectionSpanBuilder, type ConnectionSpan } from '../flow-spans/connection-spans.ts';
import { ConnectionSignalExporter, type ItemExporter } from './connection-signal-exporter.ts';
import type { LogsConfig, TracesConfig } from './signal-config.ts';
import { signalEnv, signalHttpUrl } from './signal-env.ts';

interface CommonKeys {
  tls: TlsConfig;
  headers?: Record<string, string> | undefined;
  compression?: 'gzip' | 'none' | '' | undefined;
  timeout?: number | undefined;
  logs: LogsConfig;
  traces: TracesConfig;
}

type Signal = 'logs' | 'traces';
type GrpcOptions = NonNullable<ConstructorParameters<typeof GrpcLogExporter>[0]>;
type HttpOptions = NonNullable<ConstructorParameters<typeof ProtoLogExporter>[0]>;

function component(settings: CreateSettings, c: CommonKeys, endpoint: string,
  make: { logs: () => ItemExporter<FlowLogRecord>; traces: () => ItemExporter<ConnectionSpan> }): ConsumerComponent {
  if (settings.signal === 'logs') {
    return new ConnectionSignalExporter<FlowLogRecord>(settings, {
      item: 'log_records', endpoint, builder: new FlowLogBuilder(c.logs, settings.resource), createExporter: make.logs,
    });
  }
  return new ConnectionSignalExporter<ConnectionSpan>(settings, {
    item: 'spans', endpoint, builder: new ConnectionSpanBuilder(c.traces, settings.resource), createExporter: make.traces,
  });
}

export function createGrpcSignalExporter(settings: CreateSettings, c: CommonKeys & { endpoint?: string | undefined }): ConsumerComponent {
  const env = signalEnv(settings.signal);
  const raw = c.endpoint ?? otlpEnv('ENDPOINT', env)?.value ?? 'http://localhost:4317';
  const target = parseGrpcEndpoint(raw);
  const insecure = target.tls === undefined ? insecureSetting(c.tls, env) : !target.tls;
  const url = insecure ? target.url.replace(/^https:/, 'http:') : target.url;
  const common = resolveCommon(c, env);
  const options = (): GrpcOptions => {
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(common.headers)) metadata.set(k, v);
    return {
      url,
      credentials: channelCredentials(insecure, c.tls, env),
      metadata,
      compression: common.compression as GrpcOptions['compression'],
      timeoutMillis: common.timeoutMs,
    };
  };
  return component(settings, c, url, {
    logs: () => new GrpcLogExporter(options()),
    traces: () => new GrpcTraceExporter(options()),
  });
}

function channelCredentials(insecure: boolean, tls: TlsConfig, env: NodeJS.ProcessEnv | Readonly<Record<string, string | undefined>>): ChannelCredentials {
  if (insecure) return credentials.createInsecure();
  const f = readTlsFiles(tls, env);
  return credentials.createSsl(f.ca ?? null, f.key ?? null, f.cert ?? null,
    tls.insecure_skip_verify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {});
}

export function createHttpSignalExporter(settings: CreateSettings, c: CommonKeys & {
  endpoint?: string | undefined; logs_endpoint?: string | undefined; traces_endpoint?: string | undefined; encoding: 'proto' | 'json';
}): ConsumerComponent {
  const env = signalEnv(settings.signal);
  const url = signalHttpUrl(c, settings.signal as Signal, env);
  const common = resolveCommon(c, env);
  const options = (): HttpOptions => ({
    url,
    headers: common.headers,
    compression: common.compression as HttpOptions['compression'],
    timeoutMillis: common.timeoutMs,
    httpAgentOptions: { keepAlive: true, ...readTlsFiles(c.tls, env), rejectUnauthorized: !c.tls.insecure_skip_verify },
  });
  const json = c.encoding === 'json';
  return component(settings, c, url, {
    logs: () => (json ? new JsonLogExporter(options()) : new ProtoLogExporter(options())),
    traces: () => (json ? new JsonTraceExporter(options()) : new ProtoTraceExporter(options())),
  });
}
