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
}

/** `c`, reporting `mutatesData` (a pipeline's first stage standing for the whole pipeline). */
export function withMutatesData(c: FlowConsumer, mutatesData: boolean): FlowConsumer {
  return c.mutatesData === mutatesData ? c : { mutatesData, consume: (batch) => c.consume(batch) };
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
