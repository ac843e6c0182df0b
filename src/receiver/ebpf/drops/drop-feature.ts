// Packet drops (config `drops`): loads bpf/features/drops.bpf.c (skb:kfree_skb)
// and every collection interval appends one row per 5-tuple × drop reason that
// dropped packets since the previous read (see drop-table.ts).
//
//   kernel kfree_skb ──▶ pf_drops (LRU, cumulative) ──collect()──▶ DropTable ──▶ rows with drops/dropBytes
//                    ──▶ pf_drops_unattributed ──collect()──▶ podflow_ebpf_drops_unattributed_total{reason}

import type { CreateSettings } from '../../../component/component.ts';
import { openDrops, kernelDropReasons, PF_DROP_CONSTANTS as K, type Drops } from '../../../native/ebpf-drops.ts';
import type { FlowBatch } from '../../../pdata/flow-batch.ts';
import type { Counter } from '../../../service/telemetry/self-telemetry.ts';
import type { DatapathFeature, FeatureContext } from '../datapath-feature.ts';
import type { DropsConfig } from './config.ts';
import { DropReasons } from './drop-reasons.ts';
import { DropTable } from './drop-table.ts';

export interface DropFeatureOptions {
  includeLoopback: boolean;
  /** Replaces the addon (tests of the bookkeeping). */
  open?: typeof openDrops;
  /** Replaces the kernel's BTF (tests of the reason mapping). */
  kernelReasons?: typeof kernelDropReasons;
}

export class DropFeature implements DatapathFeature {
  readonly name = 'drops';
  readonly #config: DropsConfig;
  readonly #where: string;
  readonly #opts: DropFeatureOptions;
  readonly #mapFull: Counter;
  readonly #unattributed: Counter;
  #drops: Drops | undefined;
  #table: DropTable | undefined;
  #reasons = new DropReasons([]);
  #lastStats = [0, 0, 0];
  /** Entries read (each drained, so read once) since open. */
  #read = 0;
  #evicted = 0;
  readonly #lastUnattributed = new Map<number, number>();

  constructor(settings: CreateSettings, config: DropsConfig, opts: DropFeatureOptions) {
    this.#config = config;
    this.#opts = opts;
    this.#where = `receivers::${settings.id}::drops`;
    const t = settings.telemetry;
    // Shared with the receiver (same name, one family); the first registration's help is served.
    this.#mapFull = t.counter('podflow_ebpf_map_full_total', 'Entries a datapath map could not hold (label map): sockets not tracked (pf_conns), UDP or drop entries evicted or not counted (pf_udp, pf_drops, pf_drops_unattributed).');
    this.#unattributed = t.counter('podflow_ebpf_drops_unattributed_total', 'Dropped packets counted per drop reason only: not IPv4/IPv6 TCP, UDP or ICMP, or no network header yet.');
  }

  open(ctx: FeatureContext): void {
    this.#reasons = new DropReasons((this.#opts.kernelReasons ?? kernelDropReasons)());
    const exclude: number[] = [];
    const unknown: string[] = [];
    for (const name of this.#config.exclude_reasons) {
      const v = this.#reasons.value(name);
      if (v === undefined) unknown.push(name);
      else exclude.push(v);
    }
    if (unknown.length) {
      ctx.logger.warn(`${this.#where}::exclude_reasons: this kernel has no drop reason ${unknown.map((n) => `"${n}"`).join(', ')}; they are ignored`
        + ` (valid: ${this.#reasons.known ? this.#reasons.names().join(', ') : 'none: the kernel has no drop reasons, everything is "unknown"'})`);
    }
    this.#table = new DropTable(this.#reasons);
    this.#drops = (this.#opts.open ?? openDrops)({
      mapSize: this.#config.map_size,
      includeLoopback: this.#opts.includeLoopback,
      exclude,
    });
    ctx.logger.info('ebpf drops attached', {
      reasons: this.#reasons.known ? this.#reasons.names().length : 'none (reported as "unknown")',
      excluded: this.#config.exclude_reasons.filter((n) => !unknown.includes(n)),
    });
  }

  collect(batch: FlowBatch, nowMs: number): void {
    const d = this.#drops;
    if (!d || !this.#table) return;
    const stats = d.readStats();
    this.#read += this.#table.append(batch, d.readDrops());
    this.#countLosses(stats);
    for (const { reason, packets } of d.readUnattributed()) {
      const last = this.#lastUnattributed.get(reason) ?? 0;
      if (packets > last) this.#unattributed.add(packets - last, { reason: this.#reasons.name(reason) });
      this.#lastUnattributed.set(reason, packets);
    }
  }

  close(batch: FlowBatch, nowMs: number): void {
    const d = this.#drops;
    if (!d) return;
    d.detach();
    try {
      this.collect(batch, nowMs);
    } finally {
      d.close();
      this.#drops = undefined;
    }
  }

  #countLosses(stats: number[]): void {
    const delta = (i: number) => {
      const v = Math.max(0, stats[i]! - this.#lastStats[i]!);
      this.#lastStats[i] = stats[i]!;
      return v;
    };
    // An LRU map never fails an insert: it evicts. Every entry created is read
    // once or evicted, so evicted = created - read. The stats are read before
    // the swap: entries created in between are read but not yet counted as
    // created, which makes this a lower bound for one interval, never more.
    const evicted = Math.max(this.#evicted, stats[K.PF_DROP_STAT_INSERTS]! - this.#read);
    this.#mapFull.add(evicted - this.#evicted + delta(K.PF_DROP_STAT_UPDATE_FAILED), { map: 'pf_drops' });
    this.#evicted = evicted;
    this.#mapFull.add(delta(K.PF_DROP_STAT_UNATTRIBUTED_FULL), { map: 'pf_drops_unattributed' });
  }
}
