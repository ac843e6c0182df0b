// The flows of the last `window`, as the flow hub delivers them: batches roll
// into the console's EdgeAggregator (workload → workload edges, the same naming
// as `podflow run`'s table), which is drained into one slice a second; slices
// older than the window are dropped, and a read merges what is left. Slicing
// keeps the window sliding without keeping any batch.

import { EdgeAggregator, mergeWindows, type EdgeWindow } from '../../exporter/console/top-flows.ts';
import type { FlowBatch } from '../../pdata/flow-batch.ts';

interface Slice {
  window: EdgeWindow;
  /** Wall-clock time the slice was drained (its data arrived before that). */
  drainedMs: number;
}

export interface WindowView extends EdgeWindow {
  /** The seconds the rates divide by: the batches' time span, else the wall-clock span the slices cover. */
  seconds: number;
}

export class EdgeWindowStore {
  readonly #agg = new EdgeAggregator();
  readonly #windowMs: number;
  readonly #now: () => number;
  #slices: Slice[] = [];
  readonly #since: number;

  constructor(opts: { windowMs: number; now?: () => number }) {
    this.#windowMs = opts.windowMs;
    this.#now = opts.now ?? Date.now;
    this.#since = this.#now();
  }

  /** Rolls `batch` in; keeps nothing of it (the hub's subscribers must not). */
  add(batch: FlowBatch): void {
    this.#agg.add(batch);
  }

  /** Closes the current slice and forgets slices past the window (a timer calls this every second). */
  rotate(): void {
    const now = this.#now();
    if (this.#agg.pendingRows > 0) this.#slices.push({ window: this.#agg.drain(), drainedMs: now });
    const cutoff = now - this.#windowMs;
    while (this.#slices.length && this.#slices[0]!.drainedMs <= cutoff) this.#slices.shift();
  }

  /** Edges currently held (for the self-metric). */
  get edgeCount(): number {
    return this.#slices.reduce((n, s) => n + s.window.edges.length, 0);
  }

  /** The merged window, including the rows received since the last rotation. */
  view(): WindowView {
    this.rotate();
    const w = mergeWindows(this.#slices.map((s) => s.window));
    const now = this.#now();
    const wallMs = Math.min(this.#windowMs, now - this.#since);
    const spanMs = w.endTimeMs > w.startTimeMs ? w.endTimeMs - w.startTimeMs : wallMs;
    return { ...w, seconds: Math.max(spanMs, 1) / 1000 };
  }
}
