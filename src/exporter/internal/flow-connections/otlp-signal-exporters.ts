// Builds the logs or traces instance of otlp_grpc / otlp_http: a
// ConnectionSignalExporter whose items come from FlowLogBuilder or
// ConnectionSpanBuilder, serialized with the official @opentelemetry/
// otlp-transformer serializers and sent by podflow's transports, with the
// same endpoint, TLS, headers, compression, timeout and delivery
// (retry_on_failure, sending_queue, shutdown_timeout) rules as the metrics
// instance.

import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import {
  JsonLogsSerializer, JsonTraceSerializer, ProtobufLogsSerializer, ProtobufTraceSerializer,
} from '@opentelemetry/otlp-transformer';
import type { ConsumerComponent, CreateSettings } from '../../../component/component.ts';
import type { DeliveryConfig } from '../exporterhelper/delivery-config.ts';
import { classifyGrpcError, classifyNetworkError } from '../exporterhelper/export-error.ts';
import { resolveCommon } from '../otlp/otlp-common-config.ts';
import { OtlpGrpcTransport } from '../otlp/otlp-grpc-transport.ts';
import { OtlpHttpTransport } from '../otlp/otlp-http-transport.ts';
import { insecureSetting, readTlsFiles, type TlsConfig } from '../otlp/tls-settings.ts';
import { parseGrpcEndpoint } from '../otlp/otlp-endpoint.ts';
import { otlpEnv, type Env } from '../otlp/otlp-env.ts';
import { FlowLogBuilder, type FlowLogRecord } from '../flow-logs/flow-log-records.ts';
import { ConnectionSpanBuilder, type ConnectionSpan } from '../flow-spans/connection-spans.ts';
import { spanTotalsMetrics } from '../flow-spans/span-totals-metrics.ts';
import { ConnectionSignalExporter, type RequestSender } from './connection-signal-exporter.ts';
import type { LogsConfig, TracesConfig } from './signal-config.ts';
import { signalEnv, signalHttpUrl } from './signal-env.ts';

interface CommonKeys extends DeliveryConfig {
  tls: TlsConfig;
  headers?: Record<string, string> | undefined;
  compression?: 'gzip' | 'none' | '' | undefined;
  timeout?: number | undefined;
  logs: LogsConfig;
  traces: TracesConfig;
}

type Encoding = 'proto' | 'json';

function component(settings: CreateSettings, c: CommonKeys, endpoint: string, encoding: Encoding, createSender: () => RequestSender): ConsumerComponent {
  const common = { endpoint, delivery: c, createSender };
  if (settings.signal === 'logs') {
    const s = encoding === 'json' ? JsonLogsSerializer : ProtobufLogsSerializer;
    return new ConnectionSignalExporter<FlowLogRecord>(settings, {
      ...common, item: 'log_records', builder: new FlowLogBuilder(c.logs, settings.resource), serialize: (items) => s.serializeRequest(items),
      rejected: (bytes) => {
        const p = s.deserializeResponse(bytes).partialSuccess;
        return p ? { count: Number(p.rejectedLogRecords ?? 0), message: p.errorMessage ?? '' } : undefined;
      },
    });
  }
  const t = encoding === 'json' ? JsonTraceSerializer : ProtobufTraceSerializer;
  return new ConnectionSignalExporter<ConnectionSpan>(settings, {
    ...common, item: 'spans', builder: new ConnectionSpanBuilder(c.traces, settings.resource, spanTotalsMetrics(settings.telemetry, settings.id)), serialize: (items) => t.serializeRequest(items),
    rejected: (bytes) => {
      const p = t.deserializeResponse(bytes).partialSuccess;
      return p ? { count: Number(p.rejectedSpans ?? 0), message: p.errorMessage ?? '' } : undefined;
    },
  });
}

export function createGrpcSignalExporter(settings: CreateSettings, c: CommonKeys & { endpoint?: string | undefined }): ConsumerComponent {
  const env = signalEnv(settings.signal);
  const raw = c.endpoint ?? otlpEnv('ENDPOINT', env)?.value ?? 'http://localhost:4317';
  const target = parseGrpcEndpoint(raw);
  const insecure = target.tls === undefined ? insecureSetting(c.tls, env) : !target.tls;
  const url = insecure ? target.url.replace(/^https:/, 'http:') : target.url;
  const common = resolveCommon(c, env);
  return component(settings, c, url, 'proto', () => {
    const transport = new OtlpGrpcTransport(settings.signal === 'logs' ? 'logs' : 'traces', {
      address: url.replace(/^https?:\/\//, ''),
      credentials: channelCredentials(insecure, c.tls, env),
      headers: common.headers,
      compression: common.compression,
      timeoutMs: common.timeoutMs,
    });
    return { send: (body, signal) => transport.send(body, signal), classify: classifyGrpcError, close: () => transport.close() };
  });
}

function channelCredentials(insecure: boolean, tls: TlsConfig, env: Env): ChannelCredentials {
  if (insecure) return credentials.createInsecure();
  const f = readTlsFiles(tls, env);
  return credentials.createSsl(f.ca ?? null, f.key ?? null, f.cert ?? null,
    tls.insecure_skip_verify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {});
}

export function createHttpSignalExporter(settings: CreateSettings, c: CommonKeys & {
  endpoint?: string | undefined; logs_endpoint?: string | undefined; traces_endpoint?: string | undefined; encoding: Encoding;
}): ConsumerComponent {
  const env = signalEnv(settings.signal);
  const url = signalHttpUrl(c, settings.signal === 'logs' ? 'logs' : 'traces', env);
  const common = resolveCommon(c, env);
  return component(settings, c, url, c.encoding, () => {
    const transport = new OtlpHttpTransport({
      url,
      headers: common.headers,
      contentType: c.encoding === 'json' ? 'application/json' : 'application/x-protobuf',
      compression: common.compression,
      timeoutMs: common.timeoutMs,
      tls: { ...readTlsFiles(c.tls, env), rejectUnauthorized: !c.tls.insecure_skip_verify },
    });
    return { send: (body, signal) => transport.send(body, signal), classify: classifyNetworkError, close: () => transport.close() };
  });
}
