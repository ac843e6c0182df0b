// Seeded randomness for the synthetic receiver. Everything the generator emits
// is derived from hashes of (seed, interval, flow index), never from a running
// stream, so any interval can be recomputed on its own: that is what lets tests
// and e2e checks regenerate exactly what the receiver sent.

/** Mixes up to four 32-bit integers into one well-spread 32-bit hash (murmur3 style). */
export function hash32(a: number, b = 0, c = 0, d = 0): number {
  let h = 0x9747b28c;
  h = mix(h, a);
  h = mix(h, b);
  h = mix(h, c);
  h = mix(h, d);
  h ^= 16;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mix(h: number, k: number): number {
  k = Math.imul(k | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** A seed that keeps the high bits of seeds past 2^32. */
export function seedHash(seed: number): number {
  return hash32(seed >>> 0, Math.floor(seed / 0x1_0000_0000) >>> 0);
}

/**
 * A small PRNG (mulberry32) that is re-seeded per flow rather than allocated
 * per flow, so the hot path creates no objects.
 */
export class Rng {
  #s = 0;

  constructor(seed = 0) {
    this.#s = seed | 0;
  }

  reseed(seed: number): this {
    this.#s = seed | 0;
    return this;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Log-normal with the given median and shape (sigma of the underlying normal). */
  logNormal(median: number, sigma: number): number {
    // Box–Muller; 1 - next() keeps the log argument in (0, 1].
    const z = Math.sqrt(-2 * Math.log(1 - this.next())) * Math.cos(2 * Math.PI * this.next());
    return median * Math.exp(sigma * z);
  }
}
