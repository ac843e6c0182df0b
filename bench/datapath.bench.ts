// The cost of the eBPF datapath, measured side by side in one run between two
// network namespaces (needs root): iperf3 throughput and wrk p99 latency with
// and without the ebpf receiver attached (alternating rounds), and the CPU
// podflow uses at 1k and 10k new connections per second (user space: this
// process; kernel: the run time of the pf_* programs from kernel.bpf_stats).

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultsOf } from '../src/config/schema.ts';
import type { FlowConsumer } from '../src/consumer/consumer.ts';
import type { FlowBatch } from '../src/pdata/flow-batch.ts';
import { ebpfConfigSchema } from '../src/receiver/ebpf/config.ts';
import { EbpfReceiver } from '../src/receiver/ebpf/ebpf-receiver.ts';
import { silentLogger } from '../src/service/logger.ts';
import { SelfTelemetry } from '../src/service/telemetry/self-telemetry.ts';
import { createNetPair, type NetPair } from '../test/e2e/support/ebpf-netns.ts';

interface BenchResult { name: string; value: number; unit: string; baseline: number; ratio: number; extra?: Record<string, number | string> }

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CONN_RATE = resolve(REPO, 'bpf/.output/conn-rate');

class CountingConsumer implements FlowConsumer {
  readonly mutatesData = false;
  rows = 0;
  async consume(b: FlowBatch): Promise<void> {
    this.rows += b.length;
  }
}

const run$ = promisify(execFile);
/** In a namespace, without blocking the event loop (the receiver runs in this process). */
async function nsRun(ns: string, cmd: string, args: string[]): Promise<string> {
  return (await run$('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', maxBuffer: 16 << 20 })).stdout;
}

async function withReceiver<T>(fn: (r: EbpfReceiver) => Promise<T>): Promise<{ result: T; rows: number }> {
  const sink = new CountingConsumer();
  const r = new EbpfReceiver(
    { id: 'ebpf', signal: 'metrics', logger: silentLogger, telemetry: new SelfTelemetry(),
      resource: { hostName: 'bench', nodeName: undefined, serviceVersion: '0' }, host: { status: 'ready' } },
    { ...defaultsOf(ebpfConfigSchema), collection_interval: 1000 }, sink);
  await r.start();
  try {
    const result = await fn(r);
    return { result, rows: sink.rows };
  } finally {
    await r.shutdown();
  }
}

