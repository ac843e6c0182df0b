// conntrack event throughput (needs root): the conntrack receiver (native
// session + connection table + NAT join) and `conntrack -E` (conntrack-tools,
// its default buffer) listen side by side to the same storms in a router
// namespace that DNATs a VIP to two backends:
//   - a TCP storm: short connections through the VIP (≈5 events each);
//   - a UDP flood: one datagram per new (source port, destination port) pair,
//     i.e. one NEW event per datagram, as fast as one core can send.
// value = events/s podflow received, baseline = events/s `conntrack -E` printed,
// over the same window; extra carries the losses each side had and whether
// podflow's resyncs brought the table back to the kernel's entry count.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { FlowConsumer } from '../src/consumer/consumer.ts';
import type { FlowBatch } from '../src/pdata/flow-batch.ts';
import { conntrackConfigSchema } from '../src/receiver/conntrack/config.ts';
import { ConntrackReceiver } from '../src/receiver/conntrack/conntrack-receiver.ts';
import type { NativeStats } from '../src/native/conntrack-addon.ts';
import { SelfTelemetry } from '../src/service/telemetry/self-telemetry.ts';
import { silentLogger } from '../src/service/logger.ts';
import { createServiceNet, sh, VIP } from '../test/e2e/support/conntrack-netns.ts';
import { stormBinary } from '../test/e2e/support/conntrack-storm.ts';

interface BenchResult { name: string; value: number; unit: string; baseline: number; ratio: number; extra?: Record<string, number | string> }

class CountingConsumer implements FlowConsumer {
  readonly mutatesData = false;
  rows = 0;
  async consume(b: FlowBatch): Promise<void> {
    this.rows += b.length;
  }
}

const events = (s: NativeStats) => s.new + s.update + s.destroy;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export default async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const cleanups: Array<() => void> = [];
  try {
    const storm = stormBinary();
    const net = createServiceNet({ teardown: (fn) => cleanups.push(fn) }, 'bnch', 30);
    net.run(net.client, 'sysctl', ['-qw', 'net.ipv4.ip_local_port_range=1024 65000']);
    for (const b of net.backends) net.run(b, 'iptables', ['-A', 'INPUT', '-p', 'udp', '-j', 'DROP']);
    const telemetry = new SelfTelemetry();
    const config = conntrackConfigSchema.decodeOrDefault({ netns: net.routerNetns, collection_interval: '1s' }, [], [])!;
    const receiver = new ConntrackReceiver({
      id: 'conntrack', signal: 'metrics', logger: silentLogger, telemetry,
      resource: { hostName: 'bench', nodeName: undefined, serviceVersion: 'bench' }, host: { status: 'ready' },
    }, config, new CountingConsumer());
    await receiver.start();
    cleanups.push(() => void receiver.shutdown());

    // conntrack -E in the same namespace; lines = events, stderr ENOBUFS warnings = its losses.
    const ce = spawn('ip', ['netns', 'exec', net.router, 'conntrack', '-E'], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.unshift(() => { ce.kill('SIGKILL'); });
    let ceLines = 0;
    let ceEnobufs = 0;
    ce.stdout.on('data', (d: Buffer) => { for (const c of d) if (c === 10) ceLines++; });
    createInterface({ input: ce.stderr }).on('line', (l) => { if (/ENOBUFS/.test(l)) ceEnobufs++; });
    await sleep(500);

    for (const b of net.backends) {
      const s = net.spawnCmd(b, storm, ['server', '8080']);
      await s.next();
    }

    const phase = async (name: string, args: string[], ns: string): Promise<BenchResult> => {
      const p0 = receiver.nativeStats()!;
      const c0 = ceLines, e0 = ceEnobufs;
      const proc = net.spawnCmd(ns, storm, args);
      const out = await proc.next() as { seconds: number; connections?: number; datagrams?: number };
      await sleep(1500); // both listeners drain their sockets
      await receiver.sync();
      const p1 = receiver.nativeStats()!;
      const secs = out.seconds;
      const pf = events(p1) - events(p0);
      const ceN = ceLines - c0;
      const kernelEntries = Number(sh('ip', ['netns', 'exec', net.router, 'conntrack', '-C']).trim());
      const value = pf / secs;
      const baseline = ceN / secs;
      return {
        name, value: Math.round(value), unit: 'events/s', baseline: Math.round(baseline), ratio: baseline > 0 ? value / baseline : 0,
        extra: {
          seconds: secs,
          generated: out.connections ?? out.datagrams ?? 0,
          podflow_events: pf,
          podflow_lost_overflows: p1.lost - p0.lost,
          podflow_resyncs: p1.resyncs - p0.resyncs,
          conntrack_E_events: ceN,
          conntrack_E_enobufs: ceEnobufs - e0,
          kernel_entries_after: kernelEntries,
          podflow_table_after: receiver.table.size,
        },
      };
    };

    const results: BenchResult[] = [];
    results.push(await phase('conntrack events, TCP connection storm via VIP', ['client', VIP, '80', opts.quick ? '2' : '5', '256'], net.client));
    results.push(await phase('conntrack events, UDP new-flow flood', ['udp', net.backendAddrs[0]!, opts.quick ? '1' : '2', opts.quick ? '60000' : '150000'], net.client));
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
