// Factory of the otlp_http exporter (alias "otlphttp", the Collector's former
// name): protobuf over HTTP by default, JSON with `encoding: json`.

import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ConsumerComponent, CreateSettings, ExporterFactory } from '../../component/component.ts';
import { createHttpSignalExporter } from '../internal/flow-connections/otlp-signal-exporters.ts';
import { metricsPartialSuccess } from '../internal/otlp/metrics-partial-success.ts';
import { encodeMetricsRequest, metricsRequestSize } from '../internal/otlp/metrics-request-encoder.ts';
import { resolveCommon } from '../internal/otlp/otlp-common-config.ts';
import { classifyNetworkError } from '../internal/exporterhelper/export-error.ts';
import { OtlpHttpTransport } from '../internal/otlp/otlp-http-transport.ts';
import { loadOtlpTransformer } from '../internal/otlp/otlp-transformer.ts';
import { PartedMetricsSend } from '../internal/otlp/parted-metrics-send.ts';
import { PeriodicFlowExporter, type MetricsSender } from '../internal/otlp/periodic-flow-exporter.ts';
import { readTlsFiles } from '../internal/otlp/tls-settings.ts';
import { otlpHttpConfigSchema, resolveHttpUrl, validateOtlpHttpConfig, type OtlpHttpConfig } from './config.ts';

function create(settings: CreateSettings, c: OtlpHttpConfig): ConsumerComponent {
  if (settings.signal !== 'metrics') return createHttpSignalExporter(settings, c);
  const { url } = resolveHttpUrl(c);
  const common = resolveCommon(c);
  return new PeriodicFlowExporter(settings, {
    temporality: c.temporality,
    exportIntervalMs: c.export_interval,
    timeoutMs: common.timeoutMs,
    cardinalityLimit: c.cardinality_limit,
    seriesExpiryMs: c.series_expiry,
    endpoint: url,
    delivery: c,
    createSender: async (): Promise<MetricsSender> => {
      const files = readTlsFiles(c.tls);
      const json = c.encoding === 'json';
      // JSON through the official serializer; protobuf through podflow's
      // encoder (the same bytes, see metrics-request-encoder.ts). podflow
      // posts itself to see status and Retry-After.
      let encode: (rm: ResourceMetrics) => Uint8Array | undefined = encodeMetricsRequest;
      if (json) {
        const { JsonMetricsSerializer } = await loadOtlpTransformer();
        encode = (rm) => JsonMetricsSerializer.serializeRequest(rm);
      }
      const transport = new OtlpHttpTransport({
        url,
        headers: common.headers,
        contentType: json ? 'application/json' : 'application/x-protobuf',
        compression: common.compression,
        timeoutMs: common.timeoutMs,
        tls: { ...files, rejectUnauthorized: !c.tls.insecure_skip_verify },
      });
      const partial = metricsPartialSuccess(settings, json ? 'json' : 'proto');
      const parted = new PartedMetricsSend({
        maxBytes: c.max_request_size_mib * 1024 * 1024,
        encode,
        ...(json ? {} : { size: metricsRequestSize }),
        // Owned by the transport: a retry serializes again.
        send: async (body, signal) => partial(await transport.send(body, signal, true)),
      });
      return {
        send: (rm, signal) => parted.send(rm, signal),
        delivered: (rm) => parted.delivered(rm),
        classify: classifyNetworkError,
        close: async () => transport.close(),
      };
    },
  });
}

export const otlpHttpExporterFactory: ExporterFactory<OtlpHttpConfig> = {
  kind: 'exporter',
  type: 'otlp_http',
  aliases: ['otlphttp'],
  stability: 'beta',
  description: 'Pushes flow metrics, flow logs and connection spans over OTLP/HTTP, protobuf or JSON (the official @opentelemetry/otlp-transformer serializers; metrics in protobuf through a podflow encoder of the same bytes), with retries and a sending queue.',
  signals: ['metrics', 'logs', 'traces'],
  configSchema: otlpHttpConfigSchema,
  validate: (c) => validateOtlpHttpConfig(c),
  create,
};
