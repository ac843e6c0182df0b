// What the kernel and the process must offer before the datapath loads, checked
// up front so that a missing piece is named (which capability, which mount)
// instead of surfacing as an EPERM from deep inside libbpf.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { PodflowError } from '../../errors/podflow-error.ts';

/** Ring buffers (5.8) are the oldest feature the datapath needs. */
export const MIN_KERNEL: readonly [number, number] = [5, 8];

const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

export function kernelVersion(text = release()): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Effective capabilities of this process, from /proc/self/status. */
export function effectiveCapabilities(status = readFileSync('/proc/self/status', 'utf8')): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

/**
 * The capabilities missing for loading and attaching the datapath. CAP_SYS_ADMIN
 * stands in for CAP_BPF and CAP_PERFMON (kernels before 5.8 knew only it).
 */
export function missingCapabilities(caps: bigint): string[] {
  const has = (c: number) => (caps & (1n << BigInt(c))) !== 0n;
  const missing: string[] = [];
  if (!has(CAP_BPF) && !has(CAP_SYS_ADMIN)) missing.push('CAP_BPF');
  if (!has(CAP_PERFMON) && !has(CAP_SYS_ADMIN)) missing.push('CAP_PERFMON');
  if (!has(CAP_NET_ADMIN)) missing.push('CAP_NET_ADMIN');
  return missing;
}

interface Mount {
  point: string;
  fstype: string;
}

export function mounts(text = readFileSync('/proc/self/mountinfo', 'utf8')): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    // "36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/root rw": fstype follows " - ".
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const point = left.split(' ')[4];
    const fstype = right.split(' ')[0];
    if (point && fstype) out.push({ point: point.replace(/\\040/g, ' '), fstype });
  }
  return out;
}

/** The cgroup2 directory to attach to: `configured`, or the host's cgroup2 mount. */
export function resolveCgroupPath(configured: string, all: Mount[] = mounts()): string {
  const cg2 = all.filter((m) => m.fstype === 'cgroup2').map((m) => m.point);
  if (configured !== '') {
    if (!existsSync(configured)) {
      throw new PodflowError('PODFLOW_EBPF_FS', `receivers::ebpf::cgroup_path: "${configured}" does not exist`);
    }
    if (!cg2.some((p) => configured === p || configured.startsWith(`${p}/`))) {
      throw new PodflowError('PODFLOW_EBPF_FS', `receivers::ebpf::cgroup_path: "${configured}" is not on a cgroup2 mount (cgroup2 mounts: ${cg2.join(', ') || 'none'})`);
    }
    return configured;
  }
  if (cg2.includes('/sys/fs/cgroup')) return '/sys/fs/cgroup';
  if (cg2.length > 0) return cg2.sort((a, b) => a.length - b.length)[0]!;
  throw new PodflowError('PODFLOW_EBPF_FS', 'no cgroup2 filesystem is mounted (mount -t cgroup2 none /sys/fs/cgroup); the ebpf receiver attaches to its root');
}

function tryMount(fstype: string, source: string, point: string): string | undefined {
  try {
    execFileSync('mount', ['-t', fstype, source, point], { stdio: ['ignore', 'ignore', 'pipe'] });
    return undefined;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    return (err.stderr?.toString().trim() || err.message).split('\n')[0];
  }
}

/** Where tracepoint IDs can be read; tracefs is mounted at /sys/kernel/tracing when missing and allowed. */
export function ensureTracefs(allowMount: boolean): string {
  for (const dir of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    if (existsSync(`${dir}/events`)) return dir;
  }
  const why = allowMount && existsSync('/sys/kernel/tracing') ? tryMount('tracefs', 'nodev', '/sys/kernel/tracing') : 'not allowed to mount';
  if (existsSync('/sys/kernel/tracing/events')) return '/sys/kernel/tracing';
  throw new PodflowError('PODFLOW_EBPF_FS', `tracefs is not mounted at /sys/kernel/tracing and mounting it failed (${why}); mount it (mount -t tracefs nodev /sys/kernel/tracing) or give podflow the host's /sys/kernel/tracing`);
}

/**
 * bpffs at /sys/fs/bpf. The receiver pins nothing (links die with the process),
 * so this is best effort for tools like bpftool: returns a warning or undefined.
 */
export function ensureBpffs(allowMount: boolean, all: Mount[] = mounts()): string | undefined {
  if (all.some((m) => m.fstype === 'bpf' && m.point === '/sys/fs/bpf')) return undefined;
  if (!allowMount || !existsSync('/sys/fs/bpf')) return 'bpffs is not mounted at /sys/fs/bpf (not needed: podflow pins nothing)';
  const why = tryMount('bpf', 'bpffs', '/sys/fs/bpf');
  return why ? `bpffs is not mounted at /sys/fs/bpf and mounting failed (${why}); not needed: podflow pins nothing` : undefined;
}

/** Throws the first reason the datapath cannot load here; returns the cgroup path and warnings. */
export function checkEnvironment(opts: { cgroupPath: string; allowMount: boolean }): { cgroupPath: string; warnings: string[] } {
  if (process.platform !== 'linux') {
    throw new PodflowError('PODFLOW_EBPF_KERNEL', `eBPF needs Linux ${MIN_KERNEL.join('.')} or later; this is ${process.platform}`);
  }
  const v = kernelVersion();
  if (!v || v[0] < MIN_KERNEL[0] || (v[0] === MIN_KERNEL[0] && v[1] < MIN_KERNEL[1])) {
    throw new PodflowError('PODFLOW_EBPF_KERNEL', `kernel ${release()} is older than ${MIN_KERNEL.join('.')}, the first with BPF ring buffers`);
  }
  if (!existsSync('/sys/kernel/btf/vmlinux')) {
    throw new PodflowError('PODFLOW_EBPF_BTF', 'the kernel exposes no BTF at /sys/kernel/btf/vmlinux (needs CONFIG_DEBUG_INFO_BTF=y); the CO-RE programs cannot be relocated');
  }
  const missing = missingCapabilities(effectiveCapabilities());
  if (missing.length) {
    throw new PodflowError('PODFLOW_EBPF_PRIVILEGE', `the ebpf receiver needs ${missing.join(', ')} (effective capabilities of pid ${process.pid} lack ${missing.length > 1 ? 'them' : 'it'}); grant them to the container or run as root`);
  }
  ensureTracefs(opts.allowMount);
  const warnings: string[] = [];
  const bpffs = ensureBpffs(opts.allowMount);
  if (bpffs) warnings.push(bpffs);
  return { cgroupPath: resolveCgroupPath(opts.cgroupPath), warnings };
}
