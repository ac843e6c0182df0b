// The podflow_exporter_* counters and gauges of one logs or traces exporter
// instance: what its QueuedRetrySender delivered and dropped (with the reason),
// failed attempts, and queue occupancy. Named as the Collector's exporterhelper
// names them (otelcol_exporter_sent_log_records, ..._send_failed_spans,
// ..._enqueue_failed_log_records, ..._queue_size{data_type}), labelled with the
// exporter's ID and `data_type`, since one exporter ID serves several pipelines
// (otlp in metrics, logs and traces) and each has its own queue.

import type { SelfTelemetry } from '../../../service/telemetry/self-telemetry.ts';
import type { DropReason, SenderStats } from './queued-retry-sender.ts';

export const SENDER_DROP_REASONS: readonly DropReason[] = ['queue_full', 'retries_exhausted', 'non_retryable', 'shutdown'];

export type SignalUnit = 'log_records' | 'spans';

const WHAT: Record<SignalUnit, string> = { log_records: 'Log records', spans: 'Spans' };

export class SenderSelfMetrics implements SenderStats {
  readonly #telemetry: SelfTelemetry;
  readonly #unit: SignalUnit;
  readonly #labels: { exporter: string; data_type: 'logs' | 'traces' };

  constructor(telemetry: SelfTelemetry, exporterId: string, unit: SignalUnit) {
    this.#telemetry = telemetry;
    this.#unit = unit;
    this.#labels = { exporter: exporterId, data_type: unit === 'spans' ? 'traces' : 'logs' };
    // Visible at 0 before anything is lost, so an alert on the rate has a series.
    for (const reason of SENDER_DROP_REASONS) this.#sendFailed().add(0, { ...this.#labels, reason });
    this.#enqueueFailed().add(0, this.#labels);
    this.#errors().add(0, this.#labels);
    this.#sent().add(0, this.#labels);
    this.discardedItems(0);
    this.#rejected().add(0, this.#labels);
  }

  get labels(): Readonly<Record<string, string>> {
    return this.#labels;
  }

  sent(n: number): void {
    this.#sent().add(n, this.#labels);
  }

  dropped(n: number, reason: DropReason): void {
    this.#sendFailed().add(n, { ...this.#labels, reason });
    if (reason === 'queue_full') this.#enqueueFailed().add(n, this.#labels);
  }

  /** Units the backend accepted the request of but rejected (OTLP partial success); also counted as sent. */
  rejected(n: number): void {
    this.#rejected().add(n, this.#labels);
  }

  /** Persisted items a restart could not read (corrupt files), removed; their units are unknown. */
  discardedItems(n: number): void {
    this.#telemetry.counter('podflow_exporter_persisted_items_discarded_total', 'Persisted sending-queue items (export requests) that a restart could not read and removed.')
      .add(n, this.#labels);
  }

  requestFailed(): void {
    this.#errors().add(1, this.#labels);
  }

  /** Queue occupancy and capacity, in items (export requests), read at scrape time. */
  observeQueue(size: () => number, capacity: number): void {
    this.#telemetry.gauge('podflow_exporter_queue_size', 'Items (export requests) waiting in the sending queue.').observe(this.#labels, size);
    this.#telemetry.gauge('podflow_exporter_queue_capacity', 'Capacity of the sending queue, in items.').observe(this.#labels, () => capacity);
  }

  #sent() {
    return this.#telemetry.counter(`podflow_exporter_sent_${this.#unit}_total`, `${WHAT[this.#unit]} an exporter delivered to its backend.`);
  }

  #sendFailed() {
    return this.#telemetry.counter(`podflow_exporter_send_failed_${this.#unit}_total`,
      `${WHAT[this.#unit]} an exporter dropped, by reason: queue_full, retries_exhausted, non_retryable, shutdown.`);
  }

  #enqueueFailed() {
    return this.#telemetry.counter(`podflow_exporter_enqueue_failed_${this.#unit}_total`, `${WHAT[this.#unit]} refused because the sending queue was full.`);
  }

  #rejected() {
    return this.#telemetry.counter(`podflow_exporter_rejected_${this.#unit}_total`,
      `${WHAT[this.#unit]} the backend rejected in an accepted request (OTLP partial success); also in sent.`);
  }

  #errors() {
    return this.#telemetry.counter('podflow_exporter_export_errors_total', 'Export requests that failed (each attempt, retried or not).');
  }
}
