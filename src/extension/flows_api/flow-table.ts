// What flows_api serves: flows between endpoints with their counters, kept
// from the batches receivers publish. Ephemeral client ports are aggregated away
// (key: protocol, source address, destination address:port, original
// destination), so the table's size follows the number of endpoint pairs, not
// connections. Idle flows expire; the table is bounded and counts what it drops.

import { COUNTER_COLUMNS, FLAG_HAS_ORIGINAL_DST, FLAG_HAS_ORIGINAL_SRC, FLAG_SOURCE_IS_CLIENT, type CounterColumn, type FlowBatch } from '../../pdata/flow-batch.ts';
import { ADDITIVE_COLUMNS, HISTOGRAM_COLUMNS } from '../../pdata/flow-aggregation.ts';
import { transportName } from '../../pdata/flow-record.ts';
import { formatAddress } from '../../pdata/ip-address.ts';

export interface FlowEntry {
  receiver: string;
  transport: string;
  sourceAddress: string;
  /** 0 where aggregated away (a TCP client's ephemeral port). */
  sourcePort: number;
  destinationAddress: string;
  destinationPort: number;
  originalDestinationAddress?: string;
  originalDestinationPort?: number;
  originalSourceAddress?: string;
  sourceIsClient: boolean;
  counters: Record<CounterColumn, number>;
  firstSeenMs: number;
  lastSeenMs: number;
}

export class FlowTable {
  readonly #flows = new Map<string, FlowEntry>();
  readonly #maxFlows: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  dropped = 0;

  constructor(opts: { maxFlows: number; ttlMs: number; now?: () => number }) {
    this.#maxFlows = opts.maxFlows;
    this.#ttlMs = opts.ttlMs;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#flows.size;
  }

  add(receiver: string, b: FlowBatch): void {
    const now = this.#now();
    for (let i = 0; i < b.length; i++) {
      const flags = b.flags[i]!;
      const src = formatAddress(b.srcAddr, i * 16);
      const dst = formatAddress(b.dstAddr, i * 16);
      const od = flags & FLAG_HAS_ORIGINAL_DST ? formatAddress(b.origDstAddr, i * 16) : undefined;
      const odp = flags & FLAG_HAS_ORIGINAL_DST ? b.origDstPort[i]! : undefined;
      const os = flags & FLAG_HAS_ORIGINAL_SRC ? formatAddress(b.origSrcAddr, i * 16) : undefined;
      const transport = transportName(b.protocol[i]!);
      const client = (flags & FLAG_SOURCE_IS_CLIENT) !== 0;
      // TCP: the client's ephemeral port is aggregated away on both edges (the
      // server → client edge keeps the server's port as its source port). UDP
      // has no client flag, so both ports are kept.
      const tcp = transport === 'tcp';
      const port = tcp && !client ? 0 : b.dstPort[i]!;
      const sport = tcp && client ? 0 : b.srcPort[i]!;
      const key = `${receiver}|${transport}|${src}|${sport}|${dst}|${port}|${od ?? ''}|${odp ?? ''}|${os ?? ''}|${client ? 1 : 0}`;
      let e = this.#flows.get(key);
      if (!e) {
        if (this.#flows.size >= this.#maxFlows) {
          this.dropped++;
          continue;
        }
        e = {
          receiver, transport, sourceAddress: src, sourcePort: sport, destinationAddress: dst, destinationPort: port,
          ...(od !== undefined ? { originalDestinationAddress: od, originalDestinationPort: odp! } : {}),
          ...(os !== undefined ? { originalSourceAddress: os } : {}),
          sourceIsClient: client,
          counters: Object.fromEntries(COUNTER_COLUMNS.map((c) => [c, 0])) as Record<CounterColumn, number>,
          firstSeenMs: now,
          lastSeenMs: now,
        };
        this.#flows.set(key, e);
      }
      e.lastSeenMs = now;
      for (const c of ADDITIVE_COLUMNS) e.counters[c] += b.counters[c][i]!;
      // Samples (RTT, durations) do not add up: the latest one stands.
      for (const c of HISTOGRAM_COLUMNS) {
        const v = b.counters[c][i]!;
        if (v > 0) e.counters[c] = v;
      }
    }
  }

  expire(): void {
    const cutoff = this.#now() - this.#ttlMs;
    for (const [k, e] of this.#flows) if (e.lastSeenMs < cutoff) this.#flows.delete(k);
  }

  flows(): FlowEntry[] {
    this.expire();
    return [...this.#flows.values()];
  }
}
