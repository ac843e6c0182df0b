// The synthetic receiver: emits generateInterval(config, i) for i = 0, 1, ...
// at epoch + (i + 1) × interval, where epoch is the start time. Each tick is
// scheduled from the epoch, not from the previous tick, so delays never add
// up; a slow consumer delays the next tick, and the receiver catches up
// without skipping intervals (each batch is a window of time, none is lost).

import { LifecycleComponent } from '../../component/lifecycle.ts';
import type { CreateSettings } from '../../component/component.ts';
import { consumeAndRelease, type FlowConsumer } from '../../consumer/consumer.ts';
import type { Logger } from '../../service/logger.ts';
import type { Counter } from '../../service/telemetry/self-telemetry.ts';
import type { SyntheticConfig } from './config.ts';
import { generateInterval } from './generate.ts';

export class SyntheticReceiver extends LifecycleComponent {
  readonly #config: SyntheticConfig;
  readonly #next: FlowConsumer;
  readonly #logger: Logger;
  readonly #labels: { receiver: string };
  readonly #accepted: Counter;
  readonly #refused: Counter;
  #epochMs = 0;
  #interval = 0;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #stopped = false;

  constructor(settings: CreateSettings, config: SyntheticConfig, next: FlowConsumer) {
    super();
    this.#config = config;
    this.#next = next;
    this.#logger = settings.logger;
    this.#labels = { receiver: settings.id };
    this.#accepted = settings.telemetry.counter('podflow_receiver_accepted_flows_total',
      'Flow records a receiver passed on to its pipelines.');
    this.#refused = settings.telemetry.counter('podflow_receiver_refused_flows_total',
      'Flow records a receiver produced that its pipelines refused (the consumer failed).');
  }

  /** The start time that interval 0 counts from; generateInterval(config, i, epochMs) recomputes any batch. */
  get epochMs(): number {
    return this.#epochMs;
  }

  /** How many intervals have been emitted. */
  get intervalsEmitted(): number {
    return this.#interval;
  }

  protected async doStart(): Promise<void> {
    this.#epochMs = Date.now();
    this.#logger.info('synthetic flows starting', { epochMs: this.#epochMs, seed: this.#config.seed });
    this.#schedule();
  }

  protected async doShutdown(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }

  #schedule(): void {
    const c = this.#config;
    if (this.#stopped) return;
    if (c.stop_after > 0 && this.#interval >= c.stop_after) {
      this.#logger.info('synthetic flows stopped after stop_after intervals', { intervals: this.#interval });
      return;
    }
    const due = this.#epochMs + (this.#interval + 1) * c.interval;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, due - Date.now()));
    // A demo source must not keep the process alive on its own.
    this.#timer.unref();
  }

  #tick(): void {
    this.#timer = undefined;
    const i = this.#interval++;
    const batch = generateInterval(this.#config, i, this.#epochMs);
    const rows = batch.length;
    // A consumer that throws instead of rejecting is still only a refusal (consumeAndRelease rejects).
    this.#inFlight = consumeAndRelease(this.#next, batch).then(
      () => this.#accepted.add(rows, this.#labels),
      (e: unknown) => {
        this.#refused.add(rows, this.#labels);
        this.#logger.warn('pipeline refused synthetic flows', { interval: i, rows, error: e });
      },
    ).finally(() => {
      this.#inFlight = undefined;
      this.#schedule();
    });
  }
}
