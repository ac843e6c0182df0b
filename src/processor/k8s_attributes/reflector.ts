// List + watch of one resource into the cache, the client-go reflector loop:
//
//   list (paged, limit/continue) → replace the cache's view (objects missing
//   from the list are deleted) → watch from the list's resourceVersion with
//   bookmarks → on a normal end, resume the watch from the last resourceVersion
//   seen → on 410 Gone (HTTP 410 or an ERROR event with code 410), relist →
//   on any other error (API down, connection dropped early, 5xx), retry after a
//   backoff that doubles up to max_backoff, with ±50% jitter so a DaemonSet's
//   agents do not all come back at the same instant after an outage.
//
// @kubernetes/client-node's ListWatch would do the loop but keeps every full
// object in its own map, which is exactly the memory this cache avoids.

import type { ResourceHandler } from './cache.ts';
import type { ResourceClient } from './kube-client.ts';
import type { Logger } from '../../service/logger.ts';

export interface ReflectorOptions {
  client: ResourceClient;
  handler: ResourceHandler;
  logger: Logger;
  pageSize: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  watchTimeoutSeconds: number;
  /** Each restart of the list/watch after a failure or 410 (not a normal watch timeout). */
  onRestart: (reason: string) => void;
  random?: () => number;
}

class GoneError extends Error {}

export class Reflector {
  readonly #o: ReflectorOptions;
  #stopped = false;
  #resourceVersion = '';
  #abort: AbortController | undefined;
  #sleep: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  #failures = 0;
  #synced = false;
  #syncWaiters: Array<() => void> = [];
  #loop: Promise<void> | undefined;

  constructor(o: ReflectorOptions) {
    this.#o = o;
  }

  get resource(): string {
    return this.#o.client.resource;
  }

  get synced(): boolean {
    return this.#synced;
  }

  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Resolves after the first complete list. */
  waitForSync(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort?.abort();
    if (this.#sleep) {
      clearTimeout(this.#sleep.timer);
      this.#sleep.resolve();
    }
    // A list request in flight cannot be aborted through the generated client; the loop
    // drops its result once it returns, so shutdown waits for it only briefly.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#loop, new Promise<void>((r) => { timer = setTimeout(r, 2000); })]);
    clearTimeout(timer);
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        if (!this.#resourceVersion) await this.#list();
        if (this.#stopped) break;
        const { normalEnd } = await this.#watchOnce();
        if (!normalEnd && !this.#stopped) {
          // Ended at once without a word: a dropped connection or a server going down.
          this.#failures++;
          this.#o.onRestart('closed');
          await this.#wait(this.#backoff());
        }
      } catch (err) {
        if (this.#stopped) break;
        if (err instanceof GoneError || statusOf(err) === 410) {
          // Our resourceVersion is too old: relist now, no backoff (this is how the API asks for it).
          this.#resourceVersion = '';
          this.#o.onRestart('gone');
          this.#o.logger.info('k8s watch expired (410 Gone), relisting', { resource: this.resource });
          continue;
        }
        this.#failures++;
        this.#o.onRestart('error');
        const delay = this.#backoff();
        this.#o.logger.warn('k8s list/watch failed, retrying', { resource: this.resource, error: errorText(err), retry_in_ms: Math.round(delay) });
        await this.#wait(delay);
      }
    }
  }

  #backoff(): number {
    const base = Math.min(this.#o.maxBackoffMs, this.#o.initialBackoffMs * 2 ** Math.min(30, this.#failures - 1));
    return base * (0.5 + (this.#o.random ?? Math.random)());
  }

  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.#sleep = undefined; resolve(); }, ms);
      this.#sleep = { timer, resolve };
    });
  }

  async #list(): Promise<void> {
    const h = this.#o.handler;
    h.beginSync();
    let cont: string | undefined;
    let rv = '';
    let first = true;
    do {
      const page = await this.#o.client.list(this.#o.pageSize, cont);
      if (this.#stopped) return;
      // The first page's resourceVersion is the snapshot the whole list belongs to.
      if (first) rv = page.resourceVersion;
      first = false;
      for (const item of page.items) h.upsert(item);
      cont = page.continueToken;
    } while (cont);
    h.endSync();
    this.#resourceVersion = rv;
    this.#failures = 0;
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) w();
    }
  }

  /** One watch stream; resolves when it ends normally, throws on error or 410. */
  #watchOnce(): Promise<{ normalEnd: boolean }> {
    const started = Date.now();
    const timeout = this.#o.watchTimeoutSeconds;
    return new Promise((resolve, reject) => {
      let gone = false;
      let events = 0;
      const onEvent = (type: string, obj: unknown) => {
        const o = obj as { code?: number; metadata?: { resourceVersion?: string } } | undefined;
        if (type === 'ERROR') {
          if (o?.code === 410) gone = true;
          else this.#o.logger.warn('k8s watch error event', { resource: this.resource, status: o });
          return;
        }
        events++;
        if (type === 'ADDED' || type === 'MODIFIED') this.#o.handler.upsert(obj);
        else if (type === 'DELETED') this.#o.handler.remove(obj);
        // BOOKMARK carries only the new resourceVersion.
        const rv = o?.metadata?.resourceVersion;
        if (rv) this.#resourceVersion = rv;
        this.#failures = 0;
      };
      const done = (err: unknown) => {
        this.#abort = undefined;
        if (this.#stopped) return resolve({ normalEnd: true });
        if (gone) return reject(new GoneError('watch: resourceVersion expired'));
        const name = (err as { name?: string } | null)?.name;
        if (err && name !== 'TimeoutError' && name !== 'AbortError') return reject(err);
        // A watch that ran its full timeout (or saw events) ended normally; one that ended
        // quickly without a word is a dropped connection or a restarting server.
        const normal = Date.now() - started >= timeout * 1000 - 1000 || events > 0 || name === 'TimeoutError';
        resolve({ normalEnd: normal });
      };
      this.#o.client.watch(this.#resourceVersion, timeout, onEvent, done).then(
        (ctrl) => { if (this.#stopped) ctrl.abort(); else this.#abort = ctrl; },
        reject,
      );
    });
  }
}

function statusOf(err: unknown): number | undefined {
  const e = err as { statusCode?: unknown; code?: unknown } | null;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  if (typeof e?.code === 'number') return e.code;
  return undefined;
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ? `${err.message} (${cause.code})` : err.message;
  }
  return String(err);
}
