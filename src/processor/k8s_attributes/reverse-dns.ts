// Reverse DNS for addresses outside the cluster, never on the hot path: a
// lookup answers from a bounded LRU cache (answers for `ttl`, failures for
// `negative_ttl`) or schedules a PTR query and answers "unknown" for now; a
// later batch gets the name. At most max_in_flight queries run at once;
// misses beyond that are counted and retried on a later batch.

import { Resolver } from 'node:dns/promises';

export interface ReverseDnsOptions {
  servers: readonly string[];
  cacheSize: number;
  ttlMs: number;
  negativeTtlMs: number;
  timeoutMs: number;
  maxInFlight: number;
  now?: () => number;
  /** For tests and embedding: replaces the node:dns resolver. */
  reverse?: (ip: string) => Promise<string[]>;
}

interface Entry { name: string | null; expires: number }

export class ReverseDns {
  readonly #o: ReverseDnsOptions;
  readonly #cache = new Map<string, Entry>(); // insertion order = LRU order
  readonly #pending = new Set<string>();
  readonly #reverse: (ip: string) => Promise<string[]>;
  readonly #now: () => number;
  readonly #resolver: Resolver | undefined;
  skipped = 0;
  queries = 0;
  failures = 0;

  constructor(o: ReverseDnsOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    if (o.reverse) {
      this.#reverse = o.reverse;
    } else {
      const r = new Resolver({ timeout: o.timeoutMs, tries: 1 });
      if (o.servers.length) r.setServers([...o.servers]);
      this.#resolver = r;
      this.#reverse = (ip) => r.reverse(ip);
    }
  }

  get size(): number {
    return this.#cache.size;
  }

  /** The cached name (refreshing its LRU place), or undefined after scheduling a query. */
  lookup(ip: string): string | undefined {
    const e = this.#cache.get(ip);
    if (e && e.expires > this.#now()) {
      this.#cache.delete(ip);
      this.#cache.set(ip, e);
      return e.name ?? undefined;
    }
    this.#schedule(ip);
    return undefined;
  }

  #schedule(ip: string): void {
    if (this.#pending.has(ip)) return;
    if (this.#pending.size >= this.#o.maxInFlight) {
      this.skipped++;
      return;
    }
    this.#pending.add(ip);
    this.queries++;
    this.#reverse(ip).then(
      (names) => this.#store(ip, names[0] ?? null, names.length ? this.#o.ttlMs : this.#o.negativeTtlMs),
      () => {
        this.failures++;
        this.#store(ip, null, this.#o.negativeTtlMs);
      },
    ).finally(() => this.#pending.delete(ip));
  }

  #store(ip: string, name: string | null, ttl: number): void {
    this.#cache.delete(ip);
    this.#cache.set(ip, { name, expires: this.#now() + ttl });
    while (this.#cache.size > this.#o.cacheSize) this.#cache.delete(this.#cache.keys().next().value!);
  }

  /** Resolves when no query is running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#pending.size) await new Promise((r) => setTimeout(r, 5));
  }

  close(): void {
    this.#resolver?.cancel();
  }
}
