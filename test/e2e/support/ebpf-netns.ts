// Two network namespaces joined by a veth pair, for the ebpf end-to-end tests:
// a server namespace and a client namespace with addresses only inside them
// (10.203.<n>.0/24 and fd0c:203:<n>::/64), a FORWARD drop guard for those
// ranges in the root namespace, a resolv.conf for each, and a teardown that
// always runs (namespaces, rules, child processes).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attachDriver, type Driver } from './traffic-driver.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const NODE = resolve(REPO, 'node_modules/.bin/node');
export const TRAFFIC = resolve(REPO, 'test/e2e/support/ebpf-traffic.ts');

export interface NetPair {
  server: string;
  client: string;
  serverV4: string;
  clientV4: string;
  serverV6: string;
  clientV6: string;
  /** Runs a command in a namespace and returns its stdout. */
  run(ns: string, cmd: string, args: string[]): string;
  /** Starts the traffic driver in a namespace; killed at teardown. */
  spawnTraffic(ns: string, args: string[]): Driver;
}

export type { Driver };

function sh(cmd: string, args: string[], opts: { ignoreError?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (opts.ignoreError) return '';
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${err.stderr || err.message}`);
  }
}

/** `n` picks the subnet (1..254); `tag` (≤ 6 chars) makes the names unique per test file. */
/** What createNetPair needs from a tap Test (or a benchmark): a teardown hook. */
export interface Teardown {
  teardown(fn: () => void): void;
}

export function createNetPair(t: Teardown, tag: string, n: number): NetPair {
  const server = `pf-ebpf-${tag}-s`;
  const client = `pf-ebpf-${tag}-c`;
  const vs = `pfe${tag}s`.slice(0, 15);
  const vc = `pfe${tag}c`.slice(0, 15);
  const v4 = `10.203.${n}.0/24`;
  const v6 = `fd0c:203:${n.toString(16)}::/64`;
  const guard = [
    ['iptables', ['FORWARD', '-s', v4, '-j', 'DROP', '-m', 'comment', '--comment', server]],
    ['iptables', ['FORWARD', '-d', v4, '-j', 'DROP', '-m', 'comment', '--comment', server]],
    ['ip6tables', ['FORWARD', '-s', v6, '-j', 'DROP', '-m', 'comment', '--comment', server]],
    ['ip6tables', ['FORWARD', '-d', v6, '-j', 'DROP', '-m', 'comment', '--comment', server]],
  ] as const;
  const children: ChildProcess[] = [];

  const teardown = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of [server, client]) {
      for (const pid of sh('ip', ['netns', 'pids', ns], { ignoreError: true }).split('\n').filter(Boolean)) {
        try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
      }
      sh('ip', ['netns', 'del', ns], { ignoreError: true });
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
    for (const [cmd, rule] of guard) {
      for (let i = 0; i < 10 && hasRule(cmd, rule); i++) sh(cmd, ['-D', ...rule], { ignoreError: true });
    }
  };
  const hasRule = (cmd: string, rule: readonly string[]) => {
    try {
      execFileSync(cmd, ['-C', ...rule], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  t.teardown(teardown);
  teardown(); // leftovers of a killed earlier run

  for (const [cmd, rule] of guard) sh(cmd, ['-I', ...rule]);
  for (const ns of [server, client]) {
    sh('ip', ['netns', 'add', ns]);
    mkdirSync(`/etc/netns/${ns}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns}/resolv.conf`, 'nameserver 127.0.0.1\n');
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  sh('ip', ['link', 'add', vs, 'netns', server, 'type', 'veth', 'peer', 'name', vc, 'netns', client]);
  const ends = [
    [server, vs, `10.203.${n}.1`, `fd0c:203:${n.toString(16)}::1`],
    [client, vc, `10.203.${n}.2`, `fd0c:203:${n.toString(16)}::2`],
  ] as const;
  for (const [ns, dev, a4, a6] of ends) {
    sh('ip', ['-n', ns, 'addr', 'add', `${a4}/24`, 'dev', dev]);
    sh('ip', ['-n', ns, '-6', 'addr', 'add', `${a6}/64`, 'dev', dev, 'nodad']);
    sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  }

  return {
    server,
    client,
    serverV4: ends[0][2],
    clientV4: ends[1][2],
    serverV6: ends[0][3],
    clientV6: ends[1][3],
    run: (ns, cmd, args) => sh('ip', ['netns', 'exec', ns, cmd, ...args]),
    spawnTraffic(ns, args) {
      const proc = spawn('ip', ['netns', 'exec', ns, NODE, TRAFFIC, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(proc);
      return attachDriver(proc, `traffic ${args[0]} in ${ns}`, 60_000);
    },
  };
}
