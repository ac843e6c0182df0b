// The drops section of the ebpf receiver's config: defaults, and every problem
// reported at once with its path (reason names are checked for their form
// here; whether the kernel knows them is only known at start).

import t from 'tap';
import { defaultsOf, formatProblem, type Problem } from '../../../../src/config/schema.ts';
import { ebpfConfigSchema } from '../../../../src/receiver/ebpf/config.ts';

function decode(v: unknown): string[] {
  const problems: Problem[] = [];
  ebpfConfigSchema.decodeOrDefault(v, ['receivers', 'ebpf'], problems);
  return problems.map(formatProblem);
}

t.test('on by default', async (t) => {
  const d = defaultsOf(ebpfConfigSchema).drops;
  t.same(d, { enabled: true, map_size: 16_384, exclude_reasons: [] });
});

t.test('settings decode', async (t) => {
  const problems: Problem[] = [];
  const c = ebpfConfigSchema.decodeOrDefault({ drops: { enabled: false, map_size: 1024, exclude_reasons: ['not_specified', 'reason_7'] } }, ['receivers', 'ebpf'], problems);
  t.same(problems, []);
  t.same(c?.drops, { enabled: false, map_size: 1024, exclude_reasons: ['not_specified', 'reason_7'] });
});

t.test('every problem at once, with its path', async (t) => {
  const p = decode({ drops: { map_size: 8, exclude_reasons: ['SKB_DROP_REASON_NO_SOCKET', 'ok_name', 'tcp csum'], bogus: 1 } });
  t.match(p.join('\n'), /receivers::ebpf::drops: has invalid keys: bogus/);
  t.match(p.join('\n'), /receivers::ebpf::drops::map_size: value 8 is below the minimum 64/);
  t.match(p.join('\n'), /receivers::ebpf::drops::exclude_reasons::0: invalid value "SKB_DROP_REASON_NO_SOCKET": a drop reason is written in lower case without SKB_DROP_REASON_/);
  t.match(p.join('\n'), /receivers::ebpf::drops::exclude_reasons::2: invalid value "tcp csum"/);
  t.equal(p.length, 4);
});

t.test('at most 256 excluded reasons (the kernel map\'s size)', async (t) => {
  const many = Array.from({ length: 257 }, (_, i) => `reason_${i}`);
  t.match(decode({ drops: { exclude_reasons: many } }), [/receivers::ebpf::drops::exclude_reasons: 257 reasons: at most 256/]);
  t.same(decode({ drops: { exclude_reasons: many.slice(1) } }), []);
});
