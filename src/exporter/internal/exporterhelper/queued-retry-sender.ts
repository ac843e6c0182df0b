// The Collector's exporterhelper for podflow: a bounded sending queue drained
// by `num_consumers` senders, each retrying a failed item with exponential
// backoff (honouring the backend's retry delay) until it is delivered, the
// error is permanent, or `max_elapsed_time` has passed. Every item that does
// not reach the backend is counted with its reason. With `persist`, each
// queued item is also a file (file-store.ts) until delivered, so a restart
// sends what a crash left behind (at least once: an item in flight during a
// crash is sent again).
//
//   offer(item) ──▶ [ queue: queue_size items ] ──▶ consumer × num_consumers ──▶ send(item)
//        │ full: enqueue failed (counted)                 ▲ retryable: back off, try again
//        ▼                                                └ permanent / too late: dropped (counted)

import type { Logger } from '../../../service/logger.ts';
import { ExponentialBackoff } from './backoff.ts';
import { classifyNetworkError, type Verdict } from './export-error.ts';
import { FileStore } from './file-store.ts';
import type { SendingQueueConfig } from './queue-config.ts';
import type { RetryConfig } from './retry-config.ts';

export type DropReason = 'queue_full' | 'retries_exhausted' | 'non_retryable' | 'shutdown';

/** Where the sender reports outcomes, in the exporter's unit (metric points, log records, spans). */
export interface SenderStats {
  sent(n: number): void;
  /** n units lost; `queue_full` is also the enqueue-failed counter. */
  dropped(n: number, reason: DropReason): void;
  /** One send attempt failed (retried or not). */
  requestFailed?(): void;
  /** n persisted items could not be read at restart and were removed (their units are unknown). */
  discardedItems?(n: number): void;
}

export interface ItemCodec<T> {
  encode(item: T): string;
  decode(text: string): T;
}

export interface QueuedRetrySenderOptions<T> {
  queue: Pick<SendingQueueConfig, 'enabled' | 'num_consumers' | 'queue_size'>;
  retry: RetryConfig;
  /** Delivers one item; rejects on failure. The signal aborts when shutdown gives up. */
  send: (item: T, signal: AbortSignal) => Promise<void>;
  /** Retryable or not, and the backend's delay; default: ExportError's verdict, else socket errors. */
  classify?: (e: unknown) => Verdict;
  /** Units in an item, for the counters. */
  size: (item: T) => number;
  /**
   * Units of an item that the attempts so far delivered (an item sent as
   * several requests, one of which failed): counted as sent, not lost, when
   * the item is dropped. Default: none.
   */
  delivered?: (item: T) => number;
  stats: SenderStats;
  logger: Logger;
  /** With storage_dir: how an item is written to and read from a file. */
  persist?: { dir: string; codec: ItemCodec<T> };
  /**
   * Latest wins: a new item replaces the ones still waiting, and a failing item
   * is abandoned as soon as a newer one is queued. For cumulative data, where
   * each item carries the running totals; never for deltas.
   */
  coalesce?: boolean;
}

interface Entry<T> {
  item: T;
  size: number;
  file: string | undefined;
}

export class QueuedRetrySender<T> {
  readonly #o: QueuedRetrySenderOptions<T>;
  readonly #capacity: number;
  readonly #consumers: number;
  readonly #classify: (e: unknown) => Verdict;
  readonly #store: FileStore | undefined;
  readonly #queue: Entry<T>[] = [];
  readonly #inFlight = new Set<Entry<T>>();
  #idle = 0;
  #wake: Array<() => void> = [];
  #changed: Array<() => void> = [];
  #state: 'new' | 'running' | 'draining' | 'closed' = 'new';
  #drainDeadline = Infinity;
  readonly #abort = new AbortController();
  #loops: Promise<void>[] = [];