function bg(net: NetPair, ns: string, cmd: string, args: string[], kill: ChildProcess[]): ChildProcess {
  const p = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  kill.push(p);
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function iperf(net: NetPair, seconds: number): Promise<number> {
  const out = await nsRun(net.client, 'iperf3', ['-c', net.serverV4, '-p', '5201', '-t', String(seconds), '-J']);
  const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
  return j.end.sum_received.bits_per_second;
}

async function wrkP99(net: NetPair, seconds: number): Promise<number> {
  const out = await nsRun(net.client, 'wrk', ['-t1', '-c4', `-d${seconds}s`, '--latency', `http://${net.serverV4}:8080/`]);
  const m = /^\s*99%\s+([\d.]+)(us|ms|s)\s*$/m.exec(out);
  if (!m) throw new Error(`no p99 in wrk output:\n${out}`);
  return Number(m[1]) * (m[2] === 'us' ? 1e-3 : m[2] === 's' ? 1e3 : 1);
}

/** CPU seconds (user + system) of a process from /proc. */
function procCpu(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Total run time of the receiver's BPF programs, ns (needs kernel.bpf_stats_enabled). */
function bpfRunTimeNs(r: EbpfReceiver): number {
  return r.programStats().reduce((n, p) => n + p.runTimeNs, 0);
}

async function connRate(net: NetPair, rate: number, seconds: number, kill: ChildProcess[]) {
  const server = bg(net, net.server, CONN_RATE, ['server', '9000'], kill);
  await new Promise((r) => server.stdout!.once('data', r));
  const stats = '/proc/sys/kernel/bpf_stats_enabled';
  const statsBefore = readFileSync(stats, 'utf8').trim();
  writeFileSync(stats, '1');
  try {
    const { result } = await withReceiver(async (rcv) => {
      await sleep(300);
      const cpu0 = process.cpuUsage();
      const bpf0 = bpfRunTimeNs(rcv);
      const t0 = process.hrtime.bigint();
      const client = bg(net, net.client, CONN_RATE, ['client', net.serverV4, '9000', String(rate), String(seconds)], kill);
      let line = '';
      client.stdout!.on('data', (d: Buffer) => { line += d.toString(); });
      const genCpu = await new Promise<number>((res) => {
        // Sample the generator's CPU just before it exits.
        const timer = setInterval(() => { try { last = procCpu(client.pid!); } catch { /* exiting */ } }, 100);
        let last = 0;
        client.on('exit', () => { clearInterval(timer); res(last + procCpu(server.pid!)); });
      });
      // Let the receiver collect what the last interval saw.
      await sleep(1100);
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      const [, done, failed, took] = line.trim().split(' ');
      return {
        userPct: ((cpu.user + cpu.system) / 1e6 / wall) * 100,
        bpfPct: ((bpfRunTimeNs(rcv) - bpf0) / 1e9 / wall) * 100,
        achieved: Number(done) / Number(took),
        failed: Number(failed),
        genPct: (genCpu / wall) * 100,
      };
    });
    return result;
  } finally {
    writeFileSync(stats, statsBefore);
    server.kill('SIGKILL');
  }
}

export default async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const cleanups: Array<() => void> = [];
  const kill: ChildProcess[] = [];
  const net = createNetPair({ teardown: (fn) => cleanups.push(fn) }, 'bench', 30);
  net.run(net.client, 'sysctl', ['-qw', 'net.ipv4.ip_local_port_range=1024 65000']);
  const results: BenchResult[] = [];
  try {
    // Short alternating rounds and medians: what else runs on the machine
    // shifts both sides alike instead of whichever ran during a busy spell.
    const seconds = opts.quick ? 2 : 3;
    const rounds = opts.quick ? 2 : 5;
    bg(net, net.server, 'iperf3', ['-s', '-p', '5201'], kill);
    const http = bg(net, net.server, CONN_RATE, ['http', '8080'], kill);
    await new Promise((r) => http.stdout!.once('data', r));
    await sleep(300);

    const base = { bps: [] as number[], p99: [] as number[] };
    const withPf = { bps: [] as number[], p99: [] as number[], rows: 0, bpfNsPerMB: [] as number[], bpfPct: [] as number[] };
    const stats = '/proc/sys/kernel/bpf_stats_enabled';
    const statsBefore = readFileSync(stats, 'utf8').trim();
    writeFileSync(stats, '1');
    cleanups.push(() => writeFileSync(stats, statsBefore));
    for (let i = 0; i < rounds; i++) {
      base.bps.push(await iperf(net, seconds));
      base.p99.push(await wrkP99(net, seconds));
      const r = await withReceiver(async (rcv) => {
        // The datapath's own cost, independent of what else loads the machine:
        // the run time of its programs per byte moved.
        const ns0 = bpfRunTimeNs(rcv);
        const t0 = process.hrtime.bigint();
        const b = await iperf(net, seconds);
        const wall = Number(process.hrtime.bigint() - t0) / 1e9;
        const ns = bpfRunTimeNs(rcv) - ns0;
        withPf.bpfNsPerMB.push(ns / ((b / 8) * seconds / 1e6));
        withPf.bpfPct.push((ns / 1e9 / wall) * 100);
        return { bps: b, p99: await wrkP99(net, seconds) };
      });
      withPf.bps.push(r.result.bps);
      withPf.p99.push(r.result.p99);
      withPf.rows += r.rows;
    }
    const median = (a: number[]) => {
      const s = [...a].sort((x, y) => x - y);
      const m = s.length >> 1;
      return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
    };
    const bps = median(withPf.bps);
    const bpsBase = median(base.bps);
    results.push({ name: 'datapath.iperf3_throughput', value: bps / 1e9, unit: 'Gbit/s', baseline: bpsBase / 1e9, ratio: bps / bpsBase,
      extra: { rounds, seconds_each: seconds, statistic: 'median', rows_reported: withPf.rows,
        bpf_ns_per_MB: Math.round(median(withPf.bpfNsPerMB)), bpf_programs_pct_of_core: Number(median(withPf.bpfPct).toFixed(3)),
        all_with: withPf.bps.map((b) => (b / 1e9).toFixed(2)).join(' '), all_without: base.bps.map((b) => (b / 1e9).toFixed(2)).join(' ') } });
    const p99 = median(withPf.p99);
    const p99Base = median(base.p99);
    results.push({ name: 'datapath.wrk_p99_latency', value: p99, unit: 'ms', baseline: p99Base, ratio: p99 / p99Base,
      extra: { added_ms: Number((p99 - p99Base).toFixed(3)), connections: 4, statistic: 'median',
        all_with: withPf.p99.join(' '), all_without: base.p99.join(' ') } });

    for (const rate of [1000, 10_000]) {
      const r = await connRate(net, rate, opts.quick ? 2 : 5, kill);
      results.push({
        name: `datapath.cpu_at_${rate}_conn_per_s`, value: r.userPct, unit: '% of a core (podflow process)',
        baseline: r.genPct, ratio: r.userPct / r.genPct,
        extra: { bpf_programs_pct_of_core: Number(r.bpfPct.toFixed(3)), achieved_conn_per_s: Math.round(r.achieved), failed: r.failed,
          baseline_is: 'CPU of the load generator (client + server processes)' },
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
