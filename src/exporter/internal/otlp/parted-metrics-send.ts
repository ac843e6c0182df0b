// Sends one queued ResourceMetrics as the requests planWithin makes of it, in
// order. The sending queue retries an item as a whole; when a later part fails,
// the retry resumes after the parts already delivered, so a delta is never
// counted twice by the backend. What those parts carried is known to the queue
// (`delivered`) so that an item dropped part-way counts only its undelivered
// points as lost.

import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { planWithin } from './split-metrics-request.ts';

export interface PartedSendOptions {
  maxBytes: number;
  encode: (rm: ResourceMetrics) => Uint8Array | undefined;
  /** The encoding's size without writing it, when the encoder can tell (see planWithin). */
  size?: (rm: ResourceMetrics) => number;
  /** Sends one encoded request; rejects on failure. */
  send: (body: Uint8Array, signal: AbortSignal) => Promise<void>;
}

interface Progress {
  parts: number;
  points: number;
}

export class PartedMetricsSend {
  readonly #o: PartedSendOptions;
  readonly #progress = new WeakMap<ResourceMetrics, Progress>();

  constructor(o: PartedSendOptions) {
    this.#o = o;
  }

  async send(rm: ResourceMetrics, signal: AbortSignal): Promise<void> {
    // Planned again on each attempt (a queued item keeps no bytes); the split
    // is the same every time, so the parts already delivered are the first
    // ones, and with the encoder's size they are not encoded again.
    const parts = planWithin(rm, this.#o.encode, this.#o.maxBytes, this.#o.size);
    let { parts: sent, points } = this.#progress.get(rm) ?? { parts: 0, points: 0 };
    for (; sent < parts.length; sent++) {
      const body = parts[sent]!.body();
      if (body !== undefined) {
        await this.#o.send(body, signal);
        points += parts[sent]!.points;
      }
      this.#progress.set(rm, { parts: sent + 1, points });
    }
    this.#progress.delete(rm);
  }

  /** Points of `rm` that parts already delivered (an item that failed part-way); 0 otherwise. */
  delivered(rm: ResourceMetrics): number {
    return this.#progress.get(rm)?.points ?? 0;
  }
}
