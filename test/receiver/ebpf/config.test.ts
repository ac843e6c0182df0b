import t from 'tap';
import { defaultsOf, formatProblem, type Problem } from '../../../src/config/schema.ts';
import { ebpfConfigSchema, validateEbpfConfig } from '../../../src/receiver/ebpf/config.ts';
import { ebpfReceiverFactory } from '../../../src/receiver/ebpf/factory.ts';

function decode(v: unknown): { problems: string[] } {
  const problems: Problem[] = [];
  const c = ebpfConfigSchema.decodeOrDefault(v, ['receivers', 'ebpf'], problems);
  if (c) problems.push(...validateEbpfConfig(c).map((p) => ({ ...p, path: ['receivers', 'ebpf', ...p.path] })));
  return { problems: problems.map(formatProblem) };
}

t.test('defaults', async (t) => {
  const d = defaultsOf(ebpfConfigSchema);
  t.equal(d.collection_interval, 10_000);
  t.equal(d.cgroup_path, '');
  t.equal(d.include_loopback, false);
  t.equal(d.ring_buffer_size, 4 * 1024 * 1024);
  t.same(validateEbpfConfig(d), []);
  t.equal(ebpfReceiverFactory.type, 'ebpf');
});

t.test('every problem at once, with its path', async (t) => {
  const { problems } = decode({ collection_interval: 'soon', conn_map_size: 3, ring_buffer_size: 5000, bogus: 1 });
  t.match(problems.join('\n'), /receivers::ebpf: has invalid keys: bogus/);
  t.match(problems.join('\n'), /receivers::ebpf::collection_interval: expected a duration/);
  t.match(problems.join('\n'), /receivers::ebpf::conn_map_size: value 3 is below the minimum 64/);
  t.equal(problems.length, 3, 'the schema stops before cross-field checks when types are wrong');
});

t.test('ring buffer size must be a power of two, page multiple', async (t) => {
  t.match(decode({ ring_buffer_size: 12288 }).problems, [/receivers::ebpf::ring_buffer_size: value 12288 must be a power of two and a multiple of 4096 \(e\.g\. 16384\)/]);
  t.same(decode({ ring_buffer_size: 65536 }).problems, []);
});

t.test('cgroup_path must be absolute', async (t) => {
  t.match(decode({ cgroup_path: 'sys/fs/cgroup' }).problems, [/receivers::ebpf::cgroup_path: invalid value "sys\/fs\/cgroup": must be an absolute path/]);
});

t.test('nat: auto by default; off; nat_netns absolute', async (t) => {
  t.equal(defaultsOf(ebpfConfigSchema).nat, 'auto');
  t.equal(defaultsOf(ebpfConfigSchema).nat_netns, undefined);
  t.same(decode({ nat: 'off' }).problems, []);
  t.match(decode({ nat: 'maybe' }).problems, [/receivers::ebpf::nat: invalid value "maybe" \(valid values: \[auto, off\]\)/]);
  t.match(decode({ nat_netns: 'run/netns/x' }).problems, [/receivers::ebpf::nat_netns: invalid value "run\/netns\/x": must be an absolute path/]);
});