  constructor(o: QueuedRetrySenderOptions<T>) {
    this.#o = o;
    // A disabled queue buffers nothing: an item is taken only by an idle sender.
    this.#capacity = o.queue.enabled ? o.queue.queue_size : 0;
    this.#consumers = o.queue.enabled ? o.queue.num_consumers : 1;
    this.#classify = o.classify ?? classifyNetworkError;
    this.#store = o.persist ? new FileStore(o.persist.dir) : undefined;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Items waiting (not counting those being sent). */
  get size(): number {
    return this.#queue.length;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Loads what a previous run persisted and starts the senders. */
  start(): void {
    if (this.#state !== 'new') return;
    this.#state = 'running';
    if (this.#store) this.#restore(this.#store);
    for (let i = 0; i < this.#consumers; i++) this.#loops.push(this.#consume());
  }

  #restore(store: FileStore): void {
    const codec = this.#o.persist!.codec;
    let restored = 0;
    for (const { file, text } of store.open()) {
      let item: T;
      try {
        if (text === undefined) throw new Error('unreadable');
        item = codec.decode(text);
      } catch (e) {
        this.#o.logger.warn('Persisted queue item is unreadable; removing it.', { file, error: (e as Error).message });
        this.#o.stats.discardedItems?.(1);
        store.remove(file);
        continue;
      }
      const size = this.#o.size(item);
      if (this.#queue.length >= Math.max(this.#capacity, 1)) {
        this.#o.stats.dropped(size, 'queue_full');
        store.remove(file);
        continue;
      }
      this.#queue.push({ item, size, file });
      restored++;
    }
    if (restored) this.#o.logger.info('Restored persisted queue items.', { items: restored, dir: store.dir });
  }

  /** Queues an item; false (and counted as queue_full or shutdown) when it cannot be taken. */
  offer(item: T): boolean {
    const size = this.#o.size(item);
    if (this.#state === 'closed' || this.#state === 'new') {
      this.#o.stats.dropped(size, 'shutdown');
      return false;
    }
    if (this.#o.coalesce) for (const old of this.#queue.splice(0)) this.#forget(old);
    if (this.#queue.length >= this.#capacity && this.#idle <= this.#queue.length) {
      this.#o.stats.dropped(size, 'queue_full');
      this.#o.logger.warn('Sending queue is full. Dropping data.', { dropped_items: size, queue_size: this.#capacity });
      return false;
    }
    let file: string | undefined;
    if (this.#store) {
      try {
        file = this.#store.write(this.#o.persist!.codec.encode(item));
      } catch (e) {
        // The item still goes out from memory; only its crash safety is lost.
        this.#o.logger.warn('Could not persist a queue item; keeping it in memory only.', { error: (e as Error).message });
      }
    }
    this.#queue.push({ item, size, file });
    this.#wake.shift()?.();
    return true;
  }

  /**
   * Stops taking items and sends what is queued until it is empty or
   * `timeoutMs` passed. What is left then is kept on disk when persistent,
   * otherwise dropped with reason `shutdown`. Idempotent.
   */
  async shutdown(timeoutMs: number): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'closed';
      return;
    }
    if (this.#state !== 'running') return this.#waitClosed();
    this.#state = 'draining';
    this.#drainDeadline = Date.now() + timeoutMs;
    const timer = setTimeout(() => this.#abort.abort(), timeoutMs);
    try {
      while (this.#queue.length || this.#inFlight.size) {
        if (this.#abort.signal.aborted) break;
        await new Promise<void>((res) => {
          this.#changed.push(res);
          this.#abort.signal.addEventListener('abort', () => res(), { once: true });
        });
      }
    } finally {
      clearTimeout(timer);
    }
    this.#state = 'closed';
    this.#abort.abort();
    for (const w of this.#wake.splice(0)) w();
    const left = [...this.#inFlight, ...this.#queue.splice(0)];
    this.#inFlight.clear();
    if (left.length) {
      const kept = left.filter((e) => e.file !== undefined);
      const lost = left.filter((e) => e.file === undefined);
      const dropped = lost.reduce((n, e) => n + this.#countLost(e, 'shutdown'), 0);
      this.#o.logger.warn('Shutdown timeout: queue not drained.', {
        kept_on_disk_items: kept.length, dropped_items: dropped,
      });
    }
  }

  #waitClosed(): Promise<void> {
    return new Promise((res) => {
      const check = () => (this.#state === 'closed' ? res() : this.#changed.push(check));
      check();
    });
  }

  #notify(): void {
    for (const c of this.#changed.splice(0)) c();
  }

  #forget(e: Entry<T>): void {
    if (e.file && this.#store) this.#store.remove(e.file);
  }

  async #take(): Promise<Entry<T> | undefined> {
    while (this.#queue.length === 0) {
      if (this.#state === 'closed' || this.#state === 'draining') return undefined;
      this.#idle++;
      await new Promise<void>((res) => this.#wake.push(res));
      this.#idle--;
    }
    // Moved to in-flight in the same tick, so shutdown never sees it in neither.
    const e = this.#queue.shift()!;
    this.#inFlight.add(e);
    return e;
  }

  async #consume(): Promise<void> {
    for (;;) {
      const e = await this.#take();
      if (!e) return;
      try {
        await this.#deliver(e);
      } finally {
        this.#inFlight.delete(e);
        this.#notify();
      }
      if (this.#state === 'closed') return;
    }
  }

  async #deliver(e: Entry<T>): Promise<void> {
    const { retry, logger, stats } = this.#o;
    const backoff = new ExponentialBackoff(retry);
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      let error: unknown;
      try {
        await this.#o.send(e.item, this.#abort.signal);
        if (this.#state === 'closed' && !this.#inFlight.has(e)) return; // shutdown already accounted for it
        stats.sent(e.size);
        this.#forget(e);
        return;
      } catch (err) {
        error = err;
        stats.requestFailed?.();
      }
      if (this.#state === 'closed') return;
      const verdict = this.#classify(error);
      const message = describe(error);
      if (!verdict.retryable || !retry.enabled) {
        this.#drop(e, retry.enabled ? 'non_retryable' : 'retries_exhausted', message);
        return;
      }
      const wait = Math.max(backoff.next(), verdict.retryAfterMs ?? 0);
      const elapsed = Date.now() - started;
      if (retry.max_elapsed_time > 0 && elapsed + wait > retry.max_elapsed_time) {
        this.#drop(e, 'retries_exhausted', message);
        return;
      }
      if (this.#o.coalesce && this.#queue.length > 0) {
        // Superseded: the newer cumulative item carries these totals too.
        logger.debug('Exporting failed; a newer item replaces this one.', { error: message });
        this.#forget(e);
        return;
      }
      if (this.#state === 'draining' && Date.now() + wait > this.#drainDeadline) {
        // No time for another attempt: shutdown() accounts for it (kept on disk or dropped).
        await new Promise<void>((res) => this.#abort.signal.addEventListener('abort', () => res(), { once: true }));
        return;
      }
      logger.warn('Exporting failed. Will retry the request after interval.', { error: message, interval_ms: wait, attempt });
      await sleep(wait, this.#abort.signal);
      if (this.#abort.signal.aborted) return;
    }
  }

  #drop(e: Entry<T>, reason: DropReason, error: string): void {
    const lost = this.#countLost(e, reason);
    this.#forget(e);
    this.#o.logger.warn('Exporting failed. Dropping data.', { error, reason, dropped_items: lost });
  }

  /** Counts what is lost of an item given up on (what earlier requests of it delivered counts as sent); returns it. */
  #countLost(e: Entry<T>, reason: DropReason): number {
    const delivered = Math.min(this.#o.delivered?.(e.item) ?? 0, e.size);
    if (delivered > 0) this.#o.stats.sent(delivered);
    this.#o.stats.dropped(e.size - delivered, reason);
    return e.size - delivered;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((res) => {
    if (signal.aborted) return res();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      res();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The message and, for HTTP, the status and response body (no stack). */
export function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const { code, data } = e as Error & { code?: unknown; data?: unknown };
  // grpc-js appends an empty "Resolution note: " to connection errors.
  let text = (e.message || e.name).replace(/\.?\s*Resolution note:\s*$/, '');
  if (code !== undefined && !text.includes(String(code))) text += ` (code ${String(code)})`;
  if (typeof data === 'string' && data.trim()) text += `: ${data.trim().slice(0, 300)}`;
  return text;
}
