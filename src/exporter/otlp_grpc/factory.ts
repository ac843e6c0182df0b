// Factory of the otlp_grpc exporter (alias "otlp", the Collector's former name).

import type { ConsumerComponent, CreateSettings, ExporterFactory } from '../../component/component.ts';
import { createGrpcSignalExporter } from '../internal/flow-connections/otlp-grpc-signal-exporter.ts';
import { classifyGrpcError } from '../internal/exporterhelper/export-error.ts';
import { metricsPartialSuccess } from '../internal/otlp/metrics-partial-success.ts';
import { encodeMetricsRequest, metricsRequestSize } from '../internal/otlp/metrics-request-encoder.ts';
import { resolveCommon } from '../internal/otlp/otlp-common-config.ts';
import { grpcChannelCredentials, OtlpGrpcTransport } from '../internal/otlp/otlp-grpc-transport.ts';
import { PartedMetricsSend } from '../internal/otlp/parted-metrics-send.ts';
import { PeriodicFlowExporter } from '../internal/otlp/periodic-flow-exporter.ts';
import { otlpGrpcConfigSchema, resolveGrpcTarget, validateOtlpGrpcConfig, type OtlpGrpcConfig } from './config.ts';

function create(settings: CreateSettings, c: OtlpGrpcConfig): ConsumerComponent {
  if (settings.signal !== 'metrics') return createGrpcSignalExporter(settings, c);
  const target = resolveGrpcTarget(c);
  const common = resolveCommon(c);
  return new PeriodicFlowExporter(settings, {
    temporality: c.temporality,
    exportIntervalMs: c.export_interval,
    timeoutMs: common.timeoutMs,
    cardinalityLimit: c.cardinality_limit,
    seriesExpiryMs: c.series_expiry,
    endpoint: target.url,
    delivery: c,
    createSender: () => {
      // The official serializer, sent by podflow's transport: grpc-js's error
      // (code, trailers with RetryInfo) reaches the sender's classifier, a
      // shutdown that gives up cancels the call, and a partial success is seen.
      const transport = new OtlpGrpcTransport('metrics', {
        address: target.url.replace(/^https?:\/\//, ''),
        credentials: grpcChannelCredentials(target.insecure, c.tls),
        headers: common.headers,
        compression: common.compression,
        timeoutMs: common.timeoutMs,
      });
      const partial = metricsPartialSuccess(settings, 'proto');
      const parted = new PartedMetricsSend({
        maxBytes: c.max_request_size_mib * 1024 * 1024,
        encode: encodeMetricsRequest,
        size: metricsRequestSize,
        send: async (body, signal) => partial(await transport.send(body, signal)),
      });
      return {
        send: (rm, signal) => parted.send(rm, signal),
        delivered: (rm) => parted.delivered(rm),
        classify: classifyGrpcError,
        close: async () => transport.close(),
      };
    },
  });
}

export const otlpGrpcExporterFactory: ExporterFactory<OtlpGrpcConfig> = {
  kind: 'exporter',
  type: 'otlp_grpc',
  aliases: ['otlp'],
  stability: 'beta',
  description: 'Pushes flow metrics, flow logs and connection spans over OTLP/gRPC (the official @opentelemetry/otlp-transformer serializers; metrics through a podflow encoder of the same bytes), with retries and a sending queue.',
  signals: ['metrics', 'logs', 'traces'],
  configSchema: otlpGrpcConfigSchema,
  validate: (c) => validateOtlpGrpcConfig(c),
  create,
};
