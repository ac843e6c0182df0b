// Optional kernel features, probed once at start and reported (one info log
// line, podflow_ebpf_feature_available). None is required: everything podflow
// must attach is sock_ops, cgroup_skb and tracepoints.
// - tp_btf (BTF-typed raw tracepoints, 5.5+): used when present for the
//   receive-side refresh, which runs on every read of every TCP socket; the
//   socket is then a typed pointer and its counters plain loads instead of a
//   probe-read helper call each (bench/datapath.bench.ts). Without it the
//   classic tracepoint does the same work.
// - fentry and kprobes: reported only, so operators can see what their kernel
//   allows (fentry on tcp_sendmsg / tcp_cleanup_rbuf would give per-call byte
//   counts; kprobes would serve kernels without the tcp tracepoints).

import { existsSync } from 'node:fs';
import { probeFentry, probeTpBtf } from '../../native/ebpf.ts';

export interface FeatureProbe {
  available: boolean;
  /** Why not, when unavailable. */
  reason?: string;
}

export type OptionalFeature = 'tp_btf' | 'fentry' | 'kprobe';

const ERRNO: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 13: 'EACCES', 22: 'EINVAL', 95: 'EOPNOTSUPP', 524: 'ENOTSUPP' };

/** The result of an addon probe (0 or -errno), or why the probe itself failed. */
function probeWith(what: string, probe: () => number): FeatureProbe {
  try {
    const r = probe();
    return r === 0 ? { available: true } : { available: false, reason: `${what} failed: ${ERRNO[-r] ?? `errno ${-r}`}` };
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
}

export function probeFeatures(root = ''): Record<OptionalFeature, FeatureProbe> {
  const tpBtf = probeWith('loading and attaching a tp_btf program on tcp_rcv_space_adjust', () => probeTpBtf('tcp_rcv_space_adjust'));
  const fentry = probeWith('loading an fentry program', probeFentry);
  // libbpf creates kprobes through the kprobe PMU, or the legacy tracefs
  // kprobe_events file; a kernel without CONFIG_KPROBES has neither.
  const kprobe = existsSync(`${root}/sys/bus/event_source/devices/kprobe/type`)
    || existsSync(`${root}/sys/kernel/tracing/kprobe_events`) || existsSync(`${root}/sys/kernel/debug/tracing/kprobe_events`)
    ? { available: true }
    : { available: false, reason: 'no kprobe PMU (/sys/bus/event_source/devices/kprobe) and no tracefs kprobe_events: kernel without CONFIG_KPROBES' };
  return { tp_btf: tpBtf, fentry, kprobe };
}
