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

/** Resolves a batch's string indexes to ids of a table that outlives the batch. */
export type StringIdOf = (localIndex: number) => number;

/**
 * Writes the key of every row of `batch` into `out` (row-major, spec.words per
 * row), column by column: each column is read in one tight loop.
 */
export function writeKeys(spec: KeySpec, batch: FlowBatch, out: Int32Array, idOf: StringIdOf): void {
  const n = batch.length;
  const W = spec.words;
  for (const p of spec.parts) {
    const o = p.offset;
    switch (p.kind) {
      case 'source.address':
      case 'destination.address': {
        const a = p.kind === 'source.address' ? batch.srcAddr : batch.dstAddr;
        const w = new Int32Array(a.buffer, a.byteOffset, a.length >> 2);
        for (let i = 0, k = o; i < n; i++, k += W) {
          const s = i << 2;
          out[k] = w[s]!; out[k + 1] = w[s + 1]!; out[k + 2] = w[s + 2]!; out[k + 3] = w[s + 3]!;
        }
        break;
      }
      case 'source.port':
      case 'destination.port': {
        // The client's (ephemeral) port is never part of a key: it is 0 for the end
        // that opened the connection — the source when FLAG_SOURCE_IS_CLIENT is
        // set, else the destination (the reply edge) — so one connection's two
        // edges group by the server port only and groups stay bounded.
        const src = p.kind === 'source.port';
        const ports = src ? batch.srcPort : batch.dstPort;
        const f = batch.flags;
        for (let i = 0, k = o; i < n; i++, k += W) {
          const sourceIsClient = (f[i]! & FLAG_SOURCE_IS_CLIENT) !== 0;
          out[k] = sourceIsClient === src ? 0 : ports[i]!;
        }
        break;
      }
      case 'network.transport': copyColumn(batch.protocol, out, n, o, W); break;
      case 'network.type': copyColumn(batch.family, out, n, o, W); break;
      case 'flow.observer': {
        const f = batch.flags;
        for (let i = 0, k = o; i < n; i++, k += W) out[k] = f[i]! & FLAG_OBSERVER_DESTINATION;
        break;
      }
      case 'attribute': {
        const col = batch.attributes.get(p.name);
        if (!col) {
          for (let i = 0, k = o; i < n; i++, k += W) out[k] = -1;
          break;
        }
        for (let i = 0, k = o; i < n; i++, k += W) {
          const idx = col[i]!;
          out[k] = idx === NO_STRING ? -1 : idOf(idx);
        }
        break;
      }
    }
  }
}

function copyColumn(src: Uint8Array | Uint16Array, out: Int32Array, n: number, o: number, W: number): void {
  for (let i = 0, k = o; i < n; i++, k += W) out[k] = src[i]!;
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
  for (let j = 0; j < words; j++) {
    h = Math.imul(h ^ keys[at + j]!, 0x9e3779b1);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ (h >>> 13), 0x85ebca6b);
  return (h ^ (h >>> 16)) >>> 0;
}
