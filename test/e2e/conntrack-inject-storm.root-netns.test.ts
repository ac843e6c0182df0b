// Needs root: a network namespace and conntrack over netlink.
// The event storm at its rate: tens of thousands of conntrack events per
// second (entries created and deleted over ctnetlink by bench/tools/ct-inject.c,
// which real connections cannot reach on a small machine) against the smallest
// socket buffer. The receiver loses events, counts every overflow, resyncs with
// dumps and stays up; afterwards its table is exactly the kernel's (every entry
// still alive, none extra), and each connection it opened is either still in
// that table or closed (by its DESTROY event or a resync dump's sweep).

import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { ConntrackReceiver } from '../../src/receiver/conntrack/conntrack-receiver.ts';
import { conntrackConfigSchema } from '../../src/receiver/conntrack/config.ts';
import { readFlow } from '../../src/pdata/flow-record.ts';
import { SelfTelemetry } from '../../src/service/telemetry/self-telemetry.ts';
import { CollectingConsumer } from '../support/collecting-consumer.ts';
import { testSettings } from '../support/test-settings.ts';
import { conntrackList } from './support/conntrack-netns.ts';
import { injectBinary } from './support/conntrack-inject.ts';

const NS = 'pf-ct-injs';

t.test('injected storm, 8 KiB buffer: losses counted and resynced, the table ends as the kernel\'s', async (t) => {
  const inject = injectBinary();
  const del = () => { try { execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' }); } catch { /* absent */ } };
  del();
  execFileSync('ip', ['netns', 'add', NS]);
  t.teardown(del);
  const telemetry = new SelfTelemetry();
  const sink = new CollectingConsumer();
  const config = conntrackConfigSchema.decodeOrDefault(
    { netns: `/var/run/netns/${NS}`, collection_interval: '500ms', dump_interval: '1h', socket_buffer_size: 4096 }, [], [],
  )!;
  const receiver = new ConntrackReceiver(testSettings('conntrack/inject', { telemetry }), config, sink);
  await receiver.start();
  t.teardown(() => receiver.shutdown());

  // 2 s flat out; each entry lives 64 chunks of 64 (4096 alive at a time), and
  // those still alive at the end stay for the comparison.
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('ip', ['netns', 'exec', NS, inject, '0', '2', '64', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let s = '';
    p.stdout.on('data', (d: Buffer) => { s += d.toString(); });
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`ct-inject exited with ${code}`))));
  });
  const r = JSON.parse(out) as { created: number; deleted: number; errors: number; seconds: number };
  t.comment(`injected ${r.created + r.deleted} events in ${r.seconds}s (${Math.round((r.created + r.deleted) / r.seconds)}/s)`);
  t.equal(r.errors, 0, 'the kernel took every create and delete');
  t.ok(r.created >= 3 * 4096, `a storm: ${r.created} entries created, most deleted again`);

  await new Promise((res) => setTimeout(res, 500));
  await receiver.sync();
  const lost = telemetry.counter('podflow_conntrack_lost_total', '').get();
  const resyncs = telemetry.counter('podflow_conntrack_resyncs_total', '').get();
  t.ok(lost > 0, `overflows counted (${lost})`);
  t.ok(resyncs > 0, `resync dumps ran (${resyncs})`);

  const kernel = conntrackList(NS);
  t.equal(kernel.length, r.created - r.deleted, 'the kernel holds the entries left alive');
  const mine = new Set<number>();
  for (const c of receiver.table.connections()) mine.add(c.tuples.origSport);
  t.equal(receiver.table.size, kernel.length, `podflow's table holds as many (${receiver.table.size})`);
  t.equal(kernel.filter((e) => !mine.has(e.origSport)).length, 0, 'and each of them');

  const rows = sink.batches.flatMap((b) => Array.from({ length: b.length }, (_, i) => readFlow(b, i)));
  const sum = (k: 'opened' | 'closed' | 'failed') => rows.reduce((a, x) => a + (x.counters?.[k] ?? 0), 0);
  t.comment(`opened=${sum('opened')} closed=${sum('closed')} swept=${telemetry.counter('podflow_conntrack_swept_total', '').get()} ` +
    `events new=${telemetry.counter('podflow_conntrack_events_total', '').get({ type: 'new' })} ` +
    `destroy=${telemetry.counter('podflow_conntrack_events_total', '').get({ type: 'destroy' })}`);
  t.ok(sum('opened') >= kernel.length && sum('opened') <= r.created, 'opened: at least the entries alive, at most those created');
  t.equal(sum('opened') - sum('closed') - sum('failed'), kernel.length, 'every connection opened and not alive was closed once');
  t.equal(telemetry.counter('podflow_conntrack_parse_errors_total', '').get(), 0);
});
