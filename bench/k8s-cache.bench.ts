// Memory and lookup speed of the k8s_attributes cache against a naive cache of
// full API objects, measured side by side in the same run.
//
// For 10k and 100k pods (1 ReplicaSet per 5 pods, realistic labels,
// annotations, managedFields and ownerReferences; list pages parsed from JSON
// as the client does), each variant runs in a child process of its own so its
// RSS is clean (bench/k8s-cache.child.ts): the compact cache (the processor's
// K8sCache, fed through the same handler the watches use) and the naive one
// (every pod and ReplicaSet kept whole, looked up by formatted address, as an
// informer-based implementation does). An empty child gives the runtime's own
// RSS. Goals (issue 6): ≤ 1 KB per pod; 100k pods in ≤ 256 MiB RSS.
//
// Run alone: node bench/k8s-cache.bench.ts [--quick]

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface BenchResult { name: string; value: number; unit: string; baseline: number; ratio: number; extra?: Record<string, number | string> }

interface ChildResult {
  mode: string; n: number; heapBytes: number; rss: number; baseRss: number;
  heapBytesAfterLookups: number; rssAfterLookups: number; maxRss: number; lookupsPerSec: number; estimate: number;
}

const CHILD = fileURLToPath(new URL('./k8s-cache.child.ts', import.meta.url));
const MiB = 1024 * 1024;

function child(mode: 'compact' | 'naive' | 'empty', n: number, flags: string[] = []): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', '--max-old-space-size=4096', ...flags, CHILD, mode, String(n)], { maxBuffer: 1 << 20, timeout: 600_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`k8s-cache child ${mode} ${n} failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as ChildResult);
    });
  });
}

export default async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const empty = await child('empty', 0);
  for (const n of opts.quick ? [10_000] : [10_000, 100_000]) {
    const compact = await child('compact', n);
    const naive = await child('naive', n);
    // The same with a small young generation: most of the RSS above the cache is V8's
    // new-space grown while the list pages were parsed (a flag the launcher can set).
    const smallNewSpace = await child('compact', n, ['--max-semi-space-size=4']);
    const label = `${n / 1000}k pods`;
    const perPod = compact.heapBytes / n;
    const naivePerPod = naive.heapBytes / n;
    out.push({
      name: `k8s cache heap per pod, ${label}`, value: Math.round(perPod), unit: 'B/pod', baseline: Math.round(naivePerPod), ratio: perPod / naivePerPod,
      extra: {
        goal_bytes_per_pod: 1024, meets_goal: perPod <= 1024 ? 'yes' : 'no',
        estimate_bytes_per_pod: Math.round(compact.estimate / n),
        after_lookups_bytes_per_pod: Math.round(compact.heapBytesAfterLookups / n),
      },
    });
    out.push({
      name: `k8s cache process RSS, ${label}`, value: +(compact.rss / MiB).toFixed(1), unit: 'MiB', baseline: +(naive.rss / MiB).toFixed(1), ratio: compact.rss / naive.rss,
      extra: {
        empty_process_rss_mib: +(empty.rss / MiB).toFixed(1),
        max_rss_mib: +(compact.maxRss / MiB).toFixed(1), baseline_max_rss_mib: +(naive.maxRss / MiB).toFixed(1),
        rss_after_lookups_mib: +(compact.rssAfterLookups / MiB).toFixed(1),
        rss_with_max_semi_space_4mb_mib: +(smallNewSpace.rss / MiB).toFixed(1),
        ...(n === 100_000 ? {
          goal_mib: 256, meets_goal: compact.rss <= 256 * MiB ? 'yes' : 'no',
          meets_goal_with_max_semi_space_4mb: smallNewSpace.rss <= 256 * MiB ? 'yes' : 'no',
        } : {}),
      },
    });
    out.push({
      name: `k8s attribute lookups, ${label}`, value: Math.round(compact.lookupsPerSec), unit: 'lookups/s', baseline: Math.round(naive.lookupsPerSec),
      ratio: compact.lookupsPerSec / naive.lookupsPerSec,
      extra: { note: 'one lookup = one flow end named; 20k-row batches, 110 local pods → 2,000 busy pods' },
    });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run({ quick: process.argv.includes('--quick') })) console.log(JSON.stringify(r));
}
