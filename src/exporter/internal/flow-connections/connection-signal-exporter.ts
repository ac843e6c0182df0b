// A logs or traces exporter over FlowBatches: each consumed batch is turned into
// items (log records or spans) right away and handed to an official OTLP
// exporter without waiting for it, so a slow backend never holds the pipeline
// back. At most MAX_IN_FLIGHT exports run at once; batches that find them busy
// wait in a queue of MAX_QUEUED (a connection being set up, a slow backend),
// and a batch that finds the queue full is dropped and counted. shutdown()
// waits for the queue and what is in flight (each export ends by its timeout).

import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ConsumerComponent, CreateSettings } from '../../../component/component.ts';
import { LifecycleComponent } from '../../../component/lifecycle.ts';
import type { FlowBatch } from '../../../pdata/flow-batch.ts';
import type { Counter } from '../../../service/telemetry/self-telemetry.ts';

/** The part of the SDK's LogRecordExporter / SpanExporter used here. */
export interface ItemExporter<T> {
  export(items: T[], done: (r: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

export type SkipReason = 'min_bytes' | 'min_duration' | 'sampling' | 'active';

export interface ItemBuilder<T> {
  /** Items for one batch; calls skip() for each connection left out by configuration. */
  build(batch: FlowBatch, skip: (reason: SkipReason) => void): T[];
}

export const MAX_IN_FLIGHT = 4;
export const MAX_QUEUED = 64;

export interface SignalExporterOptions<T> {
  /** "log_records" or "spans": names the self-metrics. */
  item: 'log_records' | 'spans';
  endpoint: string;
  builder: ItemBuilder<T>;
  createExporter: () => ItemExporter<T>;
}

export class ConnectionSignalExporter<T> extends LifecycleComponent implements ConsumerComponent {
  readonly mutatesData = false;
  readonly #settings: CreateSettings;
  readonly #opts: SignalExporterOptions<T>;
  readonly #labels: { exporter: string };
  readonly #sent: Counter;
  readonly #failed: Counter;
  readonly #errors: Counter;
  readonly #skipped: Counter;
  #exporter: ItemExporter<T> | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #queue: T[][] = [];
  #drained: (() => void) | undefined;

  constructor(settings: CreateSettings, opts: SignalExporterOptions<T>) {
    super();
    this.#settings = settings;
    this.#opts = opts;
    this.#labels = { exporter: settings.id };
    const t = settings.telemetry;
    const what = opts.item === 'spans' ? 'Spans' : 'Log records';
    this.#sent = t.counter(`podflow_exporter_sent_${opts.item}_total`, `${what} an exporter delivered to its backend.`);
    this.#failed = t.counter(`podflow_exporter_send_failed_${opts.item}_total`, `${what} an exporter failed to deliver or dropped because ${MAX_IN_FLIGHT} exports were already in flight.`);
    this.#errors = t.counter('podflow_exporter_export_errors_total', 'Export requests that failed.');
    this.#skipped = t.counter('podflow_exporter_connections_skipped_total', 'Connections a logs or traces exporter left out as configured (reason: min_bytes, min_duration, sampling, active).');
  }

  protected async doStart(): Promise<void> {
    this.#exporter = this.#opts.createExporter();
    this.#settings.logger.info(`${this.#settings.signal} exporter started`, { endpoint: this.#opts.endpoint });
  }

  protected async doShutdown(): Promise<void> {
    if (this.#queue.length || this.#inFlight.size) await new Promise<void>((res) => { this.#drained = res; });
    await this.#exporter?.shutdown().catch(() => undefined);
  }

  async consume(batch: FlowBatch): Promise<void> {
    const labels = this.#labels;
    const items = this.#opts.builder.build(batch, (reason) => this.#skipped.add(1, { ...labels, reason }));
    if (items.length === 0) return;
    if (!this.#exporter || !this.running || this.#queue.length >= MAX_QUEUED) {
      this.#failed.add(items.length, labels);
      this.#settings.logger.warn('Exporter queue full or exporter stopped. Dropping data.', { [`dropped_${this.#opts.item}`]: items.length });
      return;
    }
    this.#queue.push(items);
    this.#pump();
  }

  /** Starts queued exports while fewer than MAX_IN_FLIGHT run. */
  #pump(): void {
    const exporter = this.#exporter!;
    const labels = this.#labels;
    while (this.#inFlight.size < MAX_IN_FLIGHT && this.#queue.length) {
      const items = this.#queue.shift()!;
      const p = new Promise<void>((resolve) => {
        exporter.export(items, (r) => {
          if (r.code === ExportResultCode.SUCCESS) {
            this.#sent.add(items.length, labels);
          } else {
            this.#failed.add(items.length, labels);
            this.#errors.add(1, labels);
            this.#settings.logger.warn('Exporting failed. Dropping data.', {
              endpoint: this.#opts.endpoint, error: r.error?.message ?? 'unknown error', [`dropped_${this.#opts.item}`]: items.length,
            });
          }
          resolve();
        });
      });
      this.#inFlight.add(p);
      void p.then(() => {
        this.#inFlight.delete(p);
        this.#pump();
        if (!this.#queue.length && !this.#inFlight.size) this.#drained?.();
      });
    }
  }
}
