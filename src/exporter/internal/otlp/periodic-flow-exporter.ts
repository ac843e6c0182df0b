// A flow-metrics exporter that pushes on a period: FlowBatches go into the
// accumulator; a PeriodicExportingMetricReader over a MeterProvider pulls them
// through the FlowMetricProducer every export_interval and once more on
// shutdown (the final flush), and hands each ResourceMetrics to the
// exporterhelper's queue, whose sender delivers it with retries:
//
//   consume ─▶ accumulator ◀─collect─ reader ─▶ QueuedMetricExporter ─▶ queue ─▶ send (OTLP)
//
// Shutdown: the final collection is queued, then the queue drains for up to
// shutdown_timeout.

import { MeterProvider, PeriodicExportingMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ConsumerComponent, CreateSettings } from '../../../component/component.ts';
import { LifecycleComponent } from '../../../component/lifecycle.ts';
import type { FlowBatch } from '../../../pdata/flow-batch.ts';
import type { DeliveryConfig } from '../exporterhelper/delivery-config.ts';
import type { Verdict } from '../exporterhelper/export-error.ts';
import { QueuedRetrySender } from '../exporterhelper/queued-retry-sender.ts';
import { ExporterSelfMetrics } from '../flow-metrics/exporter-self-metrics.ts';
import { FlowMetricsAccumulator, type Temporality } from '../flow-metrics/flow-metrics-accumulator.ts';
import { FlowMetricProducer, podflowResource } from '../flow-metrics/flow-metric-producer.ts';
import { countPoints, QueuedMetricExporter } from './queued-metric-exporter.ts';
import { resourceMetricsCodec } from './resource-metrics-codec.ts';

/** One transport's way of sending a ResourceMetrics and judging its failures. */
export interface MetricsSender {
  send(rm: ResourceMetrics, signal: AbortSignal): Promise<void>;
  /** Points of `rm` already delivered by the requests of a send that failed part-way (see PartedMetricsSend). */
  delivered?(rm: ResourceMetrics): number;
  classify(e: unknown): Verdict;
  close(): Promise<void>;
}

export interface PeriodicOptions {
  temporality: Temporality;
  exportIntervalMs: number;
  timeoutMs: number;
  cardinalityLimit: number;
  seriesExpiryMs: number;
  delivery: DeliveryConfig;
  /** For logs. */
  endpoint: string;
  /** Builds the transport at start (reads certificate files, loads what its encoding needs, opens no connection yet). */
  createSender: () => MetricsSender | Promise<MetricsSender>;
}

export class PeriodicFlowExporter extends LifecycleComponent implements ConsumerComponent {
  readonly mutatesData = false;
  readonly #settings: CreateSettings;
  readonly #opts: PeriodicOptions;
  readonly #stats: ExporterSelfMetrics;
  readonly #acc: FlowMetricsAccumulator;
  #provider: MeterProvider | undefined;
  #transport: MetricsSender | undefined;
  #sender: QueuedRetrySender<ResourceMetrics> | undefined;

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
    this.#stats.initDrops();
  }

  async consume(batch: FlowBatch): Promise<void> {
    this.#acc.consume(batch);
  }

  /** Collects now and queues the result (tests, and a future flush API). */
  async flush(): Promise<void> {
    await this.#provider?.forceFlush();
  }

  /** Items waiting in the sending queue plus the one being sent. */
  get pending(): number {
    return (this.#sender?.size ?? 0) + (this.#sender?.inFlight ?? 0);
  }

  protected async doStart(): Promise<void> {
    const settings = this.#settings;
    const opts = this.#opts;
    const { sending_queue: queue, retry_on_failure: retry } = opts.delivery;
    const transport = (this.#transport = await opts.createSender());
    const sender = (this.#sender = new QueuedRetrySender<ResourceMetrics>({
      // One sender keeps deltas in order (a backend may reject an out-of-order
      // delta) and cumulative points monotonic; num_consumers is accepted for
      // Collector compatibility but the flow-metrics path uses 1.
      queue: { ...queue, num_consumers: 1 },
      retry,
      send: (rm, signal) => transport.send(rm, signal),
      classify: (e) => transport.classify(e),
      size: countPoints,
      delivered: (rm) => transport.delivered?.(rm) ?? 0,
      stats: this.#stats,
      logger: settings.logger,
      coalesce: opts.temporality === 'cumulative',
      ...(queue.storage_dir !== undefined ? { persist: { dir: queue.storage_dir, codec: resourceMetricsCodec } } : {}),
    }));
    sender.start();
    this.#stats.observeQueue(() => sender.size, sender.capacity);
    const reader = new PeriodicExportingMetricReader({
      exporter: new QueuedMetricExporter(sender),
      exportIntervalMillis: opts.exportIntervalMs,
      // Queuing is immediate; the send timeout applies in the sender.
      exportTimeoutMillis: Math.min(opts.timeoutMs + 1_000, opts.exportIntervalMs),
      metricProducers: [new FlowMetricProducer(this.#acc, { resource: settings.resource })],
    });
    this.#provider = new MeterProvider({ resource: podflowResource(settings.resource), readers: [reader] });
    settings.logger.info('metrics exporter started', {
      endpoint: opts.endpoint, interval_ms: opts.exportIntervalMs, temporality: opts.temporality,
      queue_size: sender.capacity, persistent: queue.storage_dir !== undefined,
    });
  }

  protected async doShutdown(): Promise<void> {
    // Shutting the provider down runs the reader's final collect, which is queued.
    await this.#provider?.shutdown().catch((e: unknown) => {
      this.#settings.logger.warn('final collection failed', { error: (e as Error).message });
    });
    await this.#sender?.shutdown(this.#opts.delivery.shutdown_timeout);
    await this.#transport?.close().catch(() => undefined);
  }
}
