// Reading fields of API objects defensively. Objects arrive either as parsed
// JSON (watch events) or as the client's model classes (list pages); both use
// the same camelCase property names. A field that is present but malformed is
// reported with its path, so a bad object is rejected loudly, not half-cached.

export type Obj = Record<string, unknown>;

export interface Meta {
  name: string;
  namespace: string;
  uid: string;
  labels: Record<string, unknown> | undefined;
  annotations: Record<string, unknown> | undefined;
  ownerReferences: unknown;
}

export class ObjectProblem extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

export function asObj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

/** metadata with name (and uid when `needUid`) required. */
export function readMeta(o: unknown, needUid: boolean): Meta {
  const m = asObj(asObj(o)?.metadata);
  if (!m) throw new ObjectProblem('metadata', 'missing');
  const name = m.name;
  if (typeof name !== 'string' || name === '') throw new ObjectProblem('metadata.name', 'missing or not a string');
  const uid = m.uid;
  if (needUid && (typeof uid !== 'string' || uid === '')) throw new ObjectProblem('metadata.uid', 'missing or not a string');
  const ns = m.namespace;
  if (ns !== undefined && typeof ns !== 'string') throw new ObjectProblem('metadata.namespace', 'not a string');
  return {
    name,
    namespace: (ns as string | undefined) ?? '',
    uid: (uid as string | undefined) ?? '',
    labels: asObj(m.labels),
    annotations: asObj(m.annotations),
    ownerReferences: m.ownerReferences,
  };
}

export function optString(o: Obj | undefined, key: string, path: string): string | undefined {
  const v = o?.[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ObjectProblem(path, `expected a string, got ${typeof v}`);
  return v;
}

export function optArray(o: Obj | undefined, key: string, path: string): unknown[] {
  const v = o?.[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ObjectProblem(path, 'expected a list');
  return v;
}
