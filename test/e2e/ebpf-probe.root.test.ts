// Needs root. probeEbpf(): ok as root; without privileges (the same probe run
// as root with every capability dropped, which unlike user nobody can still read
// a checkout in a private directory) it says which capability is missing, in one line.

import { execFileSync } from 'node:child_process';
import t from 'tap';
import { probeEbpf } from '../../src/receiver/ebpf/probe.ts';
import { NODE } from './support/ebpf-netns.ts';

t.test('as root', async (t) => {
  t.same(await probeEbpf(), { ok: true });
});

t.test('as root without capabilities', async (t) => {
  const script = `import { probeEbpf } from ${JSON.stringify(new URL('../../src/receiver/ebpf/probe.ts', import.meta.url).pathname)};
process.stdout.write(JSON.stringify(await probeEbpf()));`;
  const out = execFileSync('setpriv', ['--inh-caps=-all', '--bounding-set=-all', NODE, '--input-type=module', '-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const res = JSON.parse(out) as { ok: boolean; reason?: string };
  t.equal(res.ok, false);
  t.match(res.reason, /^PODFLOW_EBPF_PRIVILEGE: .*CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN/);
  t.notMatch(res.reason, /\n/, 'one line');
});
