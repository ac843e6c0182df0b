// conntrack event throughput (needs root): the conntrack receiver (native
// session + connection table + NAT join) and `conntrack -E` (conntrack-tools,
// its default buffer) listen side by side to the same storms in a router
// namespace that DNATs a VIP to two backends:
//   - a TCP storm: short connections through the VIP (≈5 events each);
//   - a UDP flood: one datagram per new (source port, destination port) pair,
//     i.e. one NEW event per datagram, as fast as one core can send;
//   - injected storms: bench/tools/ct-inject.c creates and deletes entries over
//     ctnetlink (one NEW + one DESTROY each, no traffic), at a fixed rate above
//     the 50k events/s goal and then as fast as it can. Real connections
//     cannot reach that rate on a 2-core machine; the injector can.
// value = events/s podflow received, baseline = events/s `conntrack -E` printed
// (a fresh one per phase, its own count when it exits); extra carries the losses
// each side had and whether podflow's resyncs brought the table back to the
// kernel's entry count. For injected storms value counts the time podflow took
// to catch up after the injector stopped (catch_up_ms), so a backlog held in the
// socket buffer never inflates it, and extra says how many events were generated.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { FlowConsumer } from '../src/consumer/consumer.ts';
import type { FlowBatch } from '../src/pdata/flow-batch.ts';
import { conntrackConfigSchema } from '../src/receiver/conntrack/config.ts';
import { ConntrackReceiver } from '../src/receiver/conntrack/conntrack-receiver.ts';
import type { NativeStats } from '../src/native/conntrack-addon.ts';
import { SelfTelemetry } from '../src/service/telemetry/self-telemetry.ts';
import { silentLogger } from '../src/service/logger.ts';
import { createServiceNet, sh, VIP } from '../test/e2e/support/conntrack-netns.ts';
import { ConnectionTable } from '../src/receiver/conntrack/connection-table.ts';
import { NatIndex } from '../src/nat/nat-index.ts';
import { REC_DESTROY, REC_NEW, REC_UPDATE, RECORD_SIZE, RecordView } from '../src/native/conntrack-record.ts';
import { stormBinary } from '../test/e2e/support/conntrack-storm.ts';

interface BenchResult { name: string; value: number; unit: string; baseline: number; ratio: number; extra?: Record<string, number | string> }

class CountingConsumer implements FlowConsumer {
  readonly mutatesData = false;
  rows = 0;
  readonly sums = { opened: 0, closed: 0 };
  async consume(b: FlowBatch): Promise<void> {
    this.rows += b.length;
    for (let i = 0; i < b.length; i++) {
      this.sums.opened += b.counters.opened[i]!;
      this.sums.closed += b.counters.closed[i]!;
    }
  }
}

