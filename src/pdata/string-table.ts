// An interning string table: each distinct string is stored once per batch and
// referenced by index from attribute columns.

export class StringTable {
  #values: string[] = [];
  #index = new Map<string, number>();

  intern(value: string): number {
    let i = this.#index.get(value);
    if (i === undefined) {
      i = this.#values.length;
      this.#values.push(value);
      this.#index.set(value, i);
    }
    return i;
  }

  get(index: number): string {
    const v = this.#values[index];
    if (v === undefined) throw new RangeError(`string table has no index ${index}`);
    return v;
  }

  get size(): number {
    return this.#values.length;
  }

  /** The table's strings in index order (the live array: do not mutate). */
  values(): string[] {
    return this.#values;
  }

  static from(values: readonly string[]): StringTable {
    const t = new StringTable();
    for (const v of values) t.intern(v);
    return t;
  }
}
