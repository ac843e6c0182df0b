// Needs root (to drop privileges with setpriv). Without CAP_NET_ADMIN, and on a
// kernel without conntrack netlink support, starting the conntrack receiver
// fails with a clear, coded error; the process does not crash.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';

const here = dirname(fileURLToPath(import.meta.url));
const NODE = resolve(here, '../../node_modules/.bin/node');
const PROBE = resolve(here, 'support/conntrack-start-probe.ts');

function probe(t: Test, prefix: string[], env: Record<string, string> = {}): Record<string, unknown> {
  // Without tap's preloads (NODE_OPTIONS, re-added to every spawn): they write
  // under .tap/, which an unprivileged user may not.
  const r = spawnSync('env', ['-u', 'NODE_OPTIONS', ...prefix, NODE, PROBE, '--run'], {
    encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000,
  });
  t.equal(r.status, 0, `probe exits normally (stderr: ${r.stderr.slice(0, 300)})`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

t.test('with privilege the receiver starts', async (t) => {
  t.same(probe(t, []), { started: true });
});

t.test('root without CAP_NET_ADMIN: PODFLOW_CONNTRACK_PERMISSION', async (t) => {
  const out = probe(t, ['setpriv', '--inh-caps=-net_admin', '--bounding-set=-net_admin', '--']);
  t.equal(out.code, 'PODFLOW_CONNTRACK_PERMISSION');
  t.match(out.message, /^receivers::conntrack: .*CAP_NET_ADMIN/);
  t.comment(String(out.message));
});

// The user `nobody` must be able to read the checkout to run the probe; a clone
// in a private directory (mktemp -d is 0700) cannot be, and then the check has
// nothing to run as that user.
const nobodyCanRead = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', 'test', '-r', PROBE]).status === 0;

t.test('an unprivileged user: PODFLOW_CONNTRACK_PERMISSION', {
  skip: nobodyCanRead ? false : `user nobody cannot read ${PROBE} (the checkout is in a private directory)`,
}, async (t) => {
  const out = probe(t, ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--inh-caps=-all', '--']);
  t.equal(out.code, 'PODFLOW_CONNTRACK_PERMISSION');
});

t.test('a kernel without conntrack netlink: PODFLOW_CONNTRACK_UNSUPPORTED', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-ct-nonl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const lib = join(dir, 'no-netfilter-netlink.so');
  execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', lib, resolve(here, 'support/no-netfilter-netlink.c'), '-ldl']);
  const out = probe(t, [], { LD_PRELOAD: lib });
  t.equal(out.code, 'PODFLOW_CONNTRACK_UNSUPPORTED');
  t.match(out.message, /no conntrack netlink support/);
  t.comment(String(out.message));
});
