// Merging config sources the way the Collector's confmap does: maps merge key by
// key at every depth; any other value (scalar, list, null) in a later source
// replaces the earlier one. Keys written with "::" ("exporters::debug::verbosity")
// are nested first, so `--config=yaml:a::b: 1` overrides one setting.

export type ConfigMap = Record<string, unknown>;

export function isMap(v: unknown): v is ConfigMap {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function mergeConfigs(base: unknown, over: unknown): unknown {
  if (!isMap(base) || !isMap(over)) return over;
  const out: ConfigMap = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? mergeConfigs(out[k], v) : v;
  return out;
}

/** Turns "a::b: v" keys into nested maps, at every depth. */
export function unflattenKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unflattenKeys);
  if (!isMap(v)) return v;
  let out: ConfigMap = {};
  for (const [k, item] of Object.entries(v)) {
    let nested: unknown = unflattenKeys(item);
    for (const part of k.split('::').reverse()) nested = { [part]: nested };
    out = mergeConfigs(out, nested) as ConfigMap;
  }
  return out;
}
