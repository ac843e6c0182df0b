// Factory of the otlp_http exporter (alias "otlphttp", the Collector's former
// name): protobuf over HTTP by default, JSON with `encoding: json`.

import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { ConsumerComponent, CreateSettings, ExporterFactory } from '../../component/component.ts';
import { createHttpSignalExporter } from '../internal/flow-connections/otlp-signal-exporters.ts';
import { resolveCommon } from '../internal/otlp/otlp-common-config.ts';
import { PeriodicFlowExporter } from '../internal/otlp/periodic-flow-exporter.ts';
import { readTlsFiles } from '../internal/otlp/tls-settings.ts';
import { otlpHttpConfigSchema, resolveHttpUrl, validateOtlpHttpConfig, type OtlpHttpConfig } from './config.ts';

type HttpOptions = NonNullable<ConstructorParameters<typeof ProtoExporter>[0]>;

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
    createExporter: (): PushMetricExporter => {
      const files = readTlsFiles(c.tls);
      const options: HttpOptions = {
        url,
        headers: common.headers,
        // The SDK's CompressionAlgorithm enum has exactly these string values.
        compression: common.compression as HttpOptions['compression'],
        timeoutMillis: common.timeoutMs,
        httpAgentOptions: { keepAlive: true, ...files, rejectUnauthorized: !c.tls.insecure_skip_verify },
      };
      return c.encoding === 'json' ? new JsonExporter(options) : new ProtoExporter(options);
    },
  });
}

export const otlpHttpExporterFactory: ExporterFactory<OtlpHttpConfig> = {
  kind: 'exporter',
  type: 'otlp_http',
  aliases: ['otlphttp'],
  stability: 'beta',
  description: 'Pushes flow metrics over OTLP/HTTP, protobuf or JSON (the official @opentelemetry/exporter-metrics-otlp-proto / -http).',
  signals: ['metrics', 'logs', 'traces'],
  configSchema: otlpHttpConfigSchema,
  validate: (c) => validateOtlpHttpConfig(c),
  create,
};
