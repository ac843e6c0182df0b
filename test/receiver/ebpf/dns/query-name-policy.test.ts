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
  t.same([...p.select(counts({ 'c.x': 5, 'b.x': 9, 'a.x': 5, 'd.x': 1 }))].sort(), ['b.x', 'c.x'], 'the most frequent, then the first seen');
  const p3 = new QueryNamePolicy({ mode: 'top', top_n: 3, allow: [] });
  t.same([...p3.select(counts({ 'a.x': 1, 'b.x': 2, 'c.x': 2, 'd.x': 2, 'e.x': 3 }))].sort(), ['b.x', 'c.x', 'e.x']);
  t.same([...p3.select(counts({ 'a.x': 4, 'b.x': 3, 'c.x': 2, 'd.x': 1 }))].sort(), ['a.x', 'b.x', 'c.x'], 'no ties at the cut');
  // A flood of distinct names: linear, not a sort (generous bound, shared CI machine).
  const flood = new Map<string, number>();
  for (let i = 0; i < 100_000; i++) flood.set(`r${i}.victim.example`, 1);
  flood.set('hot.example', 7);
  const t0 = performance.now();
  const kept = p.select(flood);
  t.same([...kept].sort(), ['hot.example', 'r0.victim.example']);
  t.ok(performance.now() - t0 < 3000, 'within 3 s');
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
