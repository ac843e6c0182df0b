// A filter match block compiled to column checks. Nothing is built per row:
// string predicates (strict or regexp) run once per distinct string of a batch
// and rows then look their column's string index up; ports, protocol, family,
// observer and addresses compare typed-array values directly.

import { FLAG_OBSERVER_DESTINATION, NO_STRING, type FlowBatch } from '../../pdata/flow-batch.ts';
import { isBuiltinKey, transportValue } from '../../pdata/flow-attribute-keys.ts';
import { writeAddress } from '../../pdata/ip-address.ts';
import { markInCidrs, parseCidr, type Cidr } from './cidr.ts';
import type { MatchProperties } from './config.ts';

/** Sets out[i] = 0 for each row that fails the condition (rows that passed so far stay 1). */
type Condition = (batch: FlowBatch, out: Uint8Array, scratch: Uint8Array) => void;

export class FlowMatcher {
  readonly #conditions: Condition[];
  /** The attribute columns the conditions read (built-in keys are columns of their own). */
  readonly attributesRead: ReadonlySet<string>;
  #scratch = new Uint8Array(0);

  constructor(m: MatchProperties) {
    const strict = m.match_type === 'strict';
    const test = (pattern: string): ((s: string) => boolean) => {
      if (strict) return (s) => s === pattern;
      const re = new RegExp(pattern);
      return (s) => re.test(s);
    };
    this.#conditions = [];
    const read = new Set<string>();
    this.attributesRead = read;
    for (const a of m.attributes) {
      this.#conditions.push(attributeCondition(a.key, a.value, strict, test));
      if (!isBuiltinKey(a.key)) read.add(a.key);
    }
    if (m.namespaces.length) {
      read.add('source.k8s.namespace.name').add('destination.k8s.namespace.name');
      const tests = m.namespaces.map(test);
      const any = (s: string) => tests.some((t) => t(s));
      this.#conditions.push(eitherString('source.k8s.namespace.name', 'destination.k8s.namespace.name', any));
    }
    if (m.source_cidrs.length) this.#conditions.push(cidrCondition('src', m.source_cidrs.map(parseCidr)));
    if (m.destination_cidrs.length) this.#conditions.push(cidrCondition('dst', m.destination_cidrs.map(parseCidr)));
  }

  /** out[i] = 1 where row i matches every condition of the block, else 0. */
  mark(batch: FlowBatch, out: Uint8Array): void {
    out.fill(1, 0, batch.length);
    if (this.#scratch.length < batch.length) this.#scratch = new Uint8Array(batch.length);
    for (const c of this.#conditions) c(batch, out, this.#scratch);
  }
}

/** The predicate's result for each string of the batch, computed once per distinct string. */
function stringMemo(batch: FlowBatch, pred: (s: string) => boolean): Uint8Array {
  const strings = batch.strings.values();
  const memo = new Uint8Array(strings.length);
  for (let i = 0; i < strings.length; i++) memo[i] = pred(strings[i]!) ? 1 : 0;
  return memo;
}

function stringCondition(key: string, pred: ((s: string) => boolean) | undefined): Condition {
  return (batch, out) => {
    const col = batch.attributes.get(key);
    const n = batch.length;
    if (!col) {
      out.fill(0, 0, n);
      return;
    }
    if (!pred) {
      for (let i = 0; i < n; i++) if (col[i] === NO_STRING) out[i] = 0;
      return;
    }
    const memo = stringMemo(batch, pred);
    for (let i = 0; i < n; i++) {
      const idx = col[i]!;
      if (idx === NO_STRING || memo[idx] === 0) out[i] = 0;
    }
  };
}

function eitherString(a: string, b: string, pred: (s: string) => boolean): Condition {
  return (batch, out) => {
    const ca = batch.attributes.get(a);
    const cb = batch.attributes.get(b);
    const memo = stringMemo(batch, pred);
    for (let i = 0; i < batch.length; i++) {
      const ia = ca ? ca[i]! : NO_STRING;
      const ib = cb ? cb[i]! : NO_STRING;
      const hit = (ia !== NO_STRING && memo[ia] === 1) || (ib !== NO_STRING && memo[ib] === 1);
      if (!hit) out[i] = 0;
    }
  };
}

function cidrCondition(which: 'src' | 'dst', cidrs: Cidr[]): Condition {
  return (batch, out, scratch) => {
    markInCidrs(which === 'src' ? batch.srcAddr : batch.dstAddr, batch.length, cidrs, scratch);
    for (let i = 0; i < batch.length; i++) out[i]! &= scratch[i]!;
  };
}

/** A numeric column tested per distinct value (ports: at most 65536 predicate calls, lazily). */
function numberCondition(read: (b: FlowBatch) => ArrayLike<number>, pred: (s: string) => boolean, text: (v: number) => string): Condition {
  const memo = new Int8Array(65536).fill(-1);
  return (batch, out) => {
    const col = read(batch);
    for (let i = 0; i < batch.length; i++) {
      const v = col[i]!;
      let m = memo[v]!;
      if (m < 0) memo[v] = m = pred(text(v)) ? 1 : 0;
      if (m === 0) out[i] = 0;
    }
  };
}

function attributeCondition(key: string, value: string | undefined, strict: boolean, test: (p: string) => (s: string) => boolean): Condition {
  if (!isBuiltinKey(key)) return stringCondition(key, value === undefined ? undefined : test(value));
  // A built-in always has a value, so a key-only condition matches every row.
  if (value === undefined) return () => undefined;
  const pred = test(value);
  switch (key) {
    case 'source.port': return numberCondition((b) => b.srcPort, pred, String);
    case 'destination.port': return numberCondition((b) => b.dstPort, pred, String);
    case 'network.transport':
      return numberCondition((b) => b.protocol, pred, transportValue);
    case 'network.type': return numberCondition((b) => b.family, pred, (f) => (f === 6 ? 'ipv6' : 'ipv4'));
    case 'flow.observer':
      return (batch, out) => {
        const dst = pred('destination') ? 1 : 0;
        const src = pred('source') ? 1 : 0;
        for (let i = 0; i < batch.length; i++) {
          const ok = batch.flags[i]! & FLAG_OBSERVER_DESTINATION ? dst : src;
          if (!ok) out[i] = 0;
        }
      };
    case 'source.address':
    case 'destination.address': {
      // Config validation allows only strict here: an exact address is a /32 or /128 range.
      if (!strict) throw new Error(`internal: regexp on ${key} passed validation`);
      const want = new Uint8Array(16);
      writeAddress(want, 0, value);
      return cidrCondition(key === 'source.address' ? 'src' : 'dst', [{ bytes: want, prefix: 128 }]);
    }
  }
}
