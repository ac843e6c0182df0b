// Typed access to the packet-drop part of the podflow_ebpf addon
// (native/ebpf/src/drop-*): the skb:kfree_skb program of
// bpf/features/drops.bpf.c, its maps, and the kernel's drop-reason names.
// The layout table is checked against the C compiler's by
// test/receiver/ebpf/drops/layout.test.ts.

import { loadAddon } from './load-addon.ts';

export const PF_DROP_KEY = {
  size: 44,
  src_addr: 0,
  dst_addr: 16,
  reason: 32,
  src_port: 36,
  dst_port: 38,
  family: 40,
  protocol: 41,
  rx: 42,
} as const;

export const PF_DROP_VALUE = {
  size: 24,
  packets: 0,
  bytes: 8,
  tcp_flags: 16,
} as const;

/** One pf_drops entry as the addon returns it: key then value. */
export const PF_DROP_ENTRY_SIZE = PF_DROP_KEY.size + PF_DROP_VALUE.size;

export const PF_DROP_CONSTANTS = {
  PF_DROP_REASON_UNKNOWN: 0xffffffff,
  PF_DROP_TCP_SYN: 0x01,
  PF_DROP_TCP_SYNACK: 0x02,
  PF_DROP_STAT_INSERTS: 0,
  PF_DROP_STAT_UPDATE_FAILED: 1,
  PF_DROP_STAT_UNATTRIBUTED_FULL: 2,
  PF_DROP_STAT_MAX: 3,
} as const;

export interface DropsOptions {
  /** max_entries of pf_drops (LRU). */
  mapSize: number;
  includeLoopback: boolean;
  /** enum skb_drop_reason values not to count. */
  exclude: number[];
  /** false: load only, attach nothing. Default true. */
  attach?: boolean;
}

export interface Drops {
  /** The drops since the previous call (pf_drops swapped and drained): n × PF_DROP_ENTRY_SIZE bytes (key, value). */
  readDrops(): ArrayBuffer;
  /** Drops without endpoints, cumulative packets per reason. */
  readUnattributed(): Array<{ reason: number; packets: number }>;
  /** pf_drop_stats summed over CPUs, indexed by PF_DROP_STAT_*. */
  readStats(): number[];
  /** Zero unless kernel.bpf_stats_enabled=1. */
  readProgStats(): { name: string; runTimeNs: number; runCount: number };
  /** Detaches the program; the maps stay readable until close(). Idempotent. */
  detach(): void;
  /** Detaches and frees everything. Idempotent. */
  close(): void;
}

export interface DropLayout {
  pf_drop_key: Record<string, number>;
  pf_drop_value: Record<string, number>;
  constants: Record<string, number>;
}

interface DropsAddon {
  Drops: new (opts: DropsOptions) => Drops;
  dropReasonNames(): Array<{ value: number; name: string }>;
  dropLayout(): DropLayout;
}

function addon(): DropsAddon {
  return loadAddon<DropsAddon>('native/ebpf', 'podflow_ebpf');
}

/** Loads and attaches the skb:kfree_skb program. Throws a DatapathError (see ebpf.ts). */
export function openDrops(opts: DropsOptions): Drops {
  const Ctor = addon().Drops;
  return new Ctor(opts);
}

/** The running kernel's enum skb_drop_reason from its BTF, as spelled there; empty without BTF. */
export function kernelDropReasons(): Array<{ value: number; name: string }> {
  return addon().dropReasonNames();
}

export function nativeDropLayout(): DropLayout {
  return addon().dropLayout();
}
