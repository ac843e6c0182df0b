// The cost of the eBPF datapath, measured side by side in one run between two
// network namespaces (needs root): iperf3 throughput and wrk p99 latency with
// and without the ebpf receiver attached (alternating rounds, medians), and the
// CPU podflow uses at 1k and 10k new connections per second.
//
// What counts as podflow's CPU: the user + system time of this process (the
// receiver and its ring-buffer poll thread) plus the run time of every BPF
// program it holds (the base datapath and the enabled features' objects, read
// from /proc/self/fdinfo) from kernel.bpf_stats_enabled. Stats add two clock
// reads to every program run, part of which lands in the recorded run time:
// on this VM ~56 ns per run, as much as a small program costs. The bench
// measures that floor in the same run (`conn-rate bpf-stats-floor`: the ns/run
// recorded for a program that does nothing) and subtracts it per run; the raw
// figures are kept in extra. The load generator's own CPU is the baseline.
// The workload runs in a cgroup of its own and the receiver attaches there, so
// connections that other processes of this shared machine make do not run the
// cgroup programs (sock_ops, cgroup_skb) and the per-connection figures are
// the workload's; the tracepoints are global and run for every socket, as on a
// node. Connection-rate rounds alternate between the two rates and medians are
// reported.
//
// Each 1k conn/s round is followed by one of a stateless sock_ops floor
// (bench/tools/sockops-floor.bpf.c) alone on the same load: a final record
// from the close callback's own context and no state per socket, which no
// datapath that reports every connection can undercut. The result row
// `sockops_ns_per_connection_at_1000_conn_per_s` sets podflow's sock_ops
// against it, with what the goal of 0.25% of a core leaves (extra: the floor
// plus the other programs, and the receiver's idle process CPU).
//
// Variants (environment; recorded in each result's extra):
//   PODFLOW_BENCH_NAT=auto|off        the receiver's `nat` (default auto)
//   PODFLOW_BENCH_FEATURES=dns,drops  optional datapath features to turn on
//                                     (the receiver's `dns: {enabled}`,
//                                     `drops: {enabled}`); all off by default

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultsOf } from '../src/config/schema.ts';
import type { FlowConsumer } from '../src/consumer/consumer.ts';
import type { FlowBatch } from '../src/pdata/flow-batch.ts';
import { ebpfConfigSchema, type EbpfConfig } from '../src/receiver/ebpf/config.ts';
import { EbpfReceiver } from '../src/receiver/ebpf/ebpf-receiver.ts';
import { resolveCgroupPath } from '../src/receiver/ebpf/environment.ts';
import { silentLogger } from '../src/service/logger.ts';
import { SelfTelemetry } from '../src/service/telemetry/self-telemetry.ts';
import { createNetPair, type NetPair } from '../test/e2e/support/ebpf-netns.ts';
import { attachFloor } from './sockops-floor.ts';

interface BenchResult { name: string; value: number; unit: string; baseline: number; ratio: number; extra?: Record<string, number | string> }

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CONN_RATE = resolve(REPO, 'bpf/.output/conn-rate');
const FLOOR_OBJ = resolve(REPO, 'bpf/.output/sockops-floor.bpf.o');
const BPF_STATS = '/proc/sys/kernel/bpf_stats_enabled';

class CountingConsumer implements FlowConsumer {
  readonly mutatesData = false;
  rows = 0;
  async consume(b: FlowBatch): Promise<void> {
    this.rows += b.length;
  }
}

interface Variant { config: EbpfConfig; nat: string; features: string }

/**
 * The receiver's configuration, from PODFLOW_BENCH_NAT and PODFLOW_BENCH_FEATURES;
 * `all`: every optional feature on (the receiver's default), whatever the latter says.
 */
