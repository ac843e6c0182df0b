// Publishes batches to the in-process flow hub (read by the flows_api and
// flows_ui extensions). The pipeline graph places one tap per receiver: after
// the enrich-only processors (k8s_attributes) at the head of the hub pipeline,
// before anything that filters, samples or regroups, so the views show all the
// node saw, with names, and every receiver feeds them without code of its own.
// With no subscriber it costs one Set size check per batch.

import { attributesReadBy, type FlowConsumer } from '../consumer/consumer.ts';
import { hasFlowSubscribers, publishFlows } from '../extension/flows_api/flow-hub.ts';
import type { FlowBatch } from '../pdata/flow-batch.ts';

export class FlowHubTap implements FlowConsumer {
  readonly mutatesData = false;
  readonly #receiverId: string;
  readonly #next: FlowConsumer;

  constructor(receiverId: string, next: FlowConsumer) {
    this.#receiverId = receiverId;
    this.#next = next;
  }

  /** A subscriber sees every attribute; without one, only what follows reads. */
  attributesRead(): ReadonlySet<string> | undefined {
    return hasFlowSubscribers() ? undefined : attributesReadBy(this.#next);
  }

  consume(batch: FlowBatch): Promise<void> {
    // Subscribers copy what they keep synchronously, so publishing before a
    // mutating processor may take the batch is safe.
    if (hasFlowSubscribers()) publishFlows(this.#receiverId, batch);
    return this.#next.consume(batch);
  }
}
