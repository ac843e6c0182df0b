// A flow-metrics exporter that pushes on a period: FlowBatches go into the
// accumulator; a PeriodicExportingMetricReader over a MeterProvider pulls them
// through the FlowMetricProducer every export_interval and once more on
// shutdown (the final flush), handing them to an official OTLP exporter.

import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { ConsumerComponent, CreateSettings } from '../../../component/component.ts';
import { LifecycleComponent } from '../../../component/lifecycle.ts';
import type { FlowBatch } from '../../../pdata/flow-batch.ts';
import { ExporterSelfMetrics } from '../flow-metrics/exporter-self-metrics.ts';
import { FlowMetricsAccumulator, type Temporality } from '../flow-metrics/flow-metrics-accumulator.ts';
import { FlowMetricProducer, podflowResource } from '../flow-metrics/flow-metric-producer.ts';
import { CountingMetricExporter } from './counting-metric-exporter.ts';

export interface PeriodicOptions {
  temporality: Temporality;
  exportIntervalMs: number;
  timeoutMs: number;
  cardinalityLimit: number;
  seriesExpiryMs: number;
  /** For logs. */
  endpoint: string;
  /** Builds the SDK exporter at start (reads certificate files, opens no connection yet). */
  createExporter: () => PushMetricExporter;
}

export class PeriodicFlowExporter extends LifecycleComponent implements ConsumerComponent {
  readonly mutatesData = false;
  readonly #settings: CreateSettings;
  readonly #opts: PeriodicOptions;
  readonly #stats: ExporterSelfMetrics;
  readonly #acc: FlowMetricsAccumulator;
  #provider: MeterProvider | undefined;

  constructor(settings: CreateSettings, opts: PeriodicOptions) {
    super();
    this.#settings = settings;
    this.#opts = opts;
    this.#stats = new ExporterSelfMetrics(settings.telemetry, settings.id);
    this.#acc = new FlowMetricsAccumulator({
      temporality: opts.temporality,
      cardinalityLimit: opts.cardinalityLimit,
      seriesExpiryMs: opts.seriesExpiryMs,
      events: this.#stats,
    });
    this.#stats.observeActive(() => this.#acc.activeSeries);
  }

  async consume(batch: FlowBatch): Promise<void> {
    this.#acc.consume(batch);
  }

  protected async doStart(): Promise<void> {
    const settings = this.#settings;
    const opts = this.#opts;
    const exporter = new CountingMetricExporter(opts.createExporter(), this.#stats, settings.logger, opts.endpoint);
    const reader = new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: opts.exportIntervalMs,
      // The reader rejects a timeout longer than the interval; the exporter keeps its own.
      exportTimeoutMillis: Math.min(opts.timeoutMs + 1_000, opts.exportIntervalMs),
      metricProducers: [new FlowMetricProducer(this.#acc, { resource: settings.resource })],
    });
    this.#provider = new MeterProvider({ resource: podflowResource(settings.resource), readers: [reader] });
    settings.logger.info('metrics exporter started', { endpoint: opts.endpoint, interval_ms: opts.exportIntervalMs, temporality: opts.temporality });
  }

  protected async doShutdown(): Promise<void> {
    // Shutting the provider down runs the reader's final collect and export.
    await this.#provider?.shutdown().catch((e: unknown) => {
      this.#settings.logger.warn('final export failed', { error: (e as Error).message });
    });
  }
}
