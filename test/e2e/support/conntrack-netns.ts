// The namespaces of the conntrack end-to-end tests, laid out like a node with a
// CNI and kube-proxy:
//
//   client ns ──veth──┐
//                     router ns (forwarding, iptables DNAT VIP:80 → backends:8080, conntrack)
//   backend ns 1 ──veth──┤
//   backend ns 2 ──veth──┘
//
// The router namespace plays the node's root namespace, so the test's conntrack
// table is its own (parallel tests and the host's table are untouched); podflow
// reads it through the receiver's `netns` setting. Addresses are only inside
// 10.213.<n>.0/24 (VIP 10.96.0.10 exists only in the router's NAT rules); a
// FORWARD drop guards the range in the root namespace and the router drops
// anything outside it. With `ipv6`, the same again in fd00:213:<n>::/48 with
// the VIP fd00:96::10 and ip6tables (kube-proxy's IPv6 rules). Teardown always runs: processes, namespaces (with their
// rules and conntrack tables), guard rules, resolv.conf files.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const NODE = resolve(REPO, 'node_modules/.bin/node');
export const TRAFFIC = resolve(REPO, 'test/e2e/support/conntrack-traffic.ts');
export const VIP = '10.96.0.10';
export const VIP6 = 'fd00:96::10';

export function sh(cmd: string, args: string[], opts: { ignoreError?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 });
  } catch (e) {
    if (opts.ignoreError) return '';
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${err.stderr || err.message}`);
  }
}

export interface Proc {
  proc: ChildProcess;
  next(): Promise<Record<string, unknown>>;
  send(line: string): void;
}

export interface ServiceNet {
  router: string;
  client: string;
  backends: string[];
  clientAddr: string;
  backendAddrs: string[];
  /** IPv6 addresses, when created with `ipv6` (else empty). */
  clientAddr6: string;
  backendAddrs6: string[];
  /** /var/run/netns/<router>, for the receiver's netns setting. */
  routerNetns: string;
  run(ns: string, cmd: string, args: string[]): string;
  spawn(ns: string, args: string[]): Proc;
  /** Starts any program in a namespace (killed at teardown); same line protocol as spawn(). */
  spawnCmd(ns: string, cmd: string, args: string[]): Proc;
  /** IP bytes/packets a backend sent from port 8080 (its OUTPUT counter; `v6`: ip6tables'). */
  servedBytes(ns: string, v6?: boolean): { bytes: number; packets: number };
}

/** `tag` (≤ 5 chars) makes names unique per test file; `n` (1..254) picks 10.213.<n>.0/24. */
/** What createServiceNet needs from a tap Test (benchmarks pass their own). */
export interface Teardown {
  teardown(fn: () => void): void;
}

export function createServiceNet(t: Teardown, tag: string, n: number, opts: { backends?: number; ipv6?: boolean } = {}): ServiceNet {
  const nb = opts.backends ?? 2;
  const v6 = opts.ipv6 ?? false;
  const range6 = `fd00:213:${n}::/48`;
  const router = `pf-ct-${tag}-r`;
  const client = `pf-ct-${tag}-c`;
  const backends = Array.from({ length: nb }, (_, k) => `pf-ct-${tag}-b${k + 1}`);
  const range = `10.213.${n}.0/24`;
  const guard = [
    ['FORWARD', '-s', range, '-j', 'DROP', '-m', 'comment', '--comment', router],
    ['FORWARD', '-d', range, '-j', 'DROP', '-m', 'comment', '--comment', router],
  ];
  const guard6 = v6 ? [
    ['FORWARD', '-s', range6, '-j', 'DROP', '-m', 'comment', '--comment', router],
    ['FORWARD', '-d', range6, '-j', 'DROP', '-m', 'comment', '--comment', router],
  ] : [];
  const children: ChildProcess[] = [];
  const all = [router, client, ...backends];

  const hasRule = (rule: string[], cmd = 'iptables') => {
    try {
      execFileSync(cmd, ['-C', ...rule], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  const teardown = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const ns of all) {
      for (const pid of sh('ip', ['netns', 'pids', ns], { ignoreError: true }).split('\n').filter(Boolean)) {
        try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
      }
      // Deleting the namespace frees its veths, its iptables rules and its conntrack table.
      sh('ip', ['netns', 'del', ns], { ignoreError: true });
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
    for (const rule of guard) while (hasRule(rule)) sh('iptables', ['-D', ...rule], { ignoreError: true });
    for (const rule of guard6) while (hasRule(rule, 'ip6tables')) sh('ip6tables', ['-D', ...rule], { ignoreError: true });
  };
  t.teardown(teardown);
  teardown();

  for (const rule of guard) sh('iptables', ['-I', ...rule]);
  for (const rule of guard6) sh('ip6tables', ['-I', ...rule]);
  for (const ns of all) {
    sh('ip', ['netns', 'add', ns]);
    mkdirSync(`/etc/netns/${ns}`, { recursive: true });
    writeFileSync(`/etc/netns/${ns}/resolv.conf`, 'nameserver 127.0.0.1\n');
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  const ipr = (ns: string, ...a: string[]) => sh('ip', ['-n', ns, ...a]);
  const link = (ns: string, k: number) => {
    const rdev = `r${k}`;
    const dev = `eth0`;
    const tmp = `pfct${tag}${k}`.slice(0, 15);
    sh('ip', ['link', 'add', tmp, 'netns', router, 'type', 'veth', 'peer', 'name', `${tmp}p`.slice(0, 15), 'netns', ns]);
    ipr(router, 'link', 'set', tmp, 'name', rdev);
    ipr(ns, 'link', 'set', `${tmp}p`.slice(0, 15), 'name', dev);
    const base = k * 16;
    ipr(router, 'addr', 'add', `10.213.${n}.${base + 1}/28`, 'dev', rdev);
    ipr(ns, 'addr', 'add', `10.213.${n}.${base + 2}/28`, 'dev', dev);
    ipr(router, 'link', 'set', rdev, 'up');
    ipr(ns, 'link', 'set', dev, 'up');
    ipr(ns, 'route', 'add', 'default', 'via', `10.213.${n}.${base + 1}`);
    if (v6) {
      // nodad: usable at once, no duplicate address detection delay.
      ipr(router, 'addr', 'add', `fd00:213:${n}:${k}::1/64`, 'dev', rdev, 'nodad');
      ipr(ns, 'addr', 'add', `fd00:213:${n}:${k}::2/64`, 'dev', dev, 'nodad');
      ipr(ns, '-6', 'route', 'add', 'default', 'via', `fd00:213:${n}:${k}::1`);
    }
    // Offloads off so every packet crosses the router as it left the sender
    // (byte counts then match on both sides exactly).
    sh('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off'], { ignoreError: true });
    sh('ip', ['netns', 'exec', router, 'ethtool', '-K', rdev, 'tso', 'off', 'gso', 'off', 'gro', 'off'], { ignoreError: true });
    return `10.213.${n}.${base + 2}`;
  };
  const clientAddr = link(client, 0);
  const backendAddrs = backends.map((b, k) => link(b, k + 1));
  const clientAddr6 = v6 ? `fd00:213:${n}::2` : ''; // fd00:213:n:0::2, as podflow prints it
  const backendAddrs6 = v6 ? backends.map((_, k) => `fd00:213:${n}:${k + 1}::2`) : [];
  const inR = (cmd: string, ...a: string[]) => sh('ip', ['netns', 'exec', router, cmd, ...a]);
  inR('sysctl', '-qw', 'net.ipv4.ip_forward=1');
  inR('iptables', '-P', 'FORWARD', 'DROP');
  inR('iptables', '-A', 'FORWARD', '-s', range, '-d', range, '-j', 'ACCEPT');
  // kube-proxy's iptables mode: the VIP's rule picks a backend, nth-wise for a deterministic split.
  backendAddrs.forEach((addr, k) => {
    const rest = backendAddrs.length - k;
    const pick = rest > 1 ? ['-m', 'statistic', '--mode', 'nth', '--every', String(rest), '--packet', '0'] : [];
    inR('iptables', '-t', 'nat', '-A', 'PREROUTING', '-d', `${VIP}/32`, '-p', 'tcp', '--dport', '80', ...pick, '-j', 'DNAT', '--to-destination', `${addr}:8080`);
  });
  for (const b of backends) sh('ip', ['netns', 'exec', b, 'iptables', '-A', 'OUTPUT', '-p', 'tcp', '--sport', '8080']);
  if (v6) {
    inR('sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
    inR('ip6tables', '-P', 'FORWARD', 'DROP');
    inR('ip6tables', '-A', 'FORWARD', '-s', range6, '-d', range6, '-j', 'ACCEPT');
    backendAddrs6.forEach((addr, k) => {
      const rest = backendAddrs6.length - k;
      const pick = rest > 1 ? ['-m', 'statistic', '--mode', 'nth', '--every', String(rest), '--packet', '0'] : [];
      inR('ip6tables', '-t', 'nat', '-A', 'PREROUTING', '-d', `${VIP6}/128`, '-p', 'tcp', '--dport', '80', ...pick, '-j', 'DNAT', '--to-destination', `[${addr}]:8080`);
    });
    for (const b of backends) sh('ip', ['netns', 'exec', b, 'ip6tables', '-A', 'OUTPUT', '-p', 'tcp', '--sport', '8080']);
  }

  return {
    router, client, backends, clientAddr, backendAddrs, clientAddr6, backendAddrs6,
    routerNetns: `/var/run/netns/${router}`,
    run: (ns, cmd, a) => sh('ip', ['netns', 'exec', ns, cmd, ...a]),
    servedBytes(ns, six) {
      const outp = sh('ip', ['netns', 'exec', ns, six ? 'ip6tables' : 'iptables', '-nvxL', 'OUTPUT']);
      const line = outp.split('\n').find((l) => l.includes('spt:8080'));
      const f = (line ?? '').trim().split(/\s+/);
      return { packets: Number(f[0] ?? 0), bytes: Number(f[1] ?? 0) };
    },
    spawn(ns, a) {
      return this.spawnCmd(ns, NODE, [TRAFFIC, ...a]);
    },
    spawnCmd(ns, cmd, a) {
      const proc = spawn('ip', ['netns', 'exec', ns, cmd, ...a], { stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(proc);
      const lines: string[] = [];
      const waiters: Array<(l: string) => void> = [];
      createInterface({ input: proc.stdout! }).on('line', (l) => {
        const w = waiters.shift();
        if (w) w(l);
        else lines.push(l);
      });
      return {
        proc,
        send: (line) => proc.stdin!.write(`${line}\n`),
        next: () => new Promise((res, rej) => {
          const l = lines.shift();
          if (l !== undefined) return res(JSON.parse(l) as Record<string, unknown>);
          const timer = setTimeout(() => rej(new Error(`traffic ${a[0]} in ${ns}: no output within 120s`)), 120_000);
          proc.once('exit', (code) => { clearTimeout(timer); rej(new Error(`traffic ${a[0]} in ${ns} exited with ${code}`)); });
          waiters.push((x) => { clearTimeout(timer); res(JSON.parse(x) as Record<string, unknown>); });
        }),
      };
    },
  };
}

export interface CtEntry {
  origSrc: string; origDst: string; origSport: number; origDport: number;
  replySrc: string; replyDst: string; replySport: number; replyDport: number;
  origBytes: number; origPackets: number; replyBytes: number; replyPackets: number;
  state: string;
}

/** `conntrack -L` in a namespace, parsed (TCP entries of one family only). */
export function conntrackList(ns: string, family: 'ipv4' | 'ipv6' = 'ipv4'): CtEntry[] {
  const text = sh('ip', ['netns', 'exec', ns, 'conntrack', '-L', '-f', family, '-p', 'tcp']);
  const out: CtEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('tcp')) continue;
    const kv = [...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!] as const);
    const get = (k: string, nth: number) => kv.filter(([key]) => key === k)[nth]?.[1] ?? '';
    out.push({
      origSrc: get('src', 0), origDst: get('dst', 0), origSport: Number(get('sport', 0)), origDport: Number(get('dport', 0)),
      replySrc: get('src', 1), replyDst: get('dst', 1), replySport: Number(get('sport', 1)), replyDport: Number(get('dport', 1)),
      origPackets: Number(get('packets', 0)), origBytes: Number(get('bytes', 0)),
      replyPackets: Number(get('packets', 1)), replyBytes: Number(get('bytes', 1)),
      state: line.split(/\s+/)[3] ?? '',
    });
  }
  return out;
}
