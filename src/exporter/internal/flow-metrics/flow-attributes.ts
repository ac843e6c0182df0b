// The attribute set of one FlowBatch row, and a cheap key that identifies it.
//
// The accumulator looks every row up by key, so the key is built from the raw
// column values (ports, protocol and addresses as UTF-16 code units, attribute
// strings as they are) with no object per row; the attribute object is built
// only when a key is seen for the first time. The source port is deliberately
// left out: ephemeral client ports would give one series per connection.
//
// A batch reduced by flow_aggregate (batch.aggregation) means only its groupBy
// names: built-ins it did not group by are zero and are not attributes, and the
// key starts with a short id of the groupBy list so equal zero columns of
// different groupings never collide (the list itself, hundreds of characters,
// would be hashed and compared on every lookup).

import type { Attributes } from '@opentelemetry/api';
import {
  FLAG_HAS_ORIGINAL_DST, FLAG_OBSERVER_DESTINATION, NO_STRING, type FlowBatch,
} from '../../../pdata/flow-batch.ts';
import { builtinValue, isBuiltinKey, transportValue, type BuiltinKey } from '../../../pdata/flow-attribute-keys.ts';
import { formatAddress } from '../../../pdata/ip-address.ts';
import { serverPortIsDestination } from '../../../pdata/server-port.ts';

export const OVERFLOW_ATTRIBUTES: Attributes = Object.freeze({ 'otel.metric.overflow': true });

/** Reads keys and attributes of the rows of one batch at a time (bind() first). */
export class FlowAttributeReader {
  #batch: FlowBatch | undefined;
  #names: string[] = [];
  #prefixes: string[] = [];
  #columns: Int32Array[] = [];
  /** Aggregated batches: the built-ins grouped by, and the key prefix naming the grouping. */
  #builtins: BuiltinKey[] | undefined;
  #keyPrefix = '';
  #withSourcePort = false;
  /** Attribute names get a one-code-unit id for keys, stable over this reader's life (few distinct names). */
  readonly #nameIds = new Map<string, string>();
  /**
   * groupBy lists (sorted, joined) → key prefix, stable over this reader's
   * life. The id is text after \u0002: a raw row's key starts with its
   * protocol and family (4 or 6) codes, so the two never match.
   */
  readonly #groupingIds = new Map<string, string>();

  bind(batch: FlowBatch): void {
    this.#batch = batch;
    const groupBy = batch.aggregation?.groupBy;
    this.#builtins = groupBy?.filter(isBuiltinKey);
    this.#withSourcePort = groupBy?.includes('source.port') ?? false;
    this.#keyPrefix = groupBy ? this.#groupingId(groupBy) : '';
    // Sorted so the same attribute set gives the same key whatever column order a batch has.
    this.#names = [...batch.attributes.keys()].sort();
    this.#prefixes = this.#names.map((n) => {
      let id = this.#nameIds.get(n);
      if (id === undefined) this.#nameIds.set(n, (id = String.fromCharCode(0, this.#nameIds.size + 1)));
      return id;
    });
    this.#columns = this.#names.map((n) => batch.attributes.get(n)!);
  }

  #groupingId(groupBy: readonly string[]): string {
    const list = [...groupBy].sort().join('\u0003');
    let id = this.#groupingIds.get(list);
    if (id === undefined) this.#groupingIds.set(list, (id = `\u0002g${this.#groupingIds.size}\u0002`));
    return id;
  }

  key(row: number): string {
    const b = this.#batch!;
    const flags = b.flags[row]!;
    const orig = flags & FLAG_HAS_ORIGINAL_DST;
    // Byte-sized code units keep the key a one-byte string (cheaper to hash and compare);
    // IPv4 rows use only the last 4 of the 16 address bytes (the family is in the key).
    const v4 = b.family[row] === 4;
    // Raw rows carry the server's port only (see server-port.ts); reduced rows were
    // keyed by flow_aggregate already and keep their destination port as grouped.
    const serverIsDst = this.#builtins !== undefined
      || serverPortIsDestination(b.protocol[row]!, flags, b.srcPort[row]!, b.dstPort[row]!);
    const port = serverIsDst ? b.dstPort[row]! : b.srcPort[row]!;
    const side = serverIsDst ? 0 : 0x80;
    let k = this.#keyPrefix + String.fromCharCode(b.protocol[row]!, b.family[row]!, (flags & (FLAG_OBSERVER_DESTINATION | FLAG_HAS_ORIGINAL_DST)) | side, port >> 8, port & 0xff)
      + addressKey(b.srcAddr, row * 16, v4) + addressKey(b.dstAddr, row * 16, v4);
    if (orig) {
      const op = b.origDstPort[row]!;
      k += addressKey(b.origDstAddr, row * 16, v4) + String.fromCharCode(op >> 8, op & 0xff);
    }
    if (this.#withSourcePort) k += String.fromCharCode(b.srcPort[row]! >> 8, b.srcPort[row]! & 0xff);
    const cols = this.#columns;
    for (let c = 0; c < cols.length; c++) {
      const idx = cols[c]![row]!;
      if (idx !== NO_STRING) k += this.#prefixes[c]! + b.strings.get(idx);
    }
    return k;
  }

  attributes(row: number): Attributes {
    const b = this.#batch!;
    const flags = b.flags[row]!;
    const a: Attributes = this.#builtins ? this.#groupedBuiltins(row) : {
      'network.transport': transportValue(b.protocol[row]!),
      'network.type': b.family[row] === 6 ? 'ipv6' : 'ipv4',
      'source.address': formatAddress(b.srcAddr, row * 16),
      'destination.address': formatAddress(b.dstAddr, row * 16),
      'flow.observer': flags & FLAG_OBSERVER_DESTINATION ? 'destination' : 'source',
    };
    if (!this.#builtins) {
      if (serverPortIsDestination(b.protocol[row]!, flags, b.srcPort[row]!, b.dstPort[row]!)) a['destination.port'] = b.dstPort[row]!;
      else a['source.port'] = b.srcPort[row]!;
    }
    if (flags & FLAG_HAS_ORIGINAL_DST && !this.#builtins) {
      a['destination.original.address'] = formatAddress(b.origDstAddr, row * 16);
      a['destination.original.port'] = b.origDstPort[row]!;
    }
    for (let c = 0; c < this.#columns.length; c++) {
      const idx = this.#columns[c]![row]!;
      if (idx !== NO_STRING) a[this.#names[c]!] = b.strings.get(idx);
    }
    return a;
  }

  #groupedBuiltins(row: number): Attributes {
    const a: Attributes = {};
    for (const k of this.#builtins!) {
      a[k] = k === 'destination.port' || k === 'source.port' ? Number(builtinValue(this.#batch!, row, k)) : builtinValue(this.#batch!, row, k);
    }
    return a;
  }
}

function addressKey(buf: Uint8Array, o: number, v4: boolean): string {
  if (v4) return String.fromCharCode(buf[o + 12]!, buf[o + 13]!, buf[o + 14]!, buf[o + 15]!);
  return String.fromCharCode(
    buf[o]!, buf[o + 1]!, buf[o + 2]!, buf[o + 3]!, buf[o + 4]!, buf[o + 5]!, buf[o + 6]!, buf[o + 7]!,
    buf[o + 8]!, buf[o + 9]!, buf[o + 10]!, buf[o + 11]!, buf[o + 12]!, buf[o + 13]!, buf[o + 14]!, buf[o + 15]!,
  );
}
