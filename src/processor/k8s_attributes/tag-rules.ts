// extract.labels / extract.annotations: which label and annotation values become
// attributes, and under which name. Compiled once from the config; applied when
// an object enters the cache so only the selected values are kept.

import type { K8sAttributesConfig } from './config.ts';
import type { InternPool } from './intern-pool.ts';

export type TagSource = 'pod' | 'namespace' | 'node';

export interface TagRule {
  from: TagSource;
  field: 'labels' | 'annotations';
  key: string | undefined;
  regex: RegExp | undefined;
  /** Attribute name; may hold $0..$9 for key_regex groups. */
  tagName: string;
}

export function compileTagRules(c: K8sAttributesConfig['extract']): TagRule[] {
  const rules: TagRule[] = [];
  for (const field of ['labels', 'annotations'] as const) {
    for (const r of c[field]) {
      rules.push({
        from: r.from,
        field,
        key: r.key,
        // Anchored: the Collector matches key_regex against the whole key.
        regex: r.key_regex !== undefined ? new RegExp(`^(?:${r.key_regex})$`) : undefined,
        tagName: r.tag_name ?? `k8s.${r.from}.${field}.${r.key ?? '$0'}`,
      });
    }
  }
  return rules;
}

/**
 * The selected tags of one object as a flat [name, value, name, value, ...]
 * list (interned), or undefined when none apply: most pods carry none, and
 * undefined costs nothing.
 */
export function extractTags(
  rules: readonly TagRule[], from: TagSource, meta: { labels?: unknown; annotations?: unknown } | undefined, pool: InternPool,
): string[] | undefined {
  let out: string[] | undefined;
  for (const r of rules) {
    if (r.from !== from) continue;
    const src = meta?.[r.field];
    if (!src || typeof src !== 'object') continue;
    const m = src as Record<string, unknown>;
    if (r.key !== undefined) {
      const v = m[r.key];
      if (typeof v === 'string') (out ??= []).push(pool.intern(r.tagName), pool.intern(v));
      continue;
    }
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== 'string') continue;
      const g = r.regex!.exec(k);
      if (!g) continue;
      const name = r.tagName.replace(/\$(\d)/g, (_, d: string) => g[Number(d)] ?? '');
      (out ??= []).push(pool.intern(name), pool.intern(v));
    }
  }
  return out?.slice(); // exact length, not push's spare capacity
}