function variant(cgroupPath: string, all = false): Variant {
  const defaults = defaultsOf(ebpfConfigSchema);
  const nat = process.env.PODFLOW_BENCH_NAT ?? 'auto';
  if (nat !== 'auto' && nat !== 'off') throw new Error(`PODFLOW_BENCH_NAT: "${nat}" is neither auto nor off`);
  let wanted = (process.env.PODFLOW_BENCH_FEATURES ?? '').split(',').map((f) => f.trim()).filter(Boolean);
  const config: Record<string, unknown> = { ...defaults, collection_interval: 1000, nat, cgroup_path: cgroupPath };
  // An optional feature is a config section with an `enabled` key; each is off unless asked for.
  const isFeature = (v: unknown): v is { enabled: boolean } => typeof v === 'object' && v !== null && 'enabled' in v;
  const known = Object.keys(defaults).filter((k) => isFeature((defaults as Record<string, unknown>)[k]));
  const unknown = wanted.filter((f) => !known.includes(f));
  if (unknown.length) {
    throw new Error(`PODFLOW_BENCH_FEATURES: the ebpf receiver has no ${unknown.map((f) => `${f}: {enabled}`).join(', ')} setting (it has: ${known.join(', ') || 'none'})`);
  }
  if (all) wanted = known;
  for (const k of known) config[k] = { ...(config[k] as object), enabled: wanted.includes(k) };
  return { config: config as EbpfConfig, nat, features: wanted.join(',') || 'none' };
}

const run$ = promisify(execFile);
/** Joins the bench cgroup (its cgroup.procs), then runs the command in a namespace. */
const IN_CGROUP = (procs: string) => ['-c', `echo $$ > ${procs} && exec ip netns exec "$@"`, 'sh'];

/** In a namespace and the bench cgroup, without blocking the event loop (the receiver runs in this process). */
async function nsRun(procs: string, ns: string, cmd: string, args: string[]): Promise<string> {
  return (await run$('sh', [...IN_CGROUP(procs), ns, cmd, ...args], { encoding: 'utf8', maxBuffer: 16 << 20 })).stdout;
}

async function withReceiver<T>(v: Variant, fn: (r: EbpfReceiver) => Promise<T>): Promise<{ result: T; rows: number }> {
  const sink = new CountingConsumer();
  const r = new EbpfReceiver(
    { id: 'ebpf', signal: 'metrics', logger: silentLogger, telemetry: new SelfTelemetry(),
      resource: { hostName: 'bench', nodeName: undefined, serviceVersion: '0' }, host: { status: 'ready' } },
    v.config, sink);
  await r.start();
  try {
    const result = await fn(r);
    return { result, rows: sink.rows };
  } finally {
    await r.shutdown();
  }
}

/** Starts `cmd` in namespace `ns`, inside the bench cgroup (`procs`: its cgroup.procs). */
function bg(procs: string, ns: string, cmd: string, args: string[], kill: ChildProcess[]): ChildProcess {
  const p = spawn('sh', [...IN_CGROUP(procs), ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  kill.push(p);
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface IperfRun {
  bps: number;
  /** CPU of the workload cgroup (iperf3 client and server, and the kernel work done in their context: the BPF programs too) per KiB received. */
  cpuNsPerKiB: number;
}

async function iperf(procs: string, net: NetPair, seconds: number): Promise<IperfRun> {
  const cpu0 = cgroupCpu(dirname(procs));
  const out = await nsRun(procs, net.client, 'iperf3', ['-c', net.serverV4, '-p', '5201', '-t', String(seconds), '-J']);
  const cpu = cgroupCpu(dirname(procs)) - cpu0;
  const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number; bytes: number } } };
  return { bps: j.end.sum_received.bits_per_second, cpuNsPerKiB: (cpu * 1e9) / (j.end.sum_received.bytes / 1024) };
}

async function wrkP99(procs: string, net: NetPair, seconds: number): Promise<number> {
  const out = await nsRun(procs, net.client, 'wrk', ['-t1', '-c4', `-d${seconds}s`, '--latency', `http://${net.serverV4}:8080/`]);
  const m = /^\s*99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
  if (!m) throw new Error(`no p99 in wrk output:\n${out}`);
  return Number(m[1]) * (m[2] === 'us' ? 1e-3 : m[2] === 's' ? 1e3 : 1);
}

/** CPU seconds used so far by every process of a cgroup (cpu.stat, present in every cgroup2 directory). */
function cgroupCpu(cgroup: string): number {
  const m = /^usage_usec (\d+)$/m.exec(readFileSync(join(cgroup, 'cpu.stat'), 'utf8'));
  if (!m) throw new Error(`no usage_usec in ${cgroup}/cpu.stat`);
  return Number(m[1]) / 1e6;
}

