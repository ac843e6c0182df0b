// memory_limiter: refuses data while the process holds more memory than its
// soft limit (limit − spike), as the Collector's memory_limiter does, so the
// receivers drop (and count) what they cannot hand over instead of the
// process growing until it is killed. Every check_interval the memory held
// (V8 heap + ArrayBuffers, see memory-probe.ts) is measured; above the soft
// limit a full GC is forced (at most once per check) and, if still above,
// consume() rejects until a later check finds it below again.

import type { ConsumerComponent, CreateSettings } from '../../component/component.ts';
import { LifecycleComponent } from '../../component/lifecycle.ts';
import { attributesReadBy, type FlowConsumer } from '../../consumer/consumer.ts';
import type { FlowBatch } from '../../pdata/flow-batch.ts';
import type { Logger } from '../../service/logger.ts';
import type { Counter } from '../../service/telemetry/self-telemetry.ts';
import { resolveLimits, type Limits, type MemoryLimiterConfig } from './config.ts';
import { availableMemoryBytes, gcFunction, heldBytes } from './memory-probe.ts';

export class MemoryLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MemoryLimitError';
  }
}

export interface MemoryLimiterOptions {
  /** For tests: what to measure and how to collect garbage. */
  measure?: () => number;
  gc?: (() => void) | null;
}

export class MemoryLimiterProcessor extends LifecycleComponent implements ConsumerComponent {
  readonly mutatesData = false;
  readonly #c: MemoryLimiterConfig;
  readonly #next: FlowConsumer;
  readonly #logger: Logger;
  readonly #labels: { processor: string };
  readonly #refused: Counter;
  readonly #gcs: Counter;
  readonly #limits: Limits;
  readonly #measure: () => number;
  readonly #gc: (() => void) | null;
  #limited = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(settings: CreateSettings, c: MemoryLimiterConfig, next: FlowConsumer, opts: MemoryLimiterOptions = {}) {
    super();
    this.#c = c;
    this.#next = next;
    this.#logger = settings.logger;
    this.#labels = { processor: settings.id };
    this.#limits = resolveLimits(c, availableMemoryBytes());
    this.#measure = opts.measure ?? heldBytes;
    this.#gc = opts.gc !== undefined ? opts.gc : gcFunction();
    const t = settings.telemetry;
    this.#refused = t.counter('podflow_processor_refused_flows_total', 'Flow rows a processor refused (the caller counts them as refused too), by reason.');
    this.#refused.add(0, { ...this.#labels, reason: 'memory_limit' });
    this.#gcs = t.counter('podflow_processor_memory_limiter_forced_gc_total', 'Full garbage collections the memory_limiter forced.');
    this.#gcs.add(0, this.#labels);
    t.gauge('podflow_processor_memory_limiter_limited', '1 while the memory_limiter refuses data, else 0.').observe(this.#labels, () => (this.#limited ? 1 : 0));
    t.gauge('podflow_processor_memory_limiter_soft_limit_bytes', 'The memory_limiter soft limit (limit − spike) in bytes.').observe(this.#labels, () => this.#limits.softBytes);
  }

  get limits(): Limits {
    return this.#limits;
  }

  get limited(): boolean {
    return this.#limited;
  }

  protected async doStart(): Promise<void> {
    this.#logger.info('memory limiter started', {
      hard_limit_mib: Math.round(this.#limits.hardBytes / 2 ** 20), soft_limit_mib: Math.round(this.#limits.softBytes / 2 ** 20),
      check_interval_ms: this.#c.check_interval, forced_gc: this.#gc !== null,
    });
    this.check();
    // Validation requires > 0; the floor only guards a config built without it.
    this.#timer = setInterval(() => this.check(), Math.max(this.#c.check_interval, 10));
    // Never the reason the process stays alive.
    this.#timer.unref();
  }

  protected async doShutdown(): Promise<void> {
    clearInterval(this.#timer);
  }

  /** One measurement (run every check_interval; public for tests). */
  check(): void {
    let used = this.#measure();
    if (used >= this.#limits.softBytes && this.#gc) {
      this.#gc();
      this.#gcs.add(1, this.#labels);
      used = this.#measure();
    }
    const limited = used >= this.#limits.softBytes;
    if (limited !== this.#limited) {
      const fields = { used_mib: Math.round(used / 2 ** 20), soft_limit_mib: Math.round(this.#limits.softBytes / 2 ** 20) };
      if (limited) this.#logger.warn('Memory usage is above the soft limit. Refusing data.', fields);
      else this.#logger.info('Memory usage is back below the soft limit. Accepting data.', fields);
      this.#limited = limited;
    }
  }

  attributesRead(): ReadonlySet<string> | undefined {
    return attributesReadBy(this.#next);
  }

  async consume(batch: FlowBatch): Promise<void> {
    if (this.#limited) {
      this.#refused.add(batch.length, { ...this.#labels, reason: 'memory_limit' });
      throw new MemoryLimitError(`data refused due to high memory usage (soft limit ${Math.round(this.#limits.softBytes / 2 ** 20)} MiB)`);
    }
    return this.#next.consume(batch);
  }
}
