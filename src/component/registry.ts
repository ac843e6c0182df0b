// Looks factories up by kind and type (or deprecated alias).

import type { ComponentKind, Factory } from './component.ts';

export class Registry {
  readonly #byKind = new Map<ComponentKind, Map<string, Factory>>();
  readonly #all: Factory[] = [];

  constructor(factories: readonly Factory[]) {
    for (const f of factories) this.add(f);
  }

  add(f: Factory): void {
    let m = this.#byKind.get(f.kind);
    if (!m) this.#byKind.set(f.kind, (m = new Map()));
    for (const name of [f.type, ...(f.aliases ?? [])]) {
      if (m.has(name)) throw new Error(`duplicate ${f.kind} type "${name}"`);
      m.set(name, f);
    }
    this.#all.push(f);
  }

  /** The factory for a type or alias, or undefined. */
  get(kind: ComponentKind, type: string): Factory | undefined {
    return this.#byKind.get(kind)?.get(type);
  }

  /** The current (non-alias) type names of a kind, sorted, for "valid values" messages. */
  types(kind: ComponentKind): string[] {
    return this.#all.filter((f) => f.kind === kind).map((f) => f.type).sort();
  }

  factories(): readonly Factory[] {
    return this.#all;
  }
}
