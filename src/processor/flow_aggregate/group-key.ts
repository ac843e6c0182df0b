// A group key as a fixed number of 32-bit words per row, so groups can be found
// in an open-addressing table without building a string or object per flow.
//
// Each group_by name is resolved once to a part: a built-in read from a fixed
// column (addresses take 4 words, everything else 1), or a string attribute
// column whose word is a table-wide string id (-1 when the row has no value).

import { FLAG_OBSERVER_DESTINATION, FLAG_SOURCE_IS_CLIENT, NO_STRING, type FlowBatch } from '../../pdata/flow-batch.ts';
import { isBuiltinKey, type BuiltinKey } from '../../pdata/flow-attribute-keys.ts';

export type KeyPart =
  | { kind: BuiltinKey; name: BuiltinKey; offset: number }
  | { kind: 'attribute'; name: string; offset: number };

export interface KeySpec {
  parts: KeyPart[];
  /** Words per key. */
  words: number;
  /** The string attribute columns the key reads (what a worker needs of a batch). */
  attributeNames: string[];
}

export function compileKeySpec(groupBy: readonly string[]): KeySpec {
  const parts: KeyPart[] = [];
  let offset = 0;
  for (const name of groupBy) {
    if (isBuiltinKey(name)) {
      parts.push({ kind: name, name, offset });
      offset += name === 'source.address' || name === 'destination.address' ? 4 : 1;
    } else {
      parts.push({ kind: 'attribute', name, offset });
      offset += 1;
    }
  }
  return { parts, words: offset, attributeNames: parts.filter((p) => p.kind === 'attribute').map((p) => p.name) };
}

/**
 * The columns a group key is read from. A FlowBatch is one; so are the rows a
 * worker receives (worker-rows.ts), which carry only the columns their key
 * needs (see `keyColumnsOf`).
 */
export interface KeyColumns {
  length: number;
  family?: Uint8Array;
  protocol?: Uint8Array;
  flags?: Uint8Array;
  srcAddr?: Uint8Array;
  dstAddr?: Uint8Array;
  srcPort?: Uint16Array;
  dstPort?: Uint16Array;
  attributes: ReadonlyMap<string, Int32Array>;
}

export type KeyColumnName = 'family' | 'protocol' | 'flags' | 'srcAddr' | 'dstAddr' | 'srcPort' | 'dstPort';

/** The fixed columns `spec` reads (attribute columns are `spec.attributeNames`). */
export function keyColumnsOf(spec: KeySpec): KeyColumnName[] {
  const cols = new Set<KeyColumnName>();
  for (const p of spec.parts) {
    switch (p.kind) {
      case 'source.address': cols.add('srcAddr'); break;
      case 'destination.address': cols.add('dstAddr'); break;
      case 'source.port': cols.add('srcPort').add('flags'); break;
      case 'destination.port': cols.add('dstPort').add('flags'); break;
      case 'network.transport': cols.add('protocol'); break;
      case 'network.type': cols.add('family'); break;
      case 'flow.observer': cols.add('flags'); break;
      case 'attribute': break;
    }
  }
  return [...cols];
}

/**
 * Writes the key of rows [from, to) of `batch` into `out` (row-major,
 * spec.words per row, row `from` at 0), column by column: each column is read
 * in one tight loop. With `select`, the rows are select[from..to) instead (a
 * worker folding its partition's rows where they lie in a shared chunk); each
 * key function then runs a loop of its own with that extra load, so the plain
 * loops stay as they were. Callers pass a few thousand rows at a time, so the keys
 * written stay in the CPU cache while the next column is added to them.
 *
 * String attributes become `ids[localIndex + 1]`, a table-wide id (≥ 0) that
 * the caller resolved for every string of the batch beforehand (a Map lookup
 * per string and batch, not per row), with ids[0] = -1 for rows without the
 * attribute (NO_STRING + 1): one load per row, with no branch and no call in
 * the loop (an attribute set on some rows only would mispredict a branch, and a
 * call would make V8 reload the arrays on every row).
 */
export function writeKeys(
  spec: KeySpec, batch: KeyColumns, out: Int32Array, ids: Int32Array, from = 0, to = batch.length, select?: Int32Array,
): void {
  const W = spec.words;
  // One small function per kind of column, each a single loop: V8 optimises
  // them as wholes (a loop nested in the loop over parts would be entered by
  // on-stack replacement and deoptimised on every exit).
  for (const p of spec.parts) {
    const o = p.offset;
    switch (p.kind) {
      case 'source.address': keyAddress(batch.srcAddr!, out, from, to, o, W, select); break;
      case 'destination.address': keyAddress(batch.dstAddr!, out, from, to, o, W, select); break;
      // The client's (ephemeral) port is never part of a key: it is 0 for the end
      // that opened the connection — the source when FLAG_SOURCE_IS_CLIENT is
      // set, else the destination (the reply edge) — so one connection's two
      // edges group by the server port only and groups stay bounded.
      case 'source.port': keyPort(batch.srcPort!, batch.flags!, FLAG_SOURCE_IS_CLIENT, out, from, to, o, W, select); break;
      case 'destination.port': keyPort(batch.dstPort!, batch.flags!, 0, out, from, to, o, W, select); break;
      case 'network.transport': keyByte(batch.protocol!, 0xff, out, from, to, o, W, select); break;
      case 'network.type': keyByte(batch.family!, 0xff, out, from, to, o, W, select); break;
      case 'flow.observer': keyByte(batch.flags!, FLAG_OBSERVER_DESTINATION, out, from, to, o, W, select); break;
      case 'attribute': {
        const col = batch.attributes.get(p.name);
        if (col) keyString(col, ids, out, from, to, o, W, select);
        else for (let i = from, k = o; i < to; i++, k += W) out[k] = -1;
        break;
      }
    }
  }
}

