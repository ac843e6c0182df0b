// The podflow_exporter_* self-metrics of one metrics exporter instance, all
// labelled with the exporter's ID so two exporters of a type stay apart. The
// families logs and traces exporters share (export_errors, queue_size and
// _capacity, persisted_items_discarded) also carry data_type="metrics", as
// theirs carry "logs" / "traces", so each family has one label set.

import type { SelfTelemetry } from '../../../service/telemetry/self-telemetry.ts';
import type { DropReason, SenderStats } from '../exporterhelper/queued-retry-sender.ts';
import type { AccumulatorEvents } from './flow-metrics-accumulator.ts';

export const DROP_REASONS: readonly DropReason[] = ['queue_full', 'retries_exhausted', 'non_retryable', 'shutdown'];

export class ExporterSelfMetrics implements AccumulatorEvents, SenderStats {
  readonly #labels: { exporter: string };
  readonly #shared: { exporter: string; data_type: 'metrics' };
  readonly #telemetry: SelfTelemetry;

  constructor(telemetry: SelfTelemetry, exporterId: string) {
    this.#telemetry = telemetry;
    this.#labels = { exporter: exporterId };
    this.#shared = { exporter: exporterId, data_type: 'metrics' };
  }

  sent(points: number): void {
    this.#telemetry.counter('podflow_exporter_sent_metric_points_total', 'Metric points an exporter delivered to its backend.')
      .add(points, this.#labels);
  }

  /** Makes the drop counters visible at 0 before anything is lost. */
  initDrops(): void {
    for (const reason of DROP_REASONS) this.#sendFailed().add(0, { ...this.#labels, reason });
    this.#enqueueFailed().add(0, this.#labels);
    this.#errors().add(0, this.#shared);
    this.discardedItems(0);
  }

  /** Persisted items a restart could not read (corrupt files), removed; their points are unknown. */
  discardedItems(n: number): void {
    this.#telemetry.counter('podflow_exporter_persisted_items_discarded_total', 'Persisted sending-queue items (export requests) that a restart could not read and removed.')
      .add(n, this.#shared);
  }

  dropped(points: number, reason: DropReason): void {
    this.#sendFailed().add(points, { ...this.#labels, reason });
    if (reason === 'queue_full') this.#enqueueFailed().add(points, this.#labels);
  }

  requestFailed(): void {
    this.#errors().add(1, this.#shared);
  }

  #sendFailed() {
    return this.#telemetry.counter('podflow_exporter_send_failed_metric_points_total', 'Metric points an exporter dropped, by reason: queue_full, retries_exhausted, non_retryable, shutdown.');
  }

  #enqueueFailed() {
    return this.#telemetry.counter('podflow_exporter_enqueue_failed_metric_points_total', 'Metric points refused because the sending queue was full.');
  }

  #errors() {
    return this.#telemetry.counter('podflow_exporter_export_errors_total', 'Export requests that failed (each attempt, retried or not).');
  }

  overflow(updates: number): void {
    this.#telemetry.counter('podflow_exporter_series_overflow_total', 'Metric updates routed to the otel.metric.overflow series because the cardinality limit was reached.')
      .add(updates, this.#labels);
  }

  expired(series: number): void {
    this.#telemetry.counter('podflow_exporter_series_expired_total', 'Metric series dropped after series_expiry without updates.')
      .add(series, this.#labels);
  }

  invalid(values: number): void {
    this.#telemetry.counter('podflow_exporter_invalid_values_total', 'Negative or NaN flow counters dropped (a monotonic sum cannot decrease).')
      .add(values, this.#labels);
  }

  /** Reads the number of active series at scrape time. */
  observeActive(read: () => number): void {
    this.#telemetry.gauge('podflow_exporter_series_active', 'Metric series an exporter currently holds, over all flow metrics.')
      .observe(this.#labels, read);
  }

  /** Queue occupancy and capacity, in items (export requests), read at scrape time. */
  observeQueue(size: () => number, capacity: number): void {
    this.#telemetry.gauge('podflow_exporter_queue_size', 'Items (export requests) waiting in the sending queue.').observe(this.#shared, size);
    this.#telemetry.gauge('podflow_exporter_queue_capacity', 'Capacity of the sending queue, in items.').observe(this.#shared, () => capacity);
  }
}
