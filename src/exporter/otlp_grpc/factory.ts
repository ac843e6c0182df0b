// Factory of the otlp_grpc exporter (alias "otlp", the Collector's former name).

import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { ExportResultCode } from '@opentelemetry/core';
import type { ConsumerComponent, CreateSettings, ExporterFactory } from '../../component/component.ts';
import { createGrpcSignalExporter } from '../internal/flow-connections/otlp-signal-exporters.ts';
import { classifyGrpcError } from '../internal/exporterhelper/export-error.ts';
import { resolveCommon } from '../internal/otlp/otlp-common-config.ts';
import { PeriodicFlowExporter } from '../internal/otlp/periodic-flow-exporter.ts';
import { readTlsFiles } from '../internal/otlp/tls-settings.ts';
import { otlpGrpcConfigSchema, resolveGrpcTarget, validateOtlpGrpcConfig, type OtlpGrpcConfig } from './config.ts';

type GrpcOptions = NonNullable<ConstructorParameters<typeof OTLPMetricExporter>[0]>;

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
      const metadata = new Metadata();
      for (const [k, v] of Object.entries(common.headers)) metadata.set(k, v);
      const exporter = new OTLPMetricExporter({
        url: target.url,
        credentials: channelCredentials(target.insecure, c),
        metadata,
        // The SDK's CompressionAlgorithm enum has exactly these string values.
        compression: common.compression as GrpcOptions['compression'],
        timeoutMillis: common.timeoutMs,
      });
      // The SDK's gRPC exporter does not retry and hands back grpc-js's error
      // (code, trailers with RetryInfo), which the sender classifies.
      return {
        send: (rm) => new Promise<void>((resolve, reject) => exporter.export(rm, (r) => {
          if (r.code === ExportResultCode.SUCCESS) resolve();
          else reject(r.error ?? new Error('export failed'));
        })),
        classify: classifyGrpcError,
        close: () => exporter.shutdown(),
      };
    },
  });
}

function channelCredentials(insecure: boolean, c: OtlpGrpcConfig): ChannelCredentials {
  if (insecure) return credentials.createInsecure();
  const f = readTlsFiles(c.tls);
  return credentials.createSsl(f.ca ?? null, f.key ?? null, f.cert ?? null,
    c.tls.insecure_skip_verify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {});
}

export const otlpGrpcExporterFactory: ExporterFactory<OtlpGrpcConfig> = {
  kind: 'exporter',
  type: 'otlp_grpc',
  aliases: ['otlp'],
  stability: 'beta',
  description: 'Pushes flow metrics over OTLP/gRPC (the official @opentelemetry/exporter-metrics-otlp-grpc).',
  signals: ['metrics', 'logs', 'traces'],
  configSchema: otlpGrpcConfigSchema,
  validate: (c) => validateOtlpGrpcConfig(c),
  create,
};
