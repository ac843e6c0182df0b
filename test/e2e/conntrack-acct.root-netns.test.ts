// Needs root: a network namespace. nf_conntrack_acct is per namespace: the
// receiver turns it on where it may (set_acct_sysctl), and when it must not it
// says clearly, in a warning with the fix, that flows will carry no bytes.
// The namespace has no interfaces besides lo and sends nothing.

import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { ConntrackReceiver } from '../../src/receiver/conntrack/conntrack-receiver.ts';
import { conntrackConfigSchema } from '../../src/receiver/conntrack/config.ts';
import { createLogger } from '../../src/service/logger.ts';
import { CollectingConsumer } from '../support/collecting-consumer.ts';
import { testSettings } from '../support/test-settings.ts';

const NS = 'pf-ct-acct';
const sh = (...a: string[]) => execFileSync(a[0]!, a.slice(1), { encoding: 'utf8' });
const del = () => {
  try { sh('ip', 'netns', 'del', NS); } catch { /* absent */ }
  rmSync(`/etc/netns/${NS}`, { recursive: true, force: true });
};

t.before(() => {
  del();
  sh('ip', 'netns', 'add', NS);
  mkdirSync(`/etc/netns/${NS}`, { recursive: true });
  writeFileSync(`/etc/netns/${NS}/resolv.conf`, 'nameserver 127.0.0.1\n');
});
t.teardown(del);

async function startWith(setAcct: boolean): Promise<string[]> {
  sh('ip', 'netns', 'exec', NS, 'sysctl', '-qw', 'net.netfilter.nf_conntrack_acct=0');
  const lines: string[] = [];
  const settings = { ...testSettings('conntrack'), logger: createLogger({ level: 'info', encoding: 'console', write: (l) => lines.push(l) }) };
  const cfg = conntrackConfigSchema.decodeOrDefault({ netns: `/var/run/netns/${NS}`, set_acct_sysctl: setAcct }, [], [])!;
  const r = new ConntrackReceiver(settings, cfg, new CollectingConsumer());
  await r.start();
  await r.shutdown();
  return lines;
}

t.test('turned on where podflow may', async (t) => {
  const lines = await startWith(true);
  t.equal(sh('ip', 'netns', 'exec', NS, 'sysctl', '-n', 'net.netfilter.nf_conntrack_acct').trim(), '1');
  t.ok(lines.some((l) => /info\tset net\.netfilter\.nf_conntrack_acct=1/.test(l)), 'and says so');
});

t.test('a clear warning when it stays off', async (t) => {
  const lines = await startWith(false);
  t.equal(sh('ip', 'netns', 'exec', NS, 'sysctl', '-n', 'net.netfilter.nf_conntrack_acct').trim(), '0');
  const warn = lines.find((l) => /\twarn\t/.test(l));
  t.match(warn, /nf_conntrack_acct is 0 .*connection counts only.*sysctl -w net\.netfilter\.nf_conntrack_acct=1/);
});
