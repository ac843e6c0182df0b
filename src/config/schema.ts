// A small typed schema language for component configs.
//
// Each component declares its config as a schema built from these helpers; the
// TypeScript type of the decoded config is inferred from it (`Infer<typeof s>`),
// so defaults, validation and types cannot drift apart. decode() fills defaults,
// converts durations and reports every problem with its full YAML path in the
// Collector's style (`exporters::otlp_grpc::timeout: ...`).

export interface Problem {
  /** Path segments from the config root, joined with "::" when printed. */
  path: string[];
  message: string;
}

export function formatPath(path: readonly string[]): string {
  return path.join('::');
}

export function formatProblem(p: Problem): string {
  return p.path.length ? `${formatPath(p.path)}: ${p.message}` : p.message;
}

interface Base<T> {
  readonly kind: string;
  readonly description: string;
  /** Produces the default; absent means the key is required only if `required`. */
  readonly defaultValue: (() => T) | undefined;
  readonly required: boolean;
  decode(value: unknown, path: string[], problems: Problem[]): T | undefined;
}

export type Schema<T = unknown> = Base<T>;
export type Infer<S> = S extends Base<infer T> ? T : never;

interface Opts<T> {
  default?: T;
  required?: boolean;
  description?: string;
  /** Extra check on a well-typed value; returns a message or undefined. */
  check?: (v: T) => string | undefined;
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `"${v}"`;
  return `${typeof v} ${String(v)}`;
}

function make<T>(
  kind: string,
  opts: Opts<T>,
  decodeTyped: (v: unknown, path: string[], problems: Problem[]) => T | undefined,
): Base<T> {
  const dflt = opts.default;
  return {
    kind,
    description: opts.description ?? '',
    defaultValue: dflt === undefined ? undefined : () => structuredClone(dflt),
    required: opts.required ?? false,
    decode(value, path, problems) {
      const v = decodeTyped(value, path, problems);
      if (v === undefined) return undefined;
      const msg = opts.check?.(v);
      if (msg) {
        problems.push({ path, message: msg });
        return undefined;
      }
      return v;
    },
  };
}

function typeError(path: string[], problems: Problem[], want: string, got: unknown): undefined {
  problems.push({ path, message: `expected ${want}, got ${describeValue(got)}` });
  return undefined;
}

export function string(opts: Opts<string> & { enum?: readonly string[]; pattern?: RegExp } = {}): Base<string> {
  return make('string', opts, (v, path, problems) => {
    // YAML turns unquoted scalars into numbers/booleans; the Collector accepts them as strings.
    if (typeof v === 'number' || typeof v === 'boolean') v = String(v);
    if (typeof v !== 'string') return typeError(path, problems, 'a string', v);
    if (opts.enum && !opts.enum.includes(v)) {
      problems.push({ path, message: `invalid value "${v}" (valid values: [${opts.enum.join(', ')}])` });
      return undefined;
    }
    if (opts.pattern && !opts.pattern.test(v)) {
      problems.push({ path, message: `invalid value "${v}": must match ${opts.pattern}` });
      return undefined;
    }
    return v;
  });
}

export function enumOf<const E extends string>(values: readonly E[], opts: Opts<E> = {}): Base<E> {
  return string({ ...(opts as unknown as Opts<string>), enum: values }) as unknown as Base<E>;
}

export function int(opts: Opts<number> & { min?: number; max?: number } = {}): Base<number> {
  return make('int', opts, (v, path, problems) => {
    if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) v = Number(v);
    if (typeof v !== 'number' || !Number.isInteger(v)) return typeError(path, problems, 'an integer', v);
    return checkRange(v, opts, path, problems);
  });
}

export function number(opts: Opts<number> & { min?: number; max?: number } = {}): Base<number> {
  return make('number', opts, (v, path, problems) => {
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) v = Number(v);
    if (typeof v !== 'number' || !Number.isFinite(v)) return typeError(path, problems, 'a number', v);
    return checkRange(v, opts, path, problems);
  });
}

function checkRange(v: number, o: { min?: number; max?: number }, path: string[], problems: Problem[]) {
  if (o.min !== undefined && v < o.min) {
    problems.push({ path, message: `value ${v} is below the minimum ${o.min}` });
    return undefined;
  }
  if (o.max !== undefined && v > o.max) {
    problems.push({ path, message: `value ${v} is above the maximum ${o.max}` });
    return undefined;
  }
  return v;
}

