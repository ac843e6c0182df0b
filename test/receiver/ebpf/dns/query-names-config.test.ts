// The query_names config: defaults, bounds, the allow list normalised and
// validated item by item (the path names the index), mode and list consistent.

import t from 'tap';
import { defaultsOf, formatProblem, type Problem } from '../../../../src/config/schema.ts';
import { queryNamesConfigSchema } from '../../../../src/receiver/ebpf/dns/query-names-config.ts';

const PATH = ['receivers', 'ebpf', 'dns', 'query_names'];

function decode(v: unknown) {
  const problems: Problem[] = [];
  const config = queryNamesConfigSchema.decodeOrDefault(v, PATH, problems);
  return { config, problems: problems.map(formatProblem) };
}

t.test('defaults', async (t) => {
  t.same(defaultsOf(queryNamesConfigSchema), { mode: 'top', top_n: 20, allow: [] });
  t.same(decode(undefined), { config: { mode: 'top', top_n: 20, allow: [] }, problems: [] });
});

t.test('allow list: lower-cased, trailing dot dropped', async (t) => {
  t.same(decode({ mode: 'allow', allow: ['Svc.Cluster.Local.', '_sip._tcp.example.com', 'x-1.example'] }).config?.allow,
    ['svc.cluster.local', '_sip._tcp.example.com', 'x-1.example']);
});

t.test('every problem at once, each with its path and the value', async (t) => {
  const { config, problems } = decode({ mode: 'all', top_n: 0, allow: ['ok.example', 'bad..example', '-x.example', 'a b.example', '.', 'x'.repeat(64) + '.example'], extra: 1 });
  t.equal(config, undefined);
  t.same(problems, [
    'receivers::ebpf::dns::query_names: has invalid keys: extra (valid keys: mode, top_n, allow)',
    'receivers::ebpf::dns::query_names::mode: invalid value "all" (valid values: [top, allow, off])',
    'receivers::ebpf::dns::query_names::top_n: value 0 is below the minimum 1',
    'receivers::ebpf::dns::query_names::allow::1: invalid domain "bad..example": has an empty label (two dots in a row, or a leading dot)',
    'receivers::ebpf::dns::query_names::allow::2: invalid domain "-x.example": has an invalid label "-x" (letters, digits, "-" and "_", not starting or ending with "-")',
    'receivers::ebpf::dns::query_names::allow::3: invalid domain "a b.example": has an invalid label "a b" (letters, digits, "-" and "_", not starting or ending with "-")',
    'receivers::ebpf::dns::query_names::allow::4: invalid domain ".": must not be empty (the root would allow every name: use mode "top" instead)',
    `receivers::ebpf::dns::query_names::allow::5: invalid domain "${'x'.repeat(64)}.example": has a label of 64 characters ("xxxxxxxxxxxxxxxxxxxx..."; at most 63)`,
  ]);
  t.same(decode({ top_n: 1001 }).problems, ['receivers::ebpf::dns::query_names::top_n: value 1001 is above the maximum 1000']);
  t.match(decode({ allow: ['a'.repeat(63) + '.' + 'b'.repeat(63) + '.' + 'c'.repeat(63) + '.' + 'd'.repeat(63)] }).problems, [/is 255 characters long \(a domain name has at most 253\)/]);
});

t.test('mode and allow must agree', async (t) => {
  t.same(decode({ mode: 'allow' }).problems, ['receivers::ebpf::dns::query_names: mode "allow" needs at least one suffix in allow (mode "off" reports no names)']);
  t.same(decode({ mode: 'off', allow: ['example.com'] }).problems, ['receivers::ebpf::dns::query_names: allow is set but mode is "off", which ignores it (set mode: allow)']);
  t.same(decode({ mode: 'off' }).problems, []);
});
