// Serves the flow metrics for Prometheus to scrape. The official
// @opentelemetry/exporter-prometheus serializes them (fed by the same
// FlowMetricProducer as the OTLP exporters); podflow runs the HTTP server itself
// so that port 0 works and a taken port fails start() with a clear error.

import type { Server } from 'node:http';
import { createServer } from '../../service/node-builtins.ts';
import type { AddressInfo } from 'node:net';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { ConsumerComponent, CreateSettings } from '../../component/component.ts';
import { LifecycleComponent } from '../../component/lifecycle.ts';
import { splitHostPort } from '../../config/host-port.ts';
import type { FlowBatch } from '../../pdata/flow-batch.ts';
import { ExporterSelfMetrics } from '../internal/flow-metrics/exporter-self-metrics.ts';
import { FlowMetricsAccumulator } from '../internal/flow-metrics/flow-metrics-accumulator.ts';
import { FlowMetricProducer, podflowResource } from '../internal/flow-metrics/flow-metric-producer.ts';
import { expiryMs, type PrometheusConfig } from './config.ts';
import { prometheusRename } from './prometheus-naming.ts';
import { boundPort, listenHttp } from '../../service/listen-http.ts';

export class PrometheusFlowExporter extends LifecycleComponent implements ConsumerComponent {
  readonly mutatesData = false;
  readonly #settings: CreateSettings;
  readonly #config: PrometheusConfig;
  readonly #acc: FlowMetricsAccumulator;
  #server: Server | undefined;
  #provider: MeterProvider | undefined;

  constructor(settings: CreateSettings, config: PrometheusConfig) {
    super();
    this.#settings = settings;
    this.#config = config;
    const stats = new ExporterSelfMetrics(settings.telemetry, settings.id);
    // Prometheus wants cumulative counters: every scrape reads the running totals.
    this.#acc = new FlowMetricsAccumulator({
      temporality: 'cumulative',
      cardinalityLimit: config.cardinality_limit,
      seriesExpiryMs: expiryMs(config),
      events: stats,
    });
    stats.observeActive(() => this.#acc.activeSeries);
  }

  /** The port actually bound (useful with port 0); 0 before start. */
  get port(): number {
    return boundPort(this.#server);
  }

  async consume(batch: FlowBatch): Promise<void> {
    this.#acc.consume(batch);
  }

  protected async doStart(): Promise<void> {
    const c = this.#config;
    const { host } = splitHostPort(c.endpoint);
    const reader = new PrometheusExporter({
      preventServerStart: true,
      prefix: c.namespace ?? '',
      appendTimestamp: c.send_timestamps,
      withResourceConstantLabels: c.resource_to_telemetry_conversion.enabled ? /.*/ : undefined,
      metricProducers: [new FlowMetricProducer(this.#acc, {
        resource: this.#settings.resource,
        rename: prometheusRename(c.const_labels ?? {}),
      })],
    });
    this.#provider = new MeterProvider({ resource: podflowResource(this.#settings.resource), readers: [reader] });
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/metrics') reader.getMetricsRequestHandler(req, res);
      else res.writeHead(404).end();
    });
    await listenHttp(server, c.endpoint, `exporters::${this.#settings.id}::endpoint`);
    this.#server = server;
    this.#settings.logger.info('prometheus exporter listening', { endpoint: `${host}:${this.port}`, path: '/metrics' });
  }

  protected async doShutdown(): Promise<void> {
    const server = this.#server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await this.#provider?.shutdown().catch(() => undefined);
  }
}
