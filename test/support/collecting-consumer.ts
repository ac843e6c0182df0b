// A FlowConsumer that keeps copies of what it is given, for tests.

import type { FlowConsumer } from '../../src/consumer/consumer.ts';
import type { FlowBatch } from '../../src/pdata/flow-batch.ts';

export class CollectingConsumer implements FlowConsumer {
  readonly mutatesData = false;
  readonly batches: FlowBatch[] = [];
  #waiters: Array<() => void> = [];

  async consume(batch: FlowBatch): Promise<void> {
    this.batches.push(batch.clone());
    for (const w of this.#waiters.splice(0)) w();
  }

  get rows(): number {
    return this.batches.reduce((n, b) => n + b.length, 0);
  }

  /** Resolves once at least `n` batches have arrived, or rejects after `ms`. */
  async waitForBatches(n: number, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.batches.length < n) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} batches (have ${this.batches.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }
}
