// QueryNamePolicy alone: top_n with deterministic ties, allow matching label by
// label, off keeping nothing.

import t from 'tap';
import { QueryNamePolicy } from '../../../../src/receiver/ebpf/dns/query-name-policy.ts';

const counts = (o: Record<string, number>) => new Map(Object.entries(o));

t.test('top', async (t) => {
  const p = new QueryNamePolicy({ mode: 'top', top_n: 2, allow: [] });
  t.ok(p.keepsNames);
  t.same([...p.select(counts({}))], []);
  t.same([...p.select(counts({ 'a.x': 1 }))], ['a.x'], 'fewer names than top_n: all');
  t.same([...p.select(counts({ 'c.x': 5, 'b.x': 9, 'a.x': 5, 'd.x': 1 }))].sort(), ['a.x', 'b.x'], 'the most frequent, then by name');
});

t.test('allow', async (t) => {
  const p = new QueryNamePolicy({ mode: 'allow', top_n: 20, allow: ['cluster.local', 'example.com'] });
  for (const n of ['cluster.local', 'kube-dns.kube-system.svc.cluster.local', 'example.com', 'a.b.example.com']) t.ok(p.allows(n), n);
  for (const n of ['local', 'xcluster.local', 'cluster.local.evil.net', 'example.com\\046evil', 'a\\046example.com', 'com', '.']) t.notOk(p.allows(n), n);
  t.same([...p.select(counts({ 'a.example.com': 1, 'a.example.org': 50 }))], ['a.example.com']);
});

t.test('off', async (t) => {
  const p = new QueryNamePolicy({ mode: 'off', top_n: 20, allow: [] });
  t.notOk(p.keepsNames);
  t.same([...p.select(counts({ 'a.x': 3 }))], []);
});
