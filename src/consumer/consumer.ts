// The consume() contract: the only way data moves between stages.
//
// Ownership: the batch passed to consume() belongs to the callee only until the
// returned promise settles. A consumer that keeps the batch after that must copy
// it (FlowBatch.clone()). A consumer that writes to the batch declares
// `mutatesData: true`; the fan-out then hands it a private clone, and a
// pipeline whose stages include one is a mutating consumer as a whole
// (pipeline-graph.ts). Writing includes taking the columns away
// (FlowBatch.moveOut: flow_aggregate with one worker), so the caller must not
// read a batch once it has passed it to a mutating consumer. The stage that
// made the batch frees it once the promise settles (FlowBatch.release): after
// that, a kept reference reads as an empty batch.

import type { FlowBatch } from '../pdata/flow-batch.ts';

export interface FlowConsumer {
  readonly mutatesData: boolean;
  consume(batch: FlowBatch): Promise<void>;
  /**
   * The attribute columns that this consumer and every stage after it may
   * read, asked per batch (a flows_api subscriber can come and go); undefined
   * or absent: any. A stage that adds attributes (k8s_attributes) leaves out
   * the ones nothing after it reads: before flow_aggregate, whose groups keep
   * only their group_by attributes, naming the others was more than a third
   * of the naming step's CPU (bench/pipeline.bench.ts). A stage that passes
   * batches on answers for what follows it, plus what it reads itself.
   */
  attributesRead?(): ReadonlySet<string> | undefined;
}

/** What `c` and everything after it may read (see FlowConsumer.attributesRead); undefined: any attribute. */
export function attributesReadBy(c: FlowConsumer): ReadonlySet<string> | undefined {
  return c.attributesRead?.();
}

/** The union of what several consumers read; undefined when any of them may read any attribute. */
export function attributesReadByAll(consumers: readonly FlowConsumer[]): ReadonlySet<string> | undefined {
  const all = new Set<string>();
  for (const c of consumers) {
    const read = attributesReadBy(c);
    if (read === undefined) return undefined;
    for (const a of read) all.add(a);
  }
  return all;
}

/** `c`, reporting `mutatesData` (a pipeline's first stage standing for the whole pipeline). */
export function withMutatesData(c: FlowConsumer, mutatesData: boolean): FlowConsumer {
  return c.mutatesData === mutatesData ? c : { mutatesData, consume: (batch) => c.consume(batch), attributesRead: () => attributesReadBy(c) };
}

/**
 * Hands a batch the calling stage made to `next`, then frees it (FlowBatch.release)
 * once that consume has settled, accepted or refused. A consumer that throws
 * instead of rejecting is a rejection here too.
 */
export async function consumeAndRelease(next: FlowConsumer, batch: FlowBatch): Promise<void> {
  try {
    await next.consume(batch);
  } finally {
    batch.release();
  }
}
