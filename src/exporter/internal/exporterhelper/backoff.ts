// Exponential backoff with jitter, as the Collector's retry_on_failure (which
// uses cenkalti/backoff): wait_n = min(initial · multiplier^n, max_interval),
// each picked at random in [wait·(1−f), wait·(1+f)].

import type { RetryConfig } from './retry-config.ts';

export class ExponentialBackoff {
  readonly #c: RetryConfig;
  readonly #random: () => number;
  #current: number;

  constructor(c: RetryConfig, random: () => number = Math.random) {
    this.#c = c;
    this.#random = random;
    this.#current = c.initial_interval;
  }

  /** The next wait in ms. */
  next(): number {
    const f = this.#c.randomization_factor;
    const base = this.#current;
    this.#current = Math.min(this.#current * this.#c.multiplier, this.#c.max_interval);
    const delta = f * base;
    return Math.round(base - delta + this.#random() * 2 * delta);
  }
}
