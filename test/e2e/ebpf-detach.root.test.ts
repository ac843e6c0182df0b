// Needs root. Nothing podflow attaches outlives it: programs attached to a
// cgroup disappear when the process exits without shutting down, crashes, or
// is killed with SIGKILL (bpf links, never pinned); and after shutdown().

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmdirSync } from 'node:fs';
import t, { type Test } from 'tap';
import { defaultsOf } from '../../src/config/schema.ts';
import { ebpfConfigSchema } from '../../src/receiver/ebpf/config.ts';
import { EbpfReceiver } from '../../src/receiver/ebpf/ebpf-receiver.ts';
import { resolveCgroupPath } from '../../src/receiver/ebpf/environment.ts';
import { CollectingConsumer } from '../support/collecting-consumer.ts';
import { testSettings } from '../support/test-settings.ts';
import { NODE } from './support/ebpf-netns.ts';

// A cgroup of our own, so the attachments seen are this test's alone.
const cgroup = `${resolveCgroupPath('')}/pf-ebpf-detach`;
mkdirSync(cgroup, { recursive: true });
t.teardown(() => rmdirSync(cgroup));

function attached(): string[] {
  const out = execFileSync('bpftool', ['cgroup', 'show', cgroup, '-j'], { encoding: 'utf8' });
  return (JSON.parse(out.trim() || '[]') as Array<{ name: string }>).map((p) => p.name).sort();
}

// With the DNS capture, on by default (dns::enabled), which attaches two cgroup_skb programs of its own.
const OURS = ['pf_dns_egress', 'pf_dns_ingress', 'pf_sockops', 'pf_udp_egress', 'pf_udp_ingress'];

async function child(t: Test, how: string): Promise<void> {
  const p = spawn(NODE, [new URL('./support/ebpf-child.ts', import.meta.url).pathname, cgroup, how], { stdio: ['pipe', 'pipe', 'ignore'] });
  t.teardown(() => { p.kill('SIGKILL'); });
  await new Promise<void>((res, rej) => {
    p.stdout.on('data', (d: Buffer) => { if (d.toString().includes('attached')) res(); });
    p.on('exit', (c) => rej(new Error(`child exited (${c}) before attaching`)));
  });
  t.same(attached(), OURS, `${how}: attached while running`);
  if (how === 'wait') p.kill('SIGKILL');
  else p.stdin.write('go\n');
  await new Promise((res) => (p.exitCode !== null || p.signalCode !== null ? res(undefined) : p.on('exit', res)));
  // The kernel releases links when the last fd closes, right after the process is gone.
  for (let i = 0; i < 50 && attached().length; i++) await new Promise((r) => setTimeout(r, 50));
  t.same(attached(), [], `${how}: nothing left attached`);
}

t.test('process.exit without shutdown', (t) => child(t, 'exit'));
t.test('uncaught exception', (t) => child(t, 'throw'));
t.test('SIGKILL', (t) => child(t, 'wait'));

t.test('shutdown detaches, and is idempotent', async (t) => {
  const r = new EbpfReceiver(testSettings('ebpf'), { ...defaultsOf(ebpfConfigSchema), cgroup_path: cgroup }, new CollectingConsumer());
  await r.start();
  t.same(attached(), OURS);
  await r.shutdown();
  await r.shutdown();
  t.same(attached(), []);
});
