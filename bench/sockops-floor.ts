// The stateless sock_ops floor of bench/datapath.bench.ts
// (bench/tools/sockops-floor.bpf.c, built by scripts/setup.d/20-ebpf.sh):
// loaded and attached to the bench's cgroup with bpftool, its run time read
// from the kernel's program stats (kernel.bpf_stats_enabled, which the bench
// turns on), detached and unpinned again whatever happens.

import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';

export interface FloorProgram {
  /** Cumulative run time and runs of the program so far. */
  stats(): { runTimeNs: number; runCount: number };
  /** Final records that did not fit in its ring buffer (nothing reads it). */
  lost(): number;
  detach(): void;
}

function bpftool(args: string[]): string {
  return execFileSync('bpftool', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Loads the floor object `obj` and attaches its sock_ops program to `cgroup`. */
export function attachFloor(obj: string, cgroup: string): FloorProgram {
  const pin = `/sys/fs/bpf/podflow-bench-floor-${process.pid}`;
  const maps = `${pin}-maps`;
  const unpin = () => {
    rmSync(pin, { force: true });
    rmSync(maps, { recursive: true, force: true });
  };
  unpin();
  mkdirSync(maps);
  let attached = false;
  try {
    bpftool(['prog', 'load', obj, pin, 'type', 'sockops', 'pinmaps', maps]);
    bpftool(['cgroup', 'attach', cgroup, 'sock_ops', 'pinned', pin, 'multi']);
    attached = true;
  } finally {
    if (!attached) unpin();
  }
  return {
    stats() {
      const p = JSON.parse(bpftool(['-j', 'prog', 'show', 'pinned', pin])) as { run_time_ns?: number; run_cnt?: number };
      return { runTimeNs: p.run_time_ns ?? 0, runCount: p.run_cnt ?? 0 };
    },
    lost() {
      const e = JSON.parse(bpftool(['-j', 'map', 'lookup', 'pinned', `${maps}/floor_lost`, 'key', '0', '0', '0', '0'])) as
        { formatted?: { value: number }; value?: string[] };
      if (e.formatted) return Number(e.formatted.value);
      // Without BTF: the value's bytes, little-endian hex.
      return (e.value ?? []).reduceRight((n, b) => n * 256 + parseInt(b, 16), 0);
    },
    detach() {
      try {
        bpftool(['cgroup', 'detach', cgroup, 'sock_ops', 'pinned', pin]);
      } finally {
        unpin();
      }
    },
  };
}