function keyAddress(a: Uint8Array, out: Int32Array, from: number, to: number, o: number, W: number, select?: Int32Array): void {
  const w = new Int32Array(a.buffer, a.byteOffset, a.length >> 2);
  if (select) {
    for (let i = from, k = o; i < to; i++, k += W) {
      const s = select[i]! << 2;
      out[k] = w[s]!; out[k + 1] = w[s + 1]!; out[k + 2] = w[s + 2]!; out[k + 3] = w[s + 3]!;
    }
    return;
  }
  for (let i = from, k = o; i < to; i++, k += W) {
    const s = i << 2;
    out[k] = w[s]!; out[k + 1] = w[s + 1]!; out[k + 2] = w[s + 2]!; out[k + 3] = w[s + 3]!;
  }
}

/** The port, or 0 where this end is the client: (flags & FLAG_SOURCE_IS_CLIENT) === clientWhen. */
function keyPort(
  ports: Uint16Array, flags: Uint8Array, clientWhen: number, out: Int32Array, from: number, to: number, o: number, W: number, select?: Int32Array,
): void {
  if (select) {
    for (let i = from, k = o; i < to; i++, k += W) {
      const r = select[i]!;
      out[k] = (flags[r]! & FLAG_SOURCE_IS_CLIENT) === clientWhen ? 0 : ports[r]!;
    }
    return;
  }
  for (let i = from, k = o; i < to; i++, k += W) out[k] = (flags[i]! & FLAG_SOURCE_IS_CLIENT) === clientWhen ? 0 : ports[i]!;
}

function keyByte(col: Uint8Array, mask: number, out: Int32Array, from: number, to: number, o: number, W: number, select?: Int32Array): void {
  if (select) {
    for (let i = from, k = o; i < to; i++, k += W) out[k] = col[select[i]!]! & mask;
    return;
  }
  for (let i = from, k = o; i < to; i++, k += W) out[k] = col[i]! & mask;
}

function keyString(col: Int32Array, ids: Int32Array, out: Int32Array, from: number, to: number, o: number, W: number, select?: Int32Array): void {
  if (select) {
    for (let i = from, k = o; i < to; i++, k += W) out[k] = ids[col[select[i]!]! + 1]!;
    return;
  }
  for (let i = from, k = o; i < to; i++, k += W) out[k] = ids[col[i]! + 1]!;
}

/**
 * Writes group `g`'s key (words at keys[g × W]) back into row `row` of `out`.
 * String ids are the indexes of `out`'s string table (the caller makes them so).
 */
export function writeRowFromKey(spec: KeySpec, keys: Int32Array, g: number, out: FlowBatch, row: number): void {
  const base = g * spec.words;
  for (const p of spec.parts) {
    const k = base + p.offset;
    switch (p.kind) {
      case 'source.address':
      case 'destination.address': {
        const a = p.kind === 'source.address' ? out.srcAddr : out.dstAddr;
        const w = new Int32Array(a.buffer, a.byteOffset, a.length >> 2);
        w.set(keys.subarray(k, k + 4), row << 2);
        break;
      }
      case 'source.port': out.srcPort[row] = keys[k]!; break;
      case 'destination.port': out.dstPort[row] = keys[k]!; break;
      case 'network.transport': out.protocol[row] = keys[k]!; break;
      case 'network.type': out.family[row] = keys[k]!; break;
      case 'flow.observer': out.flags[row] |= keys[k]!; break;
      case 'attribute': out.attributeColumn(p.name)[row] = keys[k]! < 0 ? NO_STRING : keys[k]!; break;
    }
  }
}

/** A 32-bit hash of `words` words at `at` (multiply-xorshift; good spread for table and partition). */
export function hashWords(keys: Int32Array, at: number, words: number, seed: number): number {
  let h = seed | 0;
  for (let j = 0; j < words; j++) h = mix(h, keys[at + j]!);
  return finish(h) >>> 0;
}

function mix(h: number, word: number): number {
  h = Math.imul(h ^ word, 0x9e3779b1);
  return h ^ (h >>> 15);
}

function finish(h: number): number {
  h = Math.imul(h ^ (h >>> 13), 0x85ebca6b);
  return h ^ (h >>> 16);
}
