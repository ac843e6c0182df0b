// Environment expansion on scalar values, as the Collector's resolver does it:
//   ${env:VAR}  ${VAR}  ${env:VAR:-default}  (default used only when VAR is unset)
//   $$ → a literal $; any other $ is kept as written.
// A value that is exactly one reference takes the YAML type of the expanded text
// (`port: ${env:PORT}` with PORT=4317 is the integer 4317), as in the Collector;
// a reference inside a longer string stays text. Keys are never expanded.

import { parse as parseYaml } from 'yaml';
import type { Problem } from './schema.ts';

const VAR_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):(.*)$/s;

type Lookup = (name: string) => string | undefined;

/** Expands every string value in a YAML tree; malformed references become problems. */
export function expandEnv(value: unknown, env: NodeJS.ProcessEnv, problems: Problem[], path: string[] = []): unknown {
  const lookup: Lookup = (name) => env[name];
  return walk(value, lookup, problems, path);
}

function walk(value: unknown, lookup: Lookup, problems: Problem[], path: string[]): unknown {
  if (typeof value === 'string') return expandString(value, lookup, problems, path);
  if (Array.isArray(value)) return value.map((v, i) => walk(v, lookup, problems, [...path, String(i)]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = walk(v, lookup, problems, [...path, k]);
    return out;
  }
  return value;
}

function expandString(s: string, lookup: Lookup, problems: Problem[], path: string[]): unknown {
  if (!s.includes('$')) return s;
  const whole = /^\$\{[^{}]*\}$/.test(s);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '$') { out += c; continue; }
    if (s[i + 1] === '$') { out += '$'; i++; continue; }
    if (s[i + 1] !== '{') { out += '$'; continue; }
    const end = s.indexOf('}', i + 2);
    const ref = end < 0 ? s.slice(i) : s.slice(i, end + 1);
    const body = end < 0 ? undefined : s.slice(i + 2, end);
    const text = body === undefined ? problemFor(problems, path, `invalid reference "${ref}": missing closing "}"`)
      : resolveRef(body, ref, lookup, problems, path);
    if (text === undefined) return s;
    out += text;
    i = end;
  }
  return whole ? typed(out) : out;
}

function problemFor(problems: Problem[], path: string[], message: string): undefined {
  problems.push({ path, message });
  return undefined;
}

function resolveRef(body: string, ref: string, lookup: Lookup, problems: Problem[], path: string[]): string | undefined {
  if (body.includes('${')) return problemFor(problems, path, `invalid reference "${ref}": nested references are not supported`);
  let spec = body;
  const m = SCHEME.exec(body);
  // "VAR:-default" has no scheme: a scheme is followed by something other than "-".
  if (m && !m[2]!.startsWith('-')) {
    if (m[1] !== 'env') return problemFor(problems, path, `scheme "${m[1]}" is not supported for uri "${body}" (supported: env)`);
    spec = m[2]!;
  }
  const sep = spec.indexOf(':-');
  const name = sep < 0 ? spec : spec.slice(0, sep);
  if (name === '') return problemFor(problems, path, `invalid reference "${ref}": the variable name is empty`);
  if (!VAR_NAME.test(name)) {
    return problemFor(problems, path, `environment variable "${name}" has invalid name: must match regex ${VAR_NAME.source}`);
  }
  const v = lookup(name);
  if (v !== undefined) return v;
  // Unset with no default expands to "", as in the Collector.
  return sep < 0 ? '' : spec.slice(sep + 2);
}

/**
 * The YAML value of an expanded whole-value reference. A number or boolean is
 * kept only when it prints back as the same text, so "007" or "1.10" in a string
 * setting (a token, a version) is not silently rewritten to 7 or 1.1, the problem
 * the Collector fixed by keeping the original text; maps and lists are kept;
 * anything else stays text.
 */
function typed(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return text;
  let v: unknown;
  try {
    v = parseYaml(text);
  } catch {
    return text;
  }
  if (typeof v === 'number') return String(v) === trimmed ? v : text;
  if (typeof v === 'boolean') return String(v) === trimmed.toLowerCase() ? v : text;
  return v !== null && typeof v === 'object' ? v : text;
}
