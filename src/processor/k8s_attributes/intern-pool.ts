// Strings that many cached objects share (namespace, node, workload, label
// values) are stored once. Strings parsed from JSON are distinct copies even
// when equal, so without this a 100k-pod cache would hold 100k copies of
// "default". The pool is rebuilt from the live objects when it has grown well
// past them, so names of deleted objects do not accumulate.

export class InternPool {
  #map = new Map<string, string>();

  intern(s: string): string;
  intern(s: string | undefined): string | undefined;
  intern(s: string | undefined): string | undefined {
    if (s === undefined) return undefined;
    const have = this.#map.get(s);
    if (have !== undefined) return have;
    this.#map.set(s, s);
    return s;
  }

  get size(): number {
    return this.#map.size;
  }

  /** Sum of the pooled strings' lengths, for the cache-bytes estimate. */
  chars(): number {
    let n = 0;
    for (const s of this.#map.keys()) n += s.length;
    return n;
  }

  /** Starts over; the caller re-interns what is still live. */
  clear(): void {
    this.#map = new Map();
  }
}
