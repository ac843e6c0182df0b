// Typed access to the podflow_ebpf addon (native/ebpf): the only module that
// loads it. See native/ebpf/src/datapath.h for what each call does.

import { loadAddon } from './load-addon.ts';

export interface DatapathOptions {
  /** A cgroup2 directory; programs see sockets of every process below it. */
  cgroupPath: string;
  connMapSize: number;
  udpMapSize: number;
  /** Bytes, a power of two and a multiple of the page size. */
  ringBufferSize: number;
  includeLoopback: boolean;
  /**
   * Drain period of the ring buffer when not woken early (half full); 0: no
   * periodic drain, the caller takes the records (takeRecords) and onRecords
   * gets only what a filling buffer forces out between two takes. Default 100.
   */
  pollIntervalMs?: number;
  /** The receive-side refresh as a BTF-typed raw tracepoint (probeTpBtf said it works). Default false. */
  tpBtf?: boolean;
  /** false: load only, attach nothing (BPF_PROG_TEST_RUN tests). Default true. */
  attach?: boolean;
}

/** Thrown by the addon: `step` says what failed (load, attach_cgroup, ...), `errno` why. */
export interface DatapathError extends Error {
  step: string;
  errno: number;
}

export interface Datapath {
  /** Live connections: n × PF_CONN.size bytes. */
  readConnections(): ArrayBuffer;
  /** UDP entries: n × PF_UDP_ENTRY_SIZE bytes (key, value). */
  readUdp(): ArrayBuffer;
  deleteConnections(cookies: BigUint64Array): number;
  /** Keys: n × PF_UDP_KEY.size bytes. */
  deleteUdp(keys: ArrayBuffer): number;
  /** Final records the ring buffer holds now (n × PF_CONN.size bytes), besides those given to onRecords. */
  takeRecords(): ArrayBuffer;
  /** pf_stats summed over CPUs, indexed by PF_STAT_*. */
  readStats(): number[];
  /** Per-program run time and count; zero unless kernel.bpf_stats_enabled=1. */
  readProgStats(): Array<{ name: string; runTimeNs: number; runCount: number }>;
  testRunUdp(egress: boolean, packet: Uint8Array): number;
  /** Detaches everything; returns ring-buffer records not yet delivered. Idempotent. */
  close(): ArrayBuffer;
}

export interface Layout {
  pf_conn: Record<string, number>;
  pf_udp_key: Record<string, number>;
  pf_udp_value: Record<string, number>;
  constants: Record<string, number>;
}

interface EbpfAddon {
  Datapath: new (opts: DatapathOptions, onRecords: (records: ArrayBuffer) => void) => Datapath;
  layout(): Layout;
  probeFentry(): number;
  probeTpBtf(tracepoint: string): number;
}

function addon(): EbpfAddon {
  return loadAddon<EbpfAddon>('native/ebpf', 'podflow_ebpf');
}

/**
 * Loads and attaches the datapath. `onRecords` gets the final records of closed
 * connections in batches (n × PF_CONN.size bytes), on the main thread.
 */
export function openDatapath(opts: DatapathOptions, onRecords: (records: ArrayBuffer) => void): Datapath {
  const Ctor = addon().Datapath;
  return new Ctor(opts, onRecords);
}

/** The record layouts as the C compiler laid them out. */
export function nativeLayout(): Layout {
  return addon().layout();
}

export function isDatapathError(e: unknown): e is DatapathError {
  return e instanceof Error && typeof (e as Partial<DatapathError>).step === 'string';
}

/** 0 when a BTF-typed raw tracepoint program loads and attaches to `tracepoint` here, else -errno. */
export function probeTpBtf(tracepoint: string): number {
  return addon().probeTpBtf(tracepoint);
}

/** 0 when an fentry program loads in this process, else -errno (never attached). */
export function probeFentry(): number {
  return addon().probeFentry();
}