const events = (s: NativeStats) => s.new + s.update + s.destroy;
const heapAfterGc = () => {
  (globalThis as { gc?: () => void }).gc?.(); // the harness runs benchmarks with --expose-gc
  return Math.round(process.memoryUsage().heapUsed / (1 << 20));
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What the JS side alone sustains: synthetic 4096-record batches (NEW, UPDATE,
 * DESTROY of DNAT-ed connections) through the connection table and the NAT
 * index (fed when another receiver looks up in it; the phases below run the
 * conntrack receiver alone, so without it), records per second. Tells how far
 * the kernel-driven figures are from podflow's own ceiling.
 */
export function jsCapacity(conns: number): number {
  const batches: RecordView[] = [];
  const per = 4096;
  const third = Math.floor(per / 3);
  for (let start = 0; start < conns; start += third) {
    const buf = new ArrayBuffer(per * RECORD_SIZE);
    const u8 = new Uint8Array(buf);
    const dv = new DataView(buf);
    let i = 0;
    for (const type of [REC_NEW, REC_UPDATE, REC_DESTROY]) {
      for (let k = 0; k < third && i < per; k++, i++) {
        const b = i * RECORD_SIZE;
        const c = start + k;
        u8[b] = type; u8[b + 1] = 4; u8[b + 2] = 6; u8[b + 3] = type === REC_DESTROY ? 7 : 3;
        dv.setUint32(b + 4, 4, true);
        dv.setUint32(b + 12, c, true);
        dv.setUint16(b + 18, 0x47, true); // counters, status, tcp state, id, reply
        dv.setUint16(b + 20, 1024 + (c % 60000), true); dv.setUint16(b + 22, 80, true);
        dv.setUint16(b + 24, 8080, true); dv.setUint16(b + 26, 1024 + (c % 60000), true);
        for (const off of [32, 48, 64, 80]) { u8[b + off + 10] = 0xff; u8[b + off + 11] = 0xff; u8[b + off + 12] = 10; }
        u8[b + 32 + 15] = 2; u8[b + 48 + 13] = 96; u8[b + 48 + 15] = 10; u8[b + 64 + 15] = 18 + (c & 1); u8[b + 80 + 15] = 2;
        u8[b + 32 + 14] = c >> 16 & 0xff;
        if (type === REC_DESTROY) { dv.setFloat64(b + 96, 6, true); dv.setFloat64(b + 104, 400, true); dv.setFloat64(b + 112, 5, true); dv.setFloat64(b + 120, 900, true); }
      }
    }
    batches.push(new RecordView(buf));
  }
  const table = new ConnectionTable({ tombstoneTtlMs: 60_000 });
  const nat = new NatIndex();
  table.dumpBegin(1); table.dumpEnd(1, false);
  const t0 = performance.now();
  let n = 0;
  for (const v of batches) {
    table.applyEvents(v);
    nat.applyRecords(v);
    n += v.count;
  }
  for (const c of table.drain()) ConnectionTable.reset(c);
  return n / ((performance.now() - t0) / 1000);
}

/** A `conntrack -E` of its own for one phase; stop() ends it and returns what it printed and lost. */
function conntrackE(ns: string, dir: string, tag: string): { stop(): Promise<{ events: number; enobufs: number }> } {
  // Output to a file, not a pipe into this process, so our event loop never slows it down.
  const outFd = openSync(join(dir, `${tag}.txt`), 'w');
  const ce = spawn('ip', ['netns', 'exec', ns, 'conntrack', '-E'], { stdio: ['ignore', outFd, 'pipe'] });
  closeSync(outFd);
  let enobufs = 0;
  let shown = -1;
  createInterface({ input: ce.stderr! }).on('line', (l) => {
    if (/ENOBUFS/.test(l)) enobufs++;
    // On SIGTERM it flushes stdout and reports its own count.
    const m = /(\d+) flow events have been shown/.exec(l);
    if (m) shown = Number(m[1]);
  });
  const exited = new Promise<void>((r) => ce.once('exit', () => r()));
  return {
    async stop() {
      ce.kill('SIGTERM');
      await Promise.race([exited, sleep(3000)]);
      if (ce.exitCode === null && ce.signalCode === null) ce.kill('SIGKILL');
      let lines = 0;
      for (const c of readFileSync(join(dir, `${tag}.txt`))) if (c === 10) lines++;
      return { events: shown >= 0 ? shown : lines, enobufs };
    },
  };
}

const INJECT = join(import.meta.dirname, 'tools/build/ct-inject');

export default async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  if (!existsSync(INJECT)) throw new Error(`${INJECT} is missing: run "bash scripts/setup.d/30-conntrack.sh"`);
  const jsRecordsPerS = Math.round(jsCapacity(opts.quick ? 100_000 : 400_000));
  const cleanups: Array<() => void> = [];
  try {
    const storm = stormBinary();
    const net = createServiceNet({ teardown: (fn) => cleanups.push(fn) }, 'bnch', 30);
    net.run(net.client, 'sysctl', ['-qw', 'net.ipv4.ip_local_port_range=1024 65000']);
    for (const b of net.backends) net.run(b, 'iptables', ['-A', 'INPUT', '-p', 'udp', '-j', 'DROP']);
    const telemetry = new SelfTelemetry();
    const config = conntrackConfigSchema.decodeOrDefault({ netns: net.routerNetns, collection_interval: '1s' }, [], [])!;
    const consumer = new CountingConsumer();
    const receiver = new ConntrackReceiver({
      id: 'conntrack', signal: 'metrics', logger: silentLogger, telemetry,
      resource: { hostName: 'bench', nodeName: undefined, serviceVersion: 'bench' }, host: { status: 'ready' },
    }, config, consumer);
    await receiver.start();
    cleanups.push(() => void receiver.shutdown());
    const dir = mkdtempSync(join(tmpdir(), 'pf-ct-bench-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

    for (const b of net.backends) {
      const s = net.spawnCmd(b, storm, ['server', '8080']);
      await s.next();
    }

    const kernelEntries = () => Number(sh('ip', ['netns', 'exec', net.router, 'conntrack', '-C']).trim());
    let phaseNo = 0;
    const phase = async (name: string, args: string[], ns: string): Promise<BenchResult> => {
      const p0 = receiver.nativeStats()!;
      const ce = conntrackE(net.router, dir, `phase${++phaseNo}`);
      await sleep(300);
      const proc = net.spawnCmd(ns, storm, args);
      const out = await proc.next() as { seconds: number; connections?: number; datagrams?: number };
      await sleep(1500); // both listeners drain their sockets
      const ceRes = await ce.stop();
      await receiver.sync();
      const p1 = receiver.nativeStats()!;
      const secs = out.seconds;
      const pf = events(p1) - events(p0);
      const value = pf / secs;
      const baseline = ceRes.events / secs;
      return {
        name, value: Math.round(value), unit: 'events/s', baseline: Math.round(baseline), ratio: baseline > 0 ? value / baseline : 0,
        extra: {
          seconds: secs,
          generated: out.connections ?? out.datagrams ?? 0,
          podflow_events: pf,
          podflow_lost_overflows: p1.lost - p0.lost,
          podflow_resyncs: p1.resyncs - p0.resyncs,
          conntrack_E_events: ceRes.events,
          conntrack_E_enobufs: ceRes.enobufs,
          kernel_entries_after: kernelEntries(),
          podflow_table_after: receiver.table.size,
        },
      };
    };

    // Injected storm: every entry is one NEW and one DESTROY, so the events due
    // are exactly created + deleted, and podflow's TCP opened/closed counts must
    // equal `created` when nothing was lost.
    const inject = async (name: string, rate: number, seconds: number): Promise<BenchResult> => {
      // An empty table first, so no entry of an earlier phase times out (a
      // DESTROY event nobody injected) while this one runs.
      sh('ip', ['netns', 'exec', net.router, 'conntrack', '-F'], { ignoreError: true });
      await sleep(500);
      await receiver.sync();
      const p0 = receiver.nativeStats()!;
      const rows0 = { ...consumer.sums };
      const ce = conntrackE(net.router, dir, `phase${++phaseNo}`);
      await sleep(300);
      const cpu0 = process.cpuUsage();
      const proc = net.spawnCmd(net.router, INJECT, [String(rate), String(seconds)]);
      const out = await proc.next() as { created: number; deleted: number; errors: number; seconds: number };
      const due = out.created + out.deleted;
      const tEnd = performance.now();
      // Caught up: every due event received, or the loss counted and a resync done.
      for (;;) {
        const s = receiver.nativeStats()!;
        if (events(s) - events(p0) >= due || (s.lost > p0.lost && s.resyncs > p0.resyncs)) break;
        if (performance.now() - tEnd > 10_000) break;
        await sleep(5);
      }
      await receiver.sync();
      const catchUpMs = performance.now() - tEnd;
      const cpu = process.cpuUsage(cpu0);
      await sleep(500);
      const ceRes = await ce.stop();
      const p1 = receiver.nativeStats()!;
      const pf = events(p1) - events(p0);
      const value = pf / (out.seconds + catchUpMs / 1000);
      const baseline = ceRes.events / out.seconds;
      return {
        name, value: Math.round(value), unit: 'events/s', baseline: Math.round(baseline), ratio: baseline > 0 ? value / baseline : 0,
        extra: {
          seconds: out.seconds,
          generated_events: due,
          generated_events_per_s: Math.round(due / out.seconds),
          injector_errors: out.errors,
          catch_up_ms: Math.round(catchUpMs),
          podflow_events: pf,
          podflow_lost_events: due - pf,
          podflow_lost_overflows: p1.lost - p0.lost,
          podflow_resyncs: p1.resyncs - p0.resyncs,
          podflow_opened: consumer.sums.opened - rows0.opened,
          podflow_closed: consumer.sums.closed - rows0.closed,
          // All threads of the process (JS and the native session), user + system, per event received.
          podflow_cpu_us_per_event: Math.round((cpu.user + cpu.system) / pf * 100) / 100,
          podflow_rcvbuf_bytes: p1.rcvbuf,
          // The whole bench process after a full GC: what the receiver retains is in
          // the heap figure; RSS also holds what V8 keeps from earlier phases.
          process_heap_used_mib: heapAfterGc(),
          process_rss_mib: Math.round(process.memoryUsage().rss / (1 << 20)),
          conntrack_E_events: ceRes.events,
          conntrack_E_enobufs: ceRes.enobufs,
          kernel_entries_after: kernelEntries(),
          podflow_table_after: receiver.table.size,
        },
      };
    };

    const results: BenchResult[] = [];
    results.push(await phase('conntrack events, TCP connection storm via VIP', ['client', VIP, '80', opts.quick ? '2' : '5', '256'], net.client));
    results.push(await phase('conntrack events, UDP new-flow flood', ['udp', net.backendAddrs[0]!, opts.quick ? '1' : '2', opts.quick ? '60000' : '150000'], net.client));
    results.push(await inject('conntrack events, injected storm, 60k events/s target', 60_000, opts.quick ? 2 : 5));
    results.push(await inject('conntrack events, injected storm, injector flat out', 0, opts.quick ? 2 : 5));
    for (const r of results) r.extra!.js_side_capacity_records_per_s = jsRecordsPerS;
    return results;
  } finally {
    for (const c of cleanups) c();
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const quick = process.argv.includes('--quick');
  for (const r of await run({ quick })) process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}
