// Turns a failure of the addon into a PodflowError that says what to do: the
// step that failed decides which capability or mount an EPERM points at.

import { isPodflowError, PodflowError } from '../../errors/podflow-error.ts';
import { isDatapathError } from '../../native/ebpf.ts';

const EPERM = 1;
const EACCES = 13;
const ENOENT = 2;
const EINVAL = 22;

/** `feature`: the optional part that failed (dns, drops), named in the message. */
export function explainDatapathError(e: unknown, cgroupPath: string, feature?: string): PodflowError {
  const err = explain(e, cgroupPath);
  if (feature === undefined) return err;
  return new PodflowError(err.code, `receivers::ebpf::${feature}: ${err.message}`, { cause: e });
}

function explain(e: unknown, cgroupPath: string): PodflowError {
  if (isPodflowError(e)) return e;
  if (!isDatapathError(e)) {
    return new PodflowError('PODFLOW_EBPF_LOAD', `ebpf datapath: ${(e as Error).message}`, { cause: e });
  }
  const denied = e.errno === EPERM || e.errno === EACCES;
  const detail = e.message;
  switch (e.step) {
    case 'cgroup':
      return new PodflowError('PODFLOW_EBPF_FS', `receivers::ebpf::cgroup_path: ${detail}`, { cause: e });
    case 'attach_cgroup':
      if (denied) return new PodflowError('PODFLOW_EBPF_PRIVILEGE', `attaching to the cgroup ${cgroupPath} needs CAP_NET_ADMIN: ${detail}`, { cause: e });
      break;
    case 'attach_tracepoint':
      if (denied) return new PodflowError('PODFLOW_EBPF_PRIVILEGE', `attaching tracepoints needs CAP_PERFMON: ${detail}`, { cause: e });
      if (e.errno === ENOENT) return new PodflowError('PODFLOW_EBPF_KERNEL', `a tracepoint the receiver needs is missing from this kernel: ${detail}`, { cause: e });
      break;
    case 'load':
      // EPERM from the verifier comes with its log; without one it is the privilege check.
      if (denied && !detail.includes('BEGIN PROG LOAD LOG')) {
        return new PodflowError('PODFLOW_EBPF_PRIVILEGE', `loading BPF programs needs CAP_BPF and CAP_PERFMON (CAP_NET_ADMIN for sock_ops and cgroup_skb): ${detail}`, { cause: e });
      }
      if (e.errno === EINVAL && /BTF|vmlinux/i.test(detail)) return new PodflowError('PODFLOW_EBPF_BTF', `the kernel's BTF does not fit the programs: ${detail}`, { cause: e });
      break;
  }
  return new PodflowError('PODFLOW_EBPF_LOAD', `ebpf datapath failed at ${e.step}: ${detail}`, { cause: e });
}
