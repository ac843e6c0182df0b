// Factory of the prometheus exporter.

import type { ExporterFactory } from '../../component/component.ts';
import { splitHostPort } from '../../config/host-port.ts';
import { prometheusConfigSchema, validatePrometheusConfig, type PrometheusConfig } from './config.ts';
import { PrometheusFlowExporter } from './prometheus-exporter.ts';

export const prometheusExporterFactory: ExporterFactory<PrometheusConfig> = {
  kind: 'exporter',
  type: 'prometheus',
  stability: 'beta',
  description: 'Serves flow metrics on /metrics for Prometheus to scrape (the official @opentelemetry/exporter-prometheus).',
  signals: ['metrics'],
  configSchema: prometheusConfigSchema,
  validate: validatePrometheusConfig,
  resources: (c) => [{ kind: 'listen', ...splitHostPort(c.endpoint), path: ['endpoint'] }],
  create: (settings, config) => new PrometheusFlowExporter(settings, config),
};
