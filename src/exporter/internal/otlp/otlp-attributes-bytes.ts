// OTLP attributes (repeated KeyValue fields) as protobuf bytes, byte for byte
// what the official @opentelemetry/otlp-transformer writer makes of them: keys
// in for-in order, each value an AnyValue of its type. A frozen attribute set
// is encoded once per field number and its bytes kept while it lives.

import type { Attributes } from '@opentelemetry/api';
import {
  fieldSize, I64, LEN, MAX_INT64, MIN_INT64, ProtoOut, utf8Length, VARINT, varint64Size,
} from './protobuf-out.ts';

const EMPTY = new Uint8Array(0);

/**
 * The AnyValue content of a string, a boolean or a number, whose size is known
 * without writing it; -1 for the other kinds (arrays, kvlists, bytes, and the
 * empty AnyValue of null and undefined), encoded through anyValueBytes.
 */
function scalarAnyValueSize(value: unknown): number {
  switch (typeof value) {
    case 'string': return fieldSize(utf8Length(value));
    case 'boolean': return 2;
    case 'number': return isInt64(value) ? 1 + varint64Size(value) : 9;
    default: return -1;
  }
}

function isInt64(v: number): boolean {
  return Number.isInteger(v) && v >= MIN_INT64 && v < MAX_INT64;
}

/** `stringBytes`: a string value's UTF-8 length, when the caller measured it already. */
function writeScalarAnyValue(out: ProtoOut, value: string | boolean | number, stringBytes?: number): void {
  if (typeof value === 'string') {
    out.tag(1, LEN);
    out.string(value, stringBytes);
  } else if (typeof value === 'boolean') {
    out.tag(2, VARINT);
    out.varint32(value ? 1 : 0);
  } else if (isInt64(value)) {
    out.tag(3, VARINT);
    out.varint64(value);
  } else {
    out.tag(4, I64);
    out.double(value);
  }
}

/** An AnyValue message's content (any kind; values of no OTLP type make an empty one). */
function anyValueBytes(value: unknown): Uint8Array {
  const out = new ProtoOut(16);
  if (scalarAnyValueSize(value) >= 0) writeScalarAnyValue(out, value as string | boolean | number);
  else if (value instanceof Uint8Array) {
    out.tag(7, LEN);
    out.lengthDelimited(value);
  } else if (Array.isArray(value)) {
    const list = new ProtoOut(64);
    for (const item of value as unknown[]) {
      list.tag(1, LEN);
      list.lengthDelimited(anyValueBytes(item));
    }
    out.tag(5, LEN);
    out.lengthDelimited(list.finish());
  } else if (typeof value === 'object' && value !== null) {
    out.tag(6, LEN);
    const kvs = new ProtoOut(256);
    writeKeyValues(kvs, value as Record<string, unknown>, 1);
    out.lengthDelimited(kvs.finish());
  }
  return out.finish();
}

/**
 * Writes every own enumerable key of `obj` as a KeyValue in field `field`, in
 * for-in order. Scalar values (nearly all attributes) are sized and written in
 * place: no buffer per key or value, only `out`'s.
 */
function writeKeyValues(out: ProtoOut, obj: Record<string, unknown>, field: number): void {
  for (const key in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
    const value = obj[key];
    // Each string measured once, for its length prefix and its write.
    const keyBytes = utf8Length(key);
    const stringBytes = typeof value === 'string' ? utf8Length(value) : -1;
    const scalar = stringBytes >= 0 ? fieldSize(stringBytes) : scalarAnyValueSize(value);
    const nested = scalar < 0 ? anyValueBytes(value) : undefined;
    const valueSize = scalar < 0 ? nested!.length : scalar;
    out.tag(field, LEN);
    out.varint32(fieldSize(keyBytes) + fieldSize(valueSize));
    out.tag(1, LEN);
    out.string(key, keyBytes);
    out.tag(2, LEN);
    out.varint32(valueSize);
    if (nested) out.raw(nested);
    else writeScalarAnyValue(out, value as string | boolean | number, stringBytes);
  }
}

/** Where attribute sets are written before their exact bytes are copied out (grows to the largest set). */
const scratch = new ProtoOut(1024);

/** Every own enumerable key of `obj` as a KeyValue in field `field`: a buffer of its own, of exactly their size. */
export function keyValuesBytes(obj: Record<string, unknown>, field: number): Uint8Array {
  scratch.pos = 0;
  writeKeyValues(scratch, obj, field);
  return scratch.buf.slice(0, scratch.pos);
}

/** The bytes of frozen attribute sets, per field number (a set can be a number point's and a histogram point's). */
const frozenAttributes = new Map<number, WeakMap<object, Uint8Array>>();

/** A point's attributes as repeated KeyValue fields `field`; kept while a frozen set lives. */
export function attributesBytes(attrs: Attributes | undefined, field: number): Uint8Array {
  if (!attrs) return EMPTY;
  if (!Object.isFrozen(attrs)) return keyValuesBytes(attrs, field);
  let cache = frozenAttributes.get(field);
  if (cache === undefined) frozenAttributes.set(field, (cache = new WeakMap()));
  let b = cache.get(attrs);
  if (b === undefined) cache.set(attrs, (b = keyValuesBytes(attrs, field)));
  return b;
}
