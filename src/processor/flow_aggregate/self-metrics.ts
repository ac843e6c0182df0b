// The podflow_processor_* self-metrics of one flow_aggregate instance.

import type { SelfTelemetry } from '../../service/telemetry/self-telemetry.ts';

export class AggregateSelfMetrics {
  readonly #t: SelfTelemetry;
  readonly #labels: { processor: string };

  constructor(telemetry: SelfTelemetry, id: string) {
    this.#t = telemetry;
    this.#labels = { processor: id };
    // Registered up front so a scrape shows zeros before the first interval.
    this.flowsIn(0);
    this.#out(0);
    this.interval(0);
  }

  flowsIn(n: number): void {
    this.#t.counter('podflow_processor_incoming_flows_total', 'Flow rows a processor received.').add(n, this.#labels);
  }

  #out(n: number): void {
    this.#t.counter('podflow_processor_outgoing_flows_total', 'Flow rows a processor passed downstream (for flow_aggregate: groups).')
      .add(n, this.#labels);
  }

  /** One interval emitted with `groups` rows. */
  interval(groups: number): void {
    this.#t.gauge('podflow_processor_flow_aggregate_groups', 'Groups (rows) flow_aggregate emitted for its last interval.')
      .set(groups, this.#labels);
    this.#out(groups);
  }

  dropped(n: number, reason: 'worker_crash' | 'not_running'): void {
    this.#t.counter('podflow_processor_dropped_flows_total', 'Flow rows a processor lost, by reason.')
      .add(n, { ...this.#labels, reason });
  }

  workerRestarted(): void {
    this.#t.counter('podflow_processor_flow_aggregate_worker_restarts_total', 'flow_aggregate worker threads replaced after a crash.')
      .add(1, this.#labels);
  }
}
