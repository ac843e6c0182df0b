// DropFeature's bookkeeping around the addon (replaced by a fake map here):
// excluded reasons resolved to the kernel's values (unknown names warned
// about, not fatal), LRU evictions and failed inserts counted in
// podflow_ebpf_map_full_total{map="pf_drops"}, drops without endpoints in
// podflow_ebpf_drops_unattributed_total{reason}, and close() detaching before
// its last read.

import t from 'tap';
import type { Drops, DropsOptions } from '../../../../src/native/ebpf-drops.ts';
import { FlowBatch, PROTO_TCP } from '../../../../src/pdata/flow-batch.ts';
import type { Logger } from '../../../../src/service/logger.ts';
import { SelfTelemetry } from '../../../../src/service/telemetry/self-telemetry.ts';
import { DropFeature } from '../../../../src/receiver/ebpf/drops/drop-feature.ts';
import { defaultsOf } from '../../../../src/config/schema.ts';
import { dropsConfigSchema } from '../../../../src/receiver/ebpf/drops/config.ts';
import { testSettings } from '../../../support/test-settings.ts';
import { dropEntries, KERNEL_REASONS, type DropEntry } from './drop-entries.ts';

class FakeDrops implements Drops {
  entries: DropEntry[] = [];
  stats = [0, 0, 0];
  unattributed: Array<{ reason: number; packets: number }> = [];
  calls: string[] = [];
  /** Drained by every read, as the datapath's swap does. */
  readDrops() { this.calls.push('read'); const out = dropEntries(...this.entries); this.entries = []; return out; }
  readUnattributed() { return this.unattributed; }
  readStats() { return this.stats; }
  readProgStats() { return { name: 'pf_kfree_skb', runTimeNs: 0, runCount: 0 }; }
  detach() { this.calls.push('detach'); }
  close() { this.calls.push('close'); }
}

function logger(lines: string[]): Logger {
  const log = (level: string) => (m: string, f?: Record<string, unknown>) => lines.push(`${level} ${m} ${JSON.stringify(f ?? {})}`);
  const l: Logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'), child: () => l };
  return l;
}

function setup(exclude: string[] = []) {
  const telemetry = new SelfTelemetry();
  const fake = new FakeDrops();
  const opened: DropsOptions[] = [];
  const lines: string[] = [];
  const f = new DropFeature(testSettings('ebpf', { telemetry }), { ...defaultsOf(dropsConfigSchema), exclude_reasons: exclude }, {
    includeLoopback: false,
    open: (o) => { opened.push(o); return fake; },
    kernelReasons: () => KERNEL_REASONS,
  });
  f.open({ cgroupPath: '/sys/fs/cgroup', logger: logger(lines) });
  const counter = (name: string, labels: Record<string, string>) => telemetry.counter(name, '').get(labels);
  return { f, fake, opened, lines, counter };
}

const e = (sport: number, packets: number): DropEntry => ({
  src: '10.1.0.2', dst: '10.1.0.1', sport, dport: 80, protocol: PROTO_TCP, reason: 12, packets, bytes: packets * 60,
});

t.test('excluded reasons become the kernel\'s values; unknown names are a warning', async (t) => {
  const { opened, lines } = setup(['not_specified', 'reason_77', 'unknown', 'no_such_reason']);
  t.same(opened[0]?.exclude, [2, 77, 0xffffffff]);
  t.equal(opened[0]?.mapSize, 16_384);
  const warn = lines.find((l) => l.startsWith('warn'));
  t.match(warn, /receivers::ebpf::drops::exclude_reasons: this kernel has no drop reason "no_such_reason"/);
  t.match(warn, /valid: not_dropped_yet, consumed, not_specified, no_socket, tcp_csum, netfilter_drop, queue_purge/);
});

t.test('evictions and failed inserts are counted as map_full', async (t) => {
  const { f, fake, counter } = setup();
  fake.entries = [e(1000, 1), e(1001, 2)];
  fake.stats = [2, 0, 0];
  let b = new FlowBatch();
  f.collect(b, 0);
  t.equal(b.length, 2);
  t.equal(counter('podflow_ebpf_map_full_total', { map: 'pf_drops' }), 0);
  // Five more created in the next interval, two of them evicted before the read, one insert failed.
  fake.entries = [e(1000, 1), e(1002, 1), e(1003, 1)];
  fake.stats = [7, 1, 0];
  b = new FlowBatch();
  f.collect(b, 1000);
  t.equal(b.length, 3, 'what the map still held');
  t.equal(counter('podflow_ebpf_map_full_total', { map: 'pf_drops' }), (7 - 5) + 1, 'created - read, plus the failed insert');
  // Entries created between the stats read and the swap: read before they are counted as created.
  fake.entries = [e(1006, 1), e(1007, 1)];
  fake.stats = [8, 1, 0];
  f.collect(new FlowBatch(), 2000);
  t.equal(counter('podflow_ebpf_map_full_total', { map: 'pf_drops' }), 3, 'never counted down, never counted twice');
  fake.entries = [];
  fake.stats = [9, 1, 0];
  f.collect(new FlowBatch(), 3000);
  t.equal(counter('podflow_ebpf_map_full_total', { map: 'pf_drops' }), 3, 'the late one caught up: still the two evictions and the failure');
});

t.test('drops without endpoints count per reason', async (t) => {
  const { f, fake, counter } = setup();
  fake.unattributed = [{ reason: 2, packets: 5 }, { reason: 0xffffffff, packets: 1 }];
  fake.stats = [0, 0, 2];
  f.collect(new FlowBatch(), 0);
  fake.unattributed = [{ reason: 2, packets: 8 }, { reason: 0xffffffff, packets: 1 }, { reason: 300, packets: 4 }];
  f.collect(new FlowBatch(), 1000);
  t.equal(counter('podflow_ebpf_drops_unattributed_total', { reason: 'not_specified' }), 8);
  t.equal(counter('podflow_ebpf_drops_unattributed_total', { reason: 'unknown' }), 1);
  t.equal(counter('podflow_ebpf_drops_unattributed_total', { reason: 'reason_300' }), 4);
  t.equal(counter('podflow_ebpf_map_full_total', { map: 'pf_drops_unattributed' }), 2);
});

t.test('close detaches, reads the rest once, then frees; idempotent', async (t) => {
  const { f, fake } = setup();
  fake.entries = [e(1000, 1)];
  f.collect(new FlowBatch(), 0);
  fake.entries = [e(1000, 3)];
  fake.calls = [];
  const b = new FlowBatch();
  f.close(b, 500);
  t.same(fake.calls, ['detach', 'read', 'close']);
  t.equal(b.counters.drops[0], 3, 'what arrived since the last collection');
  f.close(new FlowBatch(), 600);
  f.collect(new FlowBatch(), 700);
  t.same(fake.calls, ['detach', 'read', 'close'], 'nothing after close');
});
