// batch: combines FlowBatches into larger ones, as the Collector's batch
// processor does: a batch goes out when it reaches send_batch_size rows or
// `timeout` after its first row, whichever comes first, split at
// send_batch_max_size. consume() copies the rows it keeps (the caller's batch is
// only read), and returns once they are buffered, or after the send when it
// triggered one (so a slow consumer downstream slows the producer).
//
// Batches reduced by flow_aggregate (one per interval already) pass through
// after what is pending, so order is kept.

import type { ConsumerComponent, CreateSettings } from '../../component/component.ts';
import { LifecycleComponent } from '../../component/lifecycle.ts';
import { attributesReadBy, consumeAndRelease, type FlowConsumer } from '../../consumer/consumer.ts';
import { FlowBatch } from '../../pdata/flow-batch.ts';
import { selectRows } from '../../pdata/flow-batch-select.ts';
import type { Logger } from '../../service/logger.ts';
import type { Counter } from '../../service/telemetry/self-telemetry.ts';
import { appendRows } from './append-rows.ts';
import type { BatchConfig } from './config.ts';

type Trigger = 'size' | 'timeout' | 'shutdown';

export class BatchProcessor extends LifecycleComponent implements ConsumerComponent {
  readonly mutatesData = false;
  readonly #c: BatchConfig;
  readonly #next: FlowConsumer;
  readonly #logger: Logger;
  readonly #labels: { processor: string };
  readonly #sends: Counter;
  readonly #dropped: Counter;
  #pending: FlowBatch | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Sends run one after another so batches stay in order. */
  #chain: Promise<void> = Promise.resolve();

  constructor(settings: CreateSettings, c: BatchConfig, next: FlowConsumer) {
    super();
    this.#c = c;
    this.#next = next;
    this.#logger = settings.logger;
    this.#labels = { processor: settings.id };
    this.#sends = settings.telemetry.counter('podflow_processor_batch_sends_total', 'Batches the batch processor sent, by trigger (size, timeout, shutdown).');
    this.#dropped = settings.telemetry.counter('podflow_processor_dropped_flows_total', 'Flow rows a processor dropped, by reason.');
    for (const trigger of ['size', 'timeout', 'shutdown']) this.#sends.add(0, { ...this.#labels, trigger });
    this.#dropped.add(0, { ...this.#labels, reason: 'downstream_error' });
  }

  protected async doStart(): Promise<void> {}

  protected async doShutdown(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#send('shutdown');
  }

  attributesRead(): ReadonlySet<string> | undefined {
    return attributesReadBy(this.#next);
  }

  async consume(batch: FlowBatch): Promise<void> {
    if (batch.aggregation) {
      await this.#send('size');
      return this.#enqueue(() => this.#next.consume(batch), batch.length);
    }
    if (batch.length === 0) return;
    const pending = (this.#pending ??= new FlowBatch(Math.max(batch.length, Math.min(this.#c.send_batch_size || 1024, 65_536))));
    appendRows(pending, batch);
    if (this.#c.timeout === 0 || (this.#c.send_batch_size > 0 && pending.length >= this.#c.send_batch_size)) {
      return this.#send(this.#c.timeout === 0 ? 'timeout' : 'size');
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.#send('timeout');
    }, this.#c.timeout);
  }

  #send(trigger: Trigger): Promise<void> {
    const batch = this.#pending;
    this.#pending = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (!batch || batch.length === 0) return this.#chain;
    const max = this.#c.send_batch_max_size;
    const parts = max > 0 && batch.length > max ? split(batch, max) : [batch];
    if (parts[0] !== batch) batch.release(); // split into copies
    for (const part of parts) {
      this.#sends.add(1, { ...this.#labels, trigger });
      void this.#enqueue(() => consumeAndRelease(this.#next, part), part.length); // its own batches
    }
    return this.#chain;
  }

  #enqueue(send: () => Promise<void>, rows: number): Promise<void> {
    this.#chain = this.#chain.then(send).catch((e: unknown) => {
      // The Collector's batch processor logs downstream errors too; nothing upstream could retry a batch it no longer has.
      this.#dropped.add(rows, { ...this.#labels, reason: 'downstream_error' });
      this.#logger.warn('downstream refused a batch; dropping it', { rows, error: (e as Error).message });
    });
    return this.#chain;
  }
}

function split(b: FlowBatch, max: number): FlowBatch[] {
  const out: FlowBatch[] = [];
  for (let from = 0; from < b.length; from += max) {
    const n = Math.min(max, b.length - from);
    const rows = new Int32Array(n);
    for (let i = 0; i < n; i++) rows[i] = from + i;
    out.push(selectRows(b, rows, n));
  }
  return out;
}
