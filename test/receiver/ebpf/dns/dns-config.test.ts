// receivers::ebpf::dns: defaults, and every problem reported at once with its path.

import t from 'tap';
import { defaultsOf, formatProblem, type Problem } from '../../../../src/config/schema.ts';
import { ebpfConfigSchema } from '../../../../src/receiver/ebpf/config.ts';
import { dnsConfigSchema } from '../../../../src/receiver/ebpf/dns/config.ts';

function problems(dns: unknown): string[] {
  const out: Problem[] = [];
  ebpfConfigSchema.decodeOrDefault({ dns }, ['receivers', 'ebpf'], out);
  return out.map(formatProblem);
}

t.test('defaults: on, port 53, 5s, 16384 pending, top query names', async (t) => {
  const d = defaultsOf(ebpfConfigSchema).dns;
  t.same(d, defaultsOf(dnsConfigSchema));
  t.match(d, { enabled: true, ports: [53], timeout: 5000, max_pending: 16_384, query_names: { mode: 'top' } });
  t.same(problems(undefined), []);
  t.same(problems({ ports: [53, 5353], timeout: '2s', enabled: false }), []);
});

t.test('ports: range, duplicates, count, each with its path', async (t) => {
  t.same(problems({ ports: [53, 0, 70000, 'x'] }), [
    'receivers::ebpf::dns::ports::1: value 0 is below the minimum 1',
    'receivers::ebpf::dns::ports::2: value 70000 is above the maximum 65535',
    'receivers::ebpf::dns::ports::3: expected an integer, got "x"',
  ]);
  t.same(problems({ ports: [53, 5353, 53, 5353] }), [
    'receivers::ebpf::dns::ports: lists a port more than once: 53 (items 0 and 2), 5353 (items 1 and 3)',
  ]);
  t.same(problems({ ports: Array.from({ length: 17 }, (_, i) => 1000 + i) }), ['receivers::ebpf::dns::ports: lists 17 ports; at most 16']);
  t.match(problems({ ports: [] }), [/receivers::ebpf::dns::ports: must list at least one port \(set enabled: false/]);
});

t.test('all problems at once: timeout, max_pending, unknown keys, query_names', async (t) => {
  const p = problems({ timeout: 'soon', max_pending: 0, bogus: 1, query_names: { mode: 'allow' } });
  t.match(p.join('\n'), /receivers::ebpf::dns: has invalid keys: bogus/);
  t.match(p.join('\n'), /receivers::ebpf::dns::timeout: expected a duration/);
  t.match(p.join('\n'), /receivers::ebpf::dns::max_pending: value 0 is below the minimum 1/);
  t.match(p.join('\n'), /receivers::ebpf::dns::query_names: mode "allow" needs at least one suffix/);
  t.equal(p.length, 4);
});
