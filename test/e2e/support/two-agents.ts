// Two "nodes" on one machine for the two-agent end-to-end test: each node is a
// cgroup2 directory (what one podflow's ebpf receiver attaches to and sees
// sockets below) plus a network namespace. A process is put into its node's
// cgroup by a shell wrapper that writes its own pid to cgroup.procs and then
// execs `ip netns exec`, so every socket it opens is already below the cgroup.
// Teardown always runs: children killed, leftover pids moved back to the root
// cgroup, the directories removed.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveCgroupPath } from '../../../src/receiver/ebpf/environment.ts';
import { NODE, TRAFFIC, type Teardown } from './ebpf-netns.ts';
import { attachDriver, type Driver } from './traffic-driver.ts';

export interface NodeCgroup {
  /** Absolute cgroup2 directory (the ebpf receiver's `cgroup_path`). */
  path: string;
  /** Starts the traffic driver inside this cgroup and network namespace `ns`; killed at teardown. */
  spawnTraffic(ns: string, args: string[]): Driver;
}

function pidsOf(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** A cgroup `name` directly below the host's cgroup2 mount (found as the ebpf receiver finds it). */
export function createNodeCgroup(t: Teardown, name: string): NodeCgroup {
  const root = resolveCgroupPath('');
  const path = join(root, name);
  const children: ChildProcess[] = [];

  const teardown = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (!existsSync(path)) return;
    // A cgroup with processes cannot be removed: move any survivor back to the root first.
    for (const pid of pidsOf(path)) {
      try { writeFileSync(join(root, 'cgroup.procs'), String(pid)); } catch { /* already gone */ }
    }
    // Killed children leave the cgroup once reaped, which can lag the kill a little.
    const deadline = Date.now() + 5_000;
    for (;;) {
      try {
        rmdirSync(path);
        return;
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`cannot remove cgroup ${path}: ${String(e)} (pids ${pidsOf(path).join(',')})`);
        for (const pid of pidsOf(path)) {
          try { writeFileSync(join(root, 'cgroup.procs'), String(pid)); } catch { /* gone */ }
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      }
    }
  };
  t.teardown(teardown);
  teardown(); // leftovers of a killed earlier run
  mkdirSync(path);

  return {
    path,
    spawnTraffic(ns, args) {
      // $$ is the shell itself; exec keeps the pid, so ip, then node, run in the cgroup from their first instruction.
      const script = 'echo $$ > "$1/cgroup.procs" && shift && exec ip netns exec "$@"';
      const proc = spawn('/bin/sh', ['-c', script, 'sh', path, ns, NODE, TRAFFIC, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(proc);
      return attachDriver(proc, `traffic ${args[0]} in ${ns}/${name}`, 20_000);
    },
  };
}