type ProgStats = Map<string, { runTimeNs: number; runCount: number }>;

const progNames = new Map<number, string>();

/**
 * Run time and count of every BPF program this process holds, by name: the
 * base datapath and any optional feature's objects (the receiver's
 * programStats() covers the base datapath only). Read from /proc/self/fdinfo;
 * names come once per program from `conn-rate bpf-prog-names` (call
 * nameHeldPrograms() outside a measured window: it forks).
 */
function heldPrograms(): ProgStats {
  const out: ProgStats = new Map();
  const seen = new Set<number>();
  for (const fd of readdirSync('/proc/self/fdinfo')) {
    let t: string;
    try { t = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'); } catch { continue; /* closed meanwhile */ }
    const id = /^prog_id:\s+(\d+)$/m.exec(t);
    const ns = /^run_time_ns:\s+(\d+)$/m.exec(t);
    const cnt = /^run_cnt:\s+(\d+)$/m.exec(t);
    if (!id || !ns || !cnt || seen.has(Number(id[1]))) continue; // links carry prog_id without stats
    seen.add(Number(id[1]));
    const name = progNames.get(Number(id[1])) ?? `id ${id[1]}`;
    const p = out.get(name) ?? { runTimeNs: 0, runCount: 0 };
    p.runTimeNs += Number(ns[1]);
    p.runCount += Number(cnt[1]);
    out.set(name, p);
  }
  return out;
}

async function nameHeldPrograms(): Promise<void> {
  const ids = [...heldPrograms().keys()].filter((n) => n.startsWith('id ')).map((n) => n.slice(3));
  if (!ids.length) return;
  const out = (await run$(CONN_RATE, ['bpf-prog-names', ...ids], { encoding: 'utf8' })).stdout;
  for (const line of out.trim().split('\n')) {
    const [id, name] = line.split(' ');
    progNames.set(Number(id), name || `id ${id}`);
  }
}

function progDelta(after: ProgStats, before: ProgStats): ProgStats {
  const d: ProgStats = new Map();
  for (const [name, a] of after) {
    const b = before.get(name) ?? { runTimeNs: 0, runCount: 0 };
    d.set(name, { runTimeNs: a.runTimeNs - b.runTimeNs, runCount: a.runCount - b.runCount });
  }
  return d;
}

/** ns per program run that kernel.bpf_stats itself records (median of 3 measurements). */
async function statsFloorNs(): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) runs.push(Number((await run$(CONN_RATE, ['bpf-stats-floor'], { encoding: 'utf8' })).stdout));
  const floor = median(runs);
  if (!Number.isFinite(floor)) throw new Error(`conn-rate bpf-stats-floor: no number (${runs.join(', ')})`);
  return floor;
}

/** Recorded run time minus the stats floor of each run. */
function bpfNsCorrected(progs: ProgStats, floorNs: number): number {
  let ns = 0;
  for (const p of progs.values()) ns += Math.max(0, p.runTimeNs - p.runCount * floorNs);
  return ns;
}

interface RateRound {
  processPct: number;
  bpfPct: number;
  bpfRawPct: number;
  genPct: number;
  achieved: number;
  done: number;
  failed: number;
  progs: ProgStats;
}

async function connRate(net: NetPair, v: Variant, cgroup: string, floorNs: number, rate: number, seconds: number, kill: ChildProcess[]): Promise<RateRound> {
  const procs = join(cgroup, 'cgroup.procs');
  const server = bg(procs, net.server, CONN_RATE, ['server', '9000'], kill);
  try {
    await new Promise((r) => server.stdout!.once('data', r));
    const { result } = await withReceiver(v, async () => {
      await nameHeldPrograms();
      // Forking the client costs this (large) process some milliseconds:
      // the client waits a moment, and the window starts after the fork.
      const client = bg(procs, net.client, 'sh', ['-c', 'sleep 0.4; exec "$@"', 'sh',
        CONN_RATE, 'client', net.serverV4, '9000', String(rate), String(seconds)], kill);
      let line = '';
      client.stdout!.on('data', (d: Buffer) => { line += d.toString(); });
      const exited = new Promise((res) => client.on('exit', res));
      await sleep(200);
      const progs0 = heldPrograms();
      const cpu0 = process.cpuUsage();
      const gen0 = cgroupCpu(cgroup);
      const t0 = process.hrtime.bigint();
      await exited;
      // Let the receiver collect what the last interval saw.
      await sleep(1100);
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      const genCpu = cgroupCpu(cgroup) - gen0;
      const progs = progDelta(heldPrograms(), progs0);
      const bpfNs = [...progs.values()].reduce((n, p) => n + p.runTimeNs, 0);
      const [, done, failed, took] = line.trim().split(' ');
      return {
        processPct: ((cpu.user + cpu.system) / 1e6 / wall) * 100,
        bpfPct: (bpfNsCorrected(progs, floorNs) / 1e9 / wall) * 100,
        bpfRawPct: (bpfNs / 1e9 / wall) * 100,
        genPct: (genCpu / wall) * 100,
        achieved: Number(done) / Number(took),
        done: Number(done),
        failed: Number(failed),
        progs,
      };
    });
    return result;
  } finally {
    server.kill('SIGKILL');
  }
}

