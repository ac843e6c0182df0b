// Needs root (loads BPF). The start-up probe of optional features: tp_btf is
// tried with a real load and attach (it works on this CI kernel), fentry with a
// real program load (on this CI kernel it fails with EPERM), kprobe support is
// read from sysfs/tracefs; the receiver reports them in one info line and
// podflow_ebpf_feature_available, uses tp_btf for the receive-side refresh
// when found, and runs either way.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { defaultsOf } from '../../src/config/schema.ts';
import { ebpfConfigSchema } from '../../src/receiver/ebpf/config.ts';
import type { DatapathFeature } from '../../src/receiver/ebpf/datapath-feature.ts';
import { EbpfReceiver } from '../../src/receiver/ebpf/ebpf-receiver.ts';
import { probeFeatures } from '../../src/receiver/ebpf/feature-probe.ts';
import { createLogger } from '../../src/service/logger.ts';
import { SelfTelemetry } from '../../src/service/telemetry/self-telemetry.ts';
import { CollectingConsumer } from '../support/collecting-consumer.ts';
import { testSettings } from '../support/test-settings.ts';

t.test('kprobe: found from the kprobe PMU or tracefs, else a reason', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'pf-ebpf-feat-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const none = probeFeatures(root).kprobe;
  t.equal(none.available, false);
  t.match(none.reason, /CONFIG_KPROBES/);
  mkdirSync(join(root, 'sys/bus/event_source/devices/kprobe'), { recursive: true });
  writeFileSync(join(root, 'sys/bus/event_source/devices/kprobe/type'), '6\n');
  t.same(probeFeatures(root).kprobe, { available: true });
});

t.test('fentry: a real load; available, or the errno why not', async (t) => {
  const f = probeFeatures().fentry;
  if (f.available) t.equal(f.reason, undefined);
  else t.match(f.reason, /^loading an fentry program failed: E[A-Z]+$/);
  t.comment(JSON.stringify(probeFeatures()));
});

t.test('tp_btf: a real load and attach; available, or the errno why not', async (t) => {
  const f = probeFeatures().tp_btf;
  if (f.available) t.equal(f.reason, undefined);
  else t.match(f.reason, /^loading and attaching a tp_btf program on tcp_rcv_space_adjust failed: E[A-Z]+$/);
});

t.test('the receiver logs one line and sets the gauge, and runs without them', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const telemetry = new SelfTelemetry();
  const settings = { ...testSettings('ebpf', { telemetry }), logger: createLogger({ write: (l) => lines.push(JSON.parse(l)) }) };
  const r = new EbpfReceiver(settings, { ...defaultsOf(ebpfConfigSchema), nat: 'off' }, new CollectingConsumer());
  t.teardown(() => r.shutdown());
  await r.start();
  const expected = probeFeatures();
  const line = lines.filter((l) => l.msg === 'ebpf optional features (none required)');
  t.equal(line.length, 1, 'one info line');
  t.equal(line[0]?.level, 'info');
  for (const f of ['tp_btf', 'fentry', 'kprobe'] as const) {
    t.equal(telemetry.gauge('podflow_ebpf_feature_available', '').get({ feature: f }), expected[f].available ? 1 : 0, `gauge ${f}`);
    t.equal(line[0]?.[f], expected[f].available ? 'available' : `unavailable: ${expected[f].reason}`);
  }
  const names = r.programStats().map((p) => p.name);
  t.ok(names.includes('pf_sockops'), 'the datapath is loaded whatever was found');
  // Exactly one of the two receive-side refresh programs, the one the probe allows.
  t.same(names.filter((n) => n.startsWith('pf_tcp_rcv_space_adjust')),
    [expected.tp_btf.available ? 'pf_tcp_rcv_space_adjust_btf' : 'pf_tcp_rcv_space_adjust'], 'the receive-side refresh hook follows the tp_btf probe');
  const attached = lines.find((l) => l.msg === 'ebpf datapath attached');
  t.equal(attached?.receiveRefresh, expected.tp_btf.available ? 'tp_btf' : 'tracepoint', 'the info line says which refresh hook runs');
  await r.shutdown();
});

t.test('an optional datapath feature that cannot load is warned about; the flows go on', async (t) => {
  const lines: Array<Record<string, unknown>> = [];
  const telemetry = new SelfTelemetry();
  const settings = { ...testSettings('ebpf', { telemetry }), logger: createLogger({ write: (l) => lines.push(JSON.parse(l)) }) };
  const closed: string[] = [];
  const broken: DatapathFeature = {
    name: 'dns',
    open() { throw Object.assign(new Error('attach pf_dns_egress: Operation not permitted'), { step: 'attach_cgroup', errno: 1 }); },
    collect() {},
    close() { closed.push('dns'); },
  };
  let collected = 0;
  const fine: DatapathFeature = { name: 'drops', open() {}, collect() { collected++; }, close() { closed.push('drops'); } };
  const r = new EbpfReceiver(settings, { ...defaultsOf(ebpfConfigSchema), nat: 'off', collection_interval: 100 },
    new CollectingConsumer(), undefined, [broken, fine]);
  t.teardown(() => r.shutdown());
  await r.start();
  const warn = lines.find((l) => l.level === 'warn' && /receivers::ebpf::dns/.test(String(l.msg)));
  t.match(warn, { code: 'PODFLOW_EBPF_PRIVILEGE', msg: /needs CAP_NET_ADMIN.*running without it \(set dns::enabled: false to silence this\)/ });
  t.equal(telemetry.gauge('podflow_ebpf_datapath_feature_running', '').get({ feature: 'dns' }), 0);
  t.equal(telemetry.gauge('podflow_ebpf_datapath_feature_running', '').get({ feature: 'drops' }), 1);
  await new Promise((res) => setTimeout(res, 350));
  t.ok(collected >= 2, `the feature that loaded is collected (${collected} times)`);
  await r.shutdown();
  t.same(closed, ['drops'], 'only the open one is closed');
});
