// Decides, for one interval's finished lookups, which query names may be
// reported (see query-names-config.ts for why names are bounded).

import type { QueryNamesConfig } from './query-names-config.ts';

const NONE: ReadonlySet<string> = new Set();

export class QueryNamePolicy {
  readonly #config: QueryNamesConfig;
  readonly #allow: readonly string[];

  constructor(config: QueryNamesConfig) {
    this.#config = config;
    this.#allow = config.allow.map((s) => s.toLowerCase());
  }

  /** False in mode off: no name is ever kept, so there is nothing to count. */
  get keepsNames(): boolean {
    return this.#config.mode !== 'off';
  }

  /**
   * The names to keep, given how often each was looked up in the interval.
   * top: the top_n most frequent; ties go to the name that sorts first, so the
   * same lookups always give the same names.
   */
  select(counts: ReadonlyMap<string, number>): ReadonlySet<string> {
    switch (this.#config.mode) {
      case 'off':
        return NONE;
      case 'allow': {
        const keep = new Set<string>();
        for (const name of counts.keys()) if (this.allows(name)) keep.add(name);
        return keep;
      }
      case 'top': {
        const n = this.#config.top_n;
        if (counts.size <= n) return new Set(counts.keys());
        const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        return new Set(ranked.slice(0, n).map(([name]) => name));
      }
    }
  }

  /**
   * Equal to a suffix or under it, label by label. Sound on parsed names because
   * the parser writes a dot inside a label as \046: every "." is a label boundary.
   */
  allows(name: string): boolean {
    for (const s of this.#allow) {
      if (name === s) return true;
      if (name.length > s.length && name.endsWith(s) && name.charCodeAt(name.length - s.length - 1) === 0x2e) return true;
    }
    return false;
  }
}