/** The receiver attached and nothing to see: the process CPU (% of a core) its collections cost alone. */
async function idleRound(v: Variant, seconds: number): Promise<number> {
  const { result } = await withReceiver(v, async () => {
    await sleep(1200); // past its first collection
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await sleep(seconds * 1000);
    const cpu = process.cpuUsage(cpu0);
    return ((cpu.user + cpu.system) / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9)) * 100;
  });
  return result;
}

interface FloorRound { runTimeNs: number; runCount: number; done: number; lost: number }

/**
 * The stateless floor (bench/sockops-floor.ts) alone on the same load as a
 * connRate round, without the receiver: what sock_ops costs per connection
 * when it keeps no state per socket.
 */
async function floorRound(net: NetPair, cgroup: string, rate: number, seconds: number, kill: ChildProcess[]): Promise<FloorRound> {
  const procs = join(cgroup, 'cgroup.procs');
  const server = bg(procs, net.server, CONN_RATE, ['server', '9000'], kill);
  try {
    await new Promise((r) => server.stdout!.once('data', r));
    const floor = attachFloor(FLOOR_OBJ, cgroup);
    try {
      // Read before the client's first connect (it waits 0.4 s) and after its
      // last sockets closed: the server closes first, the client at once.
      const s0 = floor.stats();
      const client = bg(procs, net.client, 'sh', ['-c', 'sleep 0.4; exec "$@"', 'sh',
        CONN_RATE, 'client', net.serverV4, '9000', String(rate), String(seconds)], kill);
      let line = '';
      client.stdout!.on('data', (d: Buffer) => { line += d.toString(); });
      await new Promise((res) => client.on('exit', res));
      await sleep(200);
      const s1 = floor.stats();
      const [, done] = line.trim().split(' ');
      return { runTimeNs: s1.runTimeNs - s0.runTimeNs, runCount: s1.runCount - s0.runCount, done: Number(done), lost: floor.lost() };
    } finally {
      floor.detach();
    }
  } finally {
    server.kill('SIGKILL');
  }
}

/** "name runs/conn×ns/run" per program that ran, summed over rounds (run time as recorded, stats floor included). */
function perConnection(rounds: RateRound[]): string {
  const conns = rounds.reduce((n, r) => n + r.done, 0);
  const sum: ProgStats = new Map();
  for (const r of rounds) {
    for (const [name, p] of r.progs) {
      const s = sum.get(name) ?? { runTimeNs: 0, runCount: 0 };
      s.runTimeNs += p.runTimeNs;
      s.runCount += p.runCount;
      sum.set(name, s);
    }
  }
  return [...sum].filter(([, p]) => p.runCount / conns >= 0.01)
    .map(([name, p]) => `${name.replace(/^pf_/, '')} ${(p.runCount / conns).toFixed(1)}×${Math.round(p.runTimeNs / p.runCount)}ns`)
    .join(', ');
}

/**
 * podflow's sock_ops against the stateless floor, per connection at 1k conn/s
 * (both ends on the node), each run's stats floor taken off: how much of the
 * programs' cost is the state podflow keeps per socket, and what the 1k
 * conn/s goal (0.25% of a core, process and programs) leaves once the floor,
 * the other programs any datapath needs (the tracepoint that sees failed
 * connects, the cgroup_skb pair that counts UDP) and the process's own
 * collections with nothing to see (`idlePct`) are paid.
 */