export function bool(opts: Opts<boolean> = {}): Base<boolean> {
  return make('bool', opts, (v, path, problems) => {
    if (v === 'true') v = true;
    if (v === 'false') v = false;
    if (typeof v !== 'boolean') return typeError(path, problems, 'a boolean (true or false)', v);
    return v;
  });
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go-style duration ("1m30s", "500ms") into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    consumed = re.lastIndex;
  }
  return consumed === s.length && consumed > 0 ? total : undefined;
}

/** A duration, written as in the Collector ("5s", "1m30s"); decoded to milliseconds. */
export function duration(opts: Opts<number> & { min?: number } = {}): Base<number> {
  return make('duration', opts, (v, path, problems) => {
    if (typeof v === 'number' && v === 0) return 0;
    const ms = typeof v === 'string' ? parseDuration(v) : undefined;
    if (ms === undefined) return typeError(path, problems, 'a duration such as "5s" or "250ms"', v);
    if (opts.min !== undefined && ms < opts.min) {
      problems.push({ path, message: `duration ${String(v)} is below the minimum ${opts.min}ms` });
      return undefined;
    }
    return ms;
  });
}

export function list<T>(items: Base<T>, opts: Opts<T[]> = {}): Base<T[]> {
  return make('list', opts, (v, path, problems) => {
    if (v === null) return [];
    if (!Array.isArray(v)) return typeError(path, problems, 'a list', v);
    const out: T[] = [];
    let ok = true;
    v.forEach((item, i) => {
      const d = items.decode(item, [...path, String(i)], problems);
      if (d === undefined) ok = false;
      else out.push(d);
    });
    return ok ? out : undefined;
  });
}

export function map<T>(values: Base<T>, opts: Opts<Record<string, T>> = {}): Base<Record<string, T>> {
  return make('map', opts, (v, path, problems) => {
    if (v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) return typeError(path, problems, 'a map', v);
    const out: Record<string, T> = {};
    let ok = true;
    for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
      const d = values.decode(item, [...path, k], problems);
      if (d === undefined) ok = false;
      else out[k] = d;
    }
    return ok ? out : undefined;
  });
}

type Fields = Record<string, Base<unknown>>;
export type ObjectOf<F extends Fields> = { [K in keyof F]: Infer<F[K]> };

export interface ObjectSchema<T> extends Base<T> {
  readonly fields: Fields;
  /** Decodes a missing or null value as all defaults. */
  decodeOrDefault(value: unknown, path: string[], problems: Problem[]): T | undefined;
}

/**
 * A map with known keys. Unknown keys are reported all at once, as the Collector
 * does ("has invalid keys: a, b"); a missing key takes its default.
 */
export function object<F extends Fields>(fields: F, opts: Opts<ObjectOf<F>> = {}): ObjectSchema<ObjectOf<F>> {
  const decodeFields = (v: unknown, path: string[], problems: Problem[]): ObjectOf<F> | undefined => {
    if (v === null || v === undefined) v = {};
    if (typeof v !== 'object' || Array.isArray(v)) return typeError(path, problems, 'a map', v);
    const input = v as Record<string, unknown>;
    const unknown = Object.keys(input).filter((k) => !(k in fields));
    const before = problems.length;
    if (unknown.length) {
      problems.push({ path, message: `has invalid keys: ${unknown.join(', ')} (valid keys: ${Object.keys(fields).join(', ')})` });
    }
    const out: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(fields)) {
      const has = k in input && input[k] !== undefined;
      if (!has) {
        if (s.required) problems.push({ path: [...path, k], message: 'is required' });
        else if (s.defaultValue) out[k] = s.defaultValue();
        continue;
      }
      const d = s.decode(input[k], [...path, k], problems);
      if (d !== undefined) out[k] = d;
    }
    return problems.length === before ? (out as ObjectOf<F>) : undefined;
  };
  const defaults = (): ObjectOf<F> => {
    const out: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(fields)) if (s.defaultValue) out[k] = s.defaultValue();
    return out as ObjectOf<F>;
  };
  const base = make<ObjectOf<F>>('object', { ...opts, default: opts.default ?? defaults() }, decodeFields);
  return {
    ...base,
    fields,
    decodeOrDefault(value, path, problems) {
      return base.decode(value ?? {}, path, problems);
    },
  };
}

/** The defaults of an object schema, as a fresh object. */
export function defaultsOf<T>(s: ObjectSchema<T>): T {
  return s.defaultValue!();
}

/** A key with no default: absent stays undefined. */
export function optional<T>(s: Base<T>): Base<T | undefined> {
  return { ...s, defaultValue: undefined, required: false } as Base<T | undefined>;
}
