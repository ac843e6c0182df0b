// Fan-out: one producer feeding several consumers (a receiver in several
// pipelines, or a pipeline with several exporters). Consumers that mutate get a
// clone each; the others share the original, read-only. The last mutating
// consumer may take the original when no read-only consumer shares it.

import type { FlowBatch } from '../pdata/flow-batch.ts';
import { attributesReadByAll, consumeAndRelease, type FlowConsumer } from './consumer.ts';

export class FanOut implements FlowConsumer {
  /** True when the original goes to a mutating consumer (no reader shares it): then this fan-out writes to its input too. */
  readonly mutatesData: boolean;
  readonly #readers: FlowConsumer[];
  readonly #mutators: FlowConsumer[];

  constructor(consumers: readonly FlowConsumer[]) {
    this.#readers = consumers.filter((c) => !c.mutatesData);
    this.#mutators = consumers.filter((c) => c.mutatesData);
    this.mutatesData = this.#mutators.length > 0 && this.#readers.length === 0;
  }

  /** What any of the consumers reads. */
  attributesRead(): ReadonlySet<string> | undefined {
    return attributesReadByAll([...this.#mutators, ...this.#readers]);
  }

  async consume(batch: FlowBatch): Promise<void> {
    const calls: Promise<void>[] = [];
    const m = this.#mutators;
    for (let i = 0; i < m.length; i++) {
      const lastTakesOriginal = i === m.length - 1 && this.#readers.length === 0;
      // A clone is this fan-out's own: freed once its consumer is done with it.
      calls.push(lastTakesOriginal ? m[i]!.consume(batch) : consumeAndRelease(m[i]!, batch.clone()));
    }
    for (const r of this.#readers) calls.push(r.consume(batch));
    const results = await Promise.allSettled(calls);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length === 1) throw failed[0]!.reason;
    if (failed.length > 1) throw new AggregateError(failed.map((f) => f.reason), `${failed.length} consumers failed`);
  }
}

/** One consumer passes through; several are wrapped in a FanOut. */
export function fanOut(consumers: readonly FlowConsumer[]): FlowConsumer {
  return consumers.length === 1 ? consumers[0]! : new FanOut(consumers);
}
