// The podflow_exporter_* self-metrics of one metrics exporter instance, all
// labelled with the exporter's ID so two exporters of a type stay apart.

import type { SelfTelemetry } from '../../../service/telemetry/self-telemetry.ts';
import type { AccumulatorEvents } from './flow-metrics-accumulator.ts';

export class ExporterSelfMetrics implements AccumulatorEvents {
  readonly #labels: { exporter: string };
  readonly #telemetry: SelfTelemetry;

  constructor(telemetry: SelfTelemetry, exporterId: string) {
    this.#telemetry = telemetry;
    this.#labels = { exporter: exporterId };
  }

  sent(points: number): void {
    this.#telemetry.counter('podflow_exporter_sent_metric_points_total', 'Metric points an exporter delivered to its backend.')
      .add(points, this.#labels);
  }

  failed(points: number): void {
    this.#telemetry.counter('podflow_exporter_send_failed_metric_points_total', 'Metric points an exporter failed to deliver (dropped).')
      .add(points, this.#labels);
    this.#telemetry.counter('podflow_exporter_export_errors_total', 'Export requests that failed.')
      .add(1, this.#labels);
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
}
