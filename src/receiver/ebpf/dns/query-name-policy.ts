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
   * The names to keep, given how often each was looked up in the interval
   * (in the order first seen). top: the top_n most frequent; of names tied at
   * the cut, those seen first, so the same lookups always give the same names.
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
        // The cut is found from a histogram of the counts, in time linear in the
        // names: a random-subdomain flood makes every name distinct, and
        // sorting a million names per interval would cost seconds.
        const hist = new Map<number, number>();
        for (const c of counts.values()) hist.set(c, (hist.get(c) ?? 0) + 1);
        const distinct = [...hist.keys()].sort((a, b) => b - a); // at most ~√(2·lookups) values
        let above = 0;
        let cut = 0;
        for (const c of distinct) {
          const h = hist.get(c)!;
          if (above + h >= n) {
            cut = c;
            break;
          }
          above += h;
        }
        const keep = new Set<string>();
        let tied = n - above;
        for (const [name, c] of counts) {
          if (c > cut) keep.add(name);
          else if (c === cut && tied > 0) {
            keep.add(name);
            tied--;
          }
        }
        return keep;
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
