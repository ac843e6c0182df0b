// Zipf-distributed choice of a rank in [0, n): rank k is picked with weight
// 1 / (k + 1)^s. A few client→server pairs carry most of the traffic, as in a
// real cluster; s = 0 is uniform.

export class ZipfSampler {
  readonly #cdf: Float64Array;

  constructor(n: number, exponent: number) {
    this.#cdf = new Float64Array(Math.max(1, n));
    let sum = 0;
    for (let k = 0; k < this.#cdf.length; k++) {
      sum += 1 / Math.pow(k + 1, exponent);
      this.#cdf[k] = sum;
    }
    for (let k = 0; k < this.#cdf.length; k++) this.#cdf[k] = this.#cdf[k]! / sum;
  }

  get size(): number {
    return this.#cdf.length;
  }

  /** The rank for a uniform draw `u` in [0, 1) (binary search, no allocation). */
  rank(u: number): number {
    const cdf = this.#cdf;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