function floorResult(rounds: RateRound[], floors: FloorRound[], floorNs: number, rateRounds: number, idlePct: number, variantExtra: Record<string, string | number>): BenchResult {
  const conns = rounds.reduce((n, r) => n + r.done, 0);
  const corrected = (p: { runTimeNs: number; runCount: number }) => Math.max(0, p.runTimeNs - p.runCount * floorNs);
  let sockops = 0;
  let sockopsRuns = 0;
  let others = 0;
  for (const r of rounds) {
    for (const [name, p] of r.progs) {
      if (name === 'pf_sockops') {
        sockops += corrected(p);
        sockopsRuns += p.runCount;
      } else others += corrected(p);
    }
  }
  const floorConns = floors.reduce((n, f) => n + f.done, 0);
  const floorPerConn = floors.reduce((n, f) => n + corrected(f), 0) / floorConns;
  const sockopsPerConn = sockops / conns;
  const othersPerConn = others / conns;
  const pctAt1k = (ns: number) => Number(((ns * 1000) / 1e9 * 100).toFixed(3));
  return {
    name: 'datapath.sockops_ns_per_connection_at_1000_conn_per_s', value: sockopsPerConn,
    unit: 'ns per connection (sock_ops runs, both ends on the node)', baseline: floorPerConn, ratio: sockopsPerConn / floorPerConn,
    extra: {
      baseline_is: 'bench/tools/sockops-floor.bpf.c alone on the same load: a final record from the close callback\'s context, no per-socket state',
      runs_per_connection: Number((sockopsRuns / conns).toFixed(1)),
      floor_runs_per_connection: Number((floors.reduce((n, f) => n + f.runCount, 0) / floorConns).toFixed(1)),
      floor_records_lost: floors.reduce((n, f) => n + f.lost, 0),
      other_programs_ns_per_connection: Math.round(othersPerConn),
      programs_pct_of_core_at_1000: pctAt1k(sockopsPerConn + othersPerConn),
      floor_programs_pct_of_core_at_1000: pctAt1k(floorPerConn + othersPerConn),
      process_idle_pct_of_core: Number(idlePct.toFixed(3)),
      goal_pct_of_core_at_1000: 0.25,
      bpf_stats_floor_ns_per_run: floorNs,
      rounds: rateRounds, ...variantExtra,
    },
  };
}

