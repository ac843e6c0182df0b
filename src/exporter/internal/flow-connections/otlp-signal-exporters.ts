// Builds the logs or traces instance of otlp_http and, with
// otlp-grpc-signal-exporter.ts, of otlp_grpc: a ConnectionSignalExporter whose
// items come from FlowLogBuilder or ConnectionSpanBuilder, serialized with the
// official @opentelemetry/otlp-transformer serializers (loaded when the
// exporter starts) and sent by podflow's
// transports, with the same endpoint, TLS, headers, compression, timeout and
// delivery (retry_on_failure, sending_queue, shutdown_timeout) rules as the
// metrics instance. The gRPC half lives apart so that an HTTP-only agent
// never loads grpc-js and node:http2 (~15 MiB of RSS).

import type { ConsumerComponent, CreateSettings } from '../../../component/component.ts';
import type { DeliveryConfig } from '../exporterhelper/delivery-config.ts';
import { classifyNetworkError } from '../exporterhelper/export-error.ts';
import { resolveCommon } from '../otlp/otlp-common-config.ts';
import { OtlpHttpTransport } from '../otlp/otlp-http-transport.ts';
import { loadOtlpTransformer, type OtlpTransformer } from '../otlp/otlp-transformer.ts';
import { readTlsFiles, type TlsConfig } from '../otlp/tls-settings.ts';
import { FlowLogBuilder, type FlowLogRecord } from '../flow-logs/flow-log-records.ts';
import { ConnectionSpanBuilder, type ConnectionSpan } from '../flow-spans/connection-spans.ts';
import { spanTotalsMetrics } from '../flow-spans/span-totals-metrics.ts';
import { ConnectionSignalExporter, type RequestSender } from './connection-signal-exporter.ts';
import type { LogsConfig, TracesConfig } from './signal-config.ts';
import { signalEnv, signalHttpUrl } from './signal-env.ts';

export interface CommonKeys extends DeliveryConfig {
  tls: TlsConfig;
  headers?: Record<string, string> | undefined;
  compression?: 'gzip' | 'none' | '' | undefined;
  timeout?: number | undefined;
  logs: LogsConfig;
  traces: TracesConfig;
}

export type Encoding = 'proto' | 'json';

export function component(settings: CreateSettings, c: CommonKeys, endpoint: string, encoding: Encoding, createSender: () => RequestSender): ConsumerComponent {
  // Set by prepare(), which the exporter awaits at start, before it serializes anything.
  let lib: OtlpTransformer | undefined;
  const prepare = async (): Promise<void> => {
    lib ??= await loadOtlpTransformer();
  };
  const common = { endpoint, delivery: c, createSender, prepare };
  if (settings.signal === 'logs') {
    const s = () => (encoding === 'json' ? lib!.JsonLogsSerializer : lib!.ProtobufLogsSerializer);
    return new ConnectionSignalExporter<FlowLogRecord>(settings, {
      ...common, item: 'log_records', builder: new FlowLogBuilder(c.logs, settings.resource), serialize: (items) => s().serializeRequest(items),
      rejected: (bytes) => {
        const p = s().deserializeResponse(bytes).partialSuccess;
        return p ? { count: Number(p.rejectedLogRecords ?? 0), message: p.errorMessage ?? '' } : undefined;
      },
    });
  }
  const t = () => (encoding === 'json' ? lib!.JsonTraceSerializer : lib!.ProtobufTraceSerializer);
  return new ConnectionSignalExporter<ConnectionSpan>(settings, {
    ...common, item: 'spans', builder: new ConnectionSpanBuilder(c.traces, settings.resource, spanTotalsMetrics(settings.telemetry, settings.id)), serialize: (items) => t().serializeRequest(items),
    rejected: (bytes) => {
      const p = t().deserializeResponse(bytes).partialSuccess;
      return p ? { count: Number(p.rejectedSpans ?? 0), message: p.errorMessage ?? '' } : undefined;
    },
  });
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
