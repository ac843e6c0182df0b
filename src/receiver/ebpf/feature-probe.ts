// Optional kernel features, probed once at start and reported (one info log
// line, podflow_ebpf_feature_available). podflow does not use them: everything
// it attaches is sock_ops, cgroup_skb and tracepoints. They are what a future
// hook would need (fentry on tcp_sendmsg / tcp_cleanup_rbuf for per-call byte
// counts without the tracepoints' CO-RE probe reads; kprobes on older kernels
// without the tcp tracepoints), so operators can see what their kernel allows.

import { existsSync } from 'node:fs';
import { probeFentry } from '../../native/ebpf.ts';

export interface FeatureProbe {
  available: boolean;
  /** Why not, when unavailable. */
  reason?: string;
}

const ERRNO: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 13: 'EACCES', 22: 'EINVAL', 95: 'EOPNOTSUPP', 524: 'ENOTSUPP' };

export function probeFeatures(root = ''): Record<'fentry' | 'kprobe', FeatureProbe> {
  let fentry: FeatureProbe;
  try {
    const r = probeFentry();
    fentry = r === 0 ? { available: true } : { available: false, reason: `loading an fentry program failed: ${ERRNO[-r] ?? `errno ${-r}`}` };
  } catch (e) {
    fentry = { available: false, reason: (e as Error).message };
  }
  // libbpf creates kprobes through the kprobe PMU, or the legacy tracefs
  // kprobe_events file; a kernel without CONFIG_KPROBES has neither.
  const kprobe = existsSync(`${root}/sys/bus/event_source/devices/kprobe/type`)
    || existsSync(`${root}/sys/kernel/tracing/kprobe_events`) || existsSync(`${root}/sys/kernel/debug/tracing/kprobe_events`)
    ? { available: true }
    : { available: false, reason: 'no kprobe PMU (/sys/bus/event_source/devices/kprobe) and no tracefs kprobe_events: kernel without CONFIG_KPROBES' };
  return { fentry, kprobe };
}