export default async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const cleanups: Array<() => void> = [];
  const kill: ChildProcess[] = [];
  // The workload's own cgroup (see the top of this file); removed at the end.
  const cgroup = join(resolveCgroupPath(''), `podflow-bench-${process.pid}`);
  const procs = join(cgroup, 'cgroup.procs');
  const v = variant(cgroup);
  // The receiver as configured by default (DNS capture and drop tracking on),
  // measured in the same rounds so its overhead over `v` is a ratio.
  const vAll = variant(cgroup, true);
  const variantExtra = { nat: v.nat, features: v.features, collection_interval_ms: 1000 };
  const results: BenchResult[] = [];
  try {
    mkdirSync(cgroup);
    cleanups.push(() => {
      for (let i = 0; i < 40; i++) {
        try { rmdirSync(cgroup); return; } catch { /* its processes are still exiting */ }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      }
    });
    const net = createNetPair({ teardown: (fn) => cleanups.push(fn) }, 'bench', 30);
    net.run(net.client, 'sysctl', ['-qw', 'net.ipv4.ip_local_port_range=1024 65000']);
    const statsBefore = readFileSync(BPF_STATS, 'utf8').trim();
    writeFileSync(BPF_STATS, '1');
    cleanups.push(() => writeFileSync(BPF_STATS, statsBefore));
    const floorNs = await statsFloorNs();
    // Short alternating rounds and medians: what else runs on the machine
    // shifts both sides alike instead of whichever ran during a busy spell.
    const seconds = opts.quick ? 2 : 3;
    const rounds = opts.quick ? 2 : 5;
    bg(procs, net.server, 'iperf3', ['-s', '-p', '5201'], kill);
    const http = bg(procs, net.server, CONN_RATE, ['http', '8080'], kill);
    await new Promise((r) => http.stdout!.once('data', r));
    await sleep(300);

    const base = { bps: [] as number[], cpuPerKiB: [] as number[], p99: [] as number[] };
    const withPf = { bps: [] as number[], cpuPerKiB: [] as number[], p99: [] as number[], rows: 0, bpfNsPerMB: [] as number[], bpfPct: [] as number[] };
    const bpfNs = () => bpfNsCorrected(heldPrograms(), floorNs);
    for (let i = 0; i < rounds; i++) {
      const b0 = await iperf(procs, net, seconds);
      base.bps.push(b0.bps);
      base.cpuPerKiB.push(b0.cpuNsPerKiB);
      base.p99.push(await wrkP99(procs, net, seconds));
      const r = await withReceiver(v, async () => {
        // The datapath's own cost, independent of what else loads the machine:
        // the run time of its programs per byte moved.
        const ns0 = bpfNs();
        const t0 = process.hrtime.bigint();
        const b = await iperf(procs, net, seconds);
        const wall = Number(process.hrtime.bigint() - t0) / 1e9;
        const ns = bpfNs() - ns0;
        withPf.bpfNsPerMB.push(ns / ((b.bps / 8) * seconds / 1e6));
        withPf.bpfPct.push((ns / 1e9 / wall) * 100);
        withPf.cpuPerKiB.push(b.cpuNsPerKiB);
        return { bps: b.bps, p99: await wrkP99(procs, net, seconds) };
      });
      withPf.bps.push(r.result.bps);
      withPf.p99.push(r.result.p99);
      withPf.rows += r.rows;
    }
    const bps = median(withPf.bps);
    const bpsBase = median(base.bps);
    results.push({ name: 'datapath.iperf3_throughput', value: bps / 1e9, unit: 'Gbit/s', baseline: bpsBase / 1e9, ratio: bps / bpsBase,
      extra: { rounds, seconds_each: seconds, statistic: 'median', rows_reported: withPf.rows,
        bpf_ns_per_MB: Math.round(median(withPf.bpfNsPerMB)), bpf_programs_pct_of_core: Number(median(withPf.bpfPct).toFixed(3)),
        bpf_stats_floor_ns_per_run: floorNs,
        // Throughput on veth is CPU-bound, so what the programs add to the CPU
        // each byte costs is the throughput they take; unlike Gbit/s (which
        // moves ±15% between rounds with where the scheduler put the two
        // iperf3 processes) both parts are measured per byte. Dispatch work
        // around a program run (the hook's own call) is not in run_time_ns.
        workload_cpu_ns_per_KiB_without: Math.round(median(base.cpuPerKiB)),
        workload_cpu_ns_per_KiB_with: Math.round(median(withPf.cpuPerKiB)),
        bpf_ns_per_KiB: Number((median(withPf.bpfNsPerMB) * 1024 / 1e6).toFixed(2)),
        bpf_share_of_workload_cpu_per_byte_pct: Number(((median(withPf.bpfNsPerMB) * 1024 / 1e6) / median(base.cpuPerKiB) * 100).toFixed(2)),
        all_with: withPf.bps.map((b) => (b / 1e9).toFixed(2)).join(' '), all_without: base.bps.map((b) => (b / 1e9).toFixed(2)).join(' '),
        ...variantExtra } });
    const p99 = median(withPf.p99);
    const p99Base = median(base.p99);
    results.push({ name: 'datapath.wrk_p99_latency', value: p99, unit: 'ms', baseline: p99Base, ratio: p99 / p99Base,
      extra: { added_ms: Number((p99 - p99Base).toFixed(3)), connections: 4, statistic: 'median',
        all_with: withPf.p99.join(' '), all_without: base.p99.join(' '), ...variantExtra } });

    const rates = [1000, 10_000];
    const rateRounds = opts.quick ? 1 : 3;
    const byRate = new Map<number, RateRound[]>(rates.map((r) => [r, []]));
    const byRateAll = new Map<number, RateRound[]>(rates.map((r) => [r, []]));
    const withFeatures = vAll.features !== v.features;
    // A running agent has its record path compiled: one discarded round first,
    // so the measured ones are not the JIT's warm-up.
    await connRate(net, v, cgroup, floorNs, 1000, 1, kill);
    const floors: FloorRound[] = [];
    for (let i = 0; i < rateRounds; i++) {
      for (const rate of rates) {
        byRate.get(rate)!.push(await connRate(net, v, cgroup, floorNs, rate, opts.quick ? 2 : 4, kill));
        if (withFeatures) byRateAll.get(rate)!.push(await connRate(net, vAll, cgroup, floorNs, rate, opts.quick ? 2 : 4, kill));
        if (rate === 1000) floors.push(await floorRound(net, cgroup, rate, opts.quick ? 2 : 4, kill));
      }
    }
    for (const rate of rates) {
      const rr = byRate.get(rate)!;
      const total = median(rr.map((r) => r.processPct + r.bpfPct));
      const gen = median(rr.map((r) => r.genPct));
      const conns = rr.reduce((n, r) => n + r.done, 0);
      const bpfNsPerConn = rr.reduce((n, r) => n + bpfNsCorrected(r.progs, floorNs), 0) / conns;
      results.push({
        name: `datapath.cpu_at_${rate}_conn_per_s`, value: total, unit: '% of a core (podflow process + BPF programs)',
        baseline: gen, ratio: total / gen,
        extra: {
          process_pct_of_core: Number(median(rr.map((r) => r.processPct)).toFixed(3)),
          bpf_programs_pct_of_core: Number(median(rr.map((r) => r.bpfPct)).toFixed(3)),
          bpf_programs_pct_of_core_raw: Number(median(rr.map((r) => r.bpfRawPct)).toFixed(3)),
          bpf_stats_floor_ns_per_run: floorNs,
          bpf_ns_per_connection: Math.round(bpfNsPerConn),
          bpf_runs_per_connection: perConnection(rr),
          all_totals: rr.map((r) => (r.processPct + r.bpfPct).toFixed(2)).join(' '),
          rounds: rateRounds, statistic: 'median',
          achieved_conn_per_s: Math.round(median(rr.map((r) => r.achieved))), failed: rr.reduce((n, r) => n + r.failed, 0),
          baseline_is: 'CPU of the load generator (the workload cgroup: client and server)',
          ...variantExtra,
        },
      });
    }
    const idlePct = await idleRound(v, opts.quick ? 3 : 6);
    results.push(floorResult(byRate.get(1000)!, floors, floorNs, rateRounds, idlePct, variantExtra));
    for (const rate of withFeatures ? rates : []) {
      const off = byRate.get(rate)!;
      const on = byRateAll.get(rate)!;
      const totalOff = median(off.map((r) => r.processPct + r.bpfPct));
      const totalOn = median(on.map((r) => r.processPct + r.bpfPct));
      const conns = on.reduce((n, r) => n + r.done, 0);
      results.push({
        name: `datapath.cpu_at_${rate}_conn_per_s_with_${vAll.features.replace(',', '_')}`, value: totalOn,
        unit: '% of a core (podflow process + BPF programs)', baseline: totalOff, ratio: totalOn / totalOff,
        extra: {
          baseline_is: `the same rounds with features: ${v.features}`,
          process_pct_of_core: Number(median(on.map((r) => r.processPct)).toFixed(3)),
          bpf_programs_pct_of_core: Number(median(on.map((r) => r.bpfPct)).toFixed(3)),
          bpf_ns_per_connection: Math.round(on.reduce((n, r) => n + bpfNsCorrected(r.progs, floorNs), 0) / conns),
          bpf_runs_per_connection: perConnection(on),
          all_totals: on.map((r) => (r.processPct + r.bpfPct).toFixed(2)).join(' '),
          all_totals_without: off.map((r) => (r.processPct + r.bpfPct).toFixed(2)).join(' '),
          rounds: rateRounds, statistic: 'median',
          achieved_conn_per_s: Math.round(median(on.map((r) => r.achieved))),
          nat: vAll.nat, features: vAll.features, collection_interval_ms: 1000,
        },
      });
    }
  } finally {
    for (const p of kill) p.kill('SIGKILL');
    for (const c of cleanups.reverse()) c();
  }
  return results;
}

// Run directly: node bench/datapath.bench.ts [--quick]
if (import.meta.url === `file://${process.argv[1]}`) {
  const res = await run({ quick: process.argv.includes('--quick') });
  process.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
}
