// An optional part of the ebpf receiver with a BPF object of its own
// (bpf/features/NAME.bpf.c: DNS capture, packet drops). The receiver opens each
// enabled feature after the base datapath, asks it for its rows every
// collection interval (they join the same FlowBatch, so the NAT join and every
// processor see them like any flow), and closes it on shutdown.

import type { FlowBatch } from '../../pdata/flow-batch.ts';
import type { Logger } from '../../service/logger.ts';

export interface FeatureContext {
  /** The cgroup2 directory the base datapath attached to. */
  cgroupPath: string;
  logger: Logger;
}

/** Run time and count of one BPF program (kernel.bpf_stats_enabled=1, else zero). */
export interface ProgramStat {
  name: string;
  runTimeNs: number;
  runCount: number;
}

export interface DatapathFeature {
  /** Config key, e.g. "dns"; also names the feature in logs and errors. */
  readonly name: string;
  /** Loads and attaches. Throws (a DatapathError from the addon) when it cannot. */
  open(ctx: FeatureContext): void;
  /** Appends the rows of the interval that ends now (Unix ms). */
  collect(batch: FlowBatch, nowMs: number): void;
  /** Detaches, then appends whatever it still held. Idempotent. */
  close(batch: FlowBatch, nowMs: number): void;
  /** Its programs' run time, for the datapath benchmark's cost figures. */
  programStats?(): ProgramStat[];
}
