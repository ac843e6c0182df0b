// The pipeline benchmark of issue 7: synthetic flows (~50k active) → Kubernetes
// names from a prepared cache → flow_aggregate → OTLP/HTTP protobuf export to a
// local sink, against the baseline of the same flows recorded one by one with
// SDK counters on the main thread and exported the same way.
//
// Each variant runs in a child process of its own (bench/pipeline.child.ts), so
// its RSS is its own; the sink runs here, so its cost is in neither. Results:
//   - throughput, 1 worker: flows/s (wall) vs the SDK baseline's flows/s
//   - flows per CPU-second (all threads), 1 worker vs the baseline: the
//     "per core" figure, independent of how many cores the run had
//   - scaling 1 → 2 workers, by CPU: flows per CPU-second of the busiest
//     thread (the main thread or a worker), 2 workers vs 1. That is the rate
//     the pipeline reaches when each thread has a core of its own; wall-clock
//     rates on a machine whose cores other work shares measure the other work.
//     The wall-clock ratio is kept in `extra`. The median ratio of 5 pairs of
//     runs, each pair's two runs back to back (1 in --quick).
//   - max RSS of the whole process at 50k active flows vs the baseline's, with
//     the RSS of the same process set up but fed nothing as context; measured
//     in runs of their own whose input is made interval by interval and
//     released once consumed, as a receiver's is (the CPU runs replay two
//     intervals made beforehand, which stay resident the whole run)
// Per-stage CPU (the bench's own naming step, consume, export, workers) is in `extra`.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

interface BenchResult { name: string; value: number; unit: string; baseline: number; ratio: number; extra?: Record<string, number | string> }

interface Measurement {
  mode: string; workers: number; flows: number; flowsPerInterval: number; wallMs: number; cpuMs: number; mainCpuMs: number;
  maxRssMiB: number; rssMiB: number; heapMiB: number; points?: number; failedPoints?: number; dropped?: number; groups?: number;
  annotateCpuMs: number; exportCpuMs: number; exports: number;
  mainCpuBeforeShutdownMs?: number; workerCpuMs?: number; workerCpuTotalMs?: number; consumeCpuMs?: number;
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CHILD_SOURCE = join(ROOT, 'bench/pipeline.child.ts');
const CHILD = join(ROOT, 'bench/.build/pipeline.child.js');

/**
 * Both variants run as JavaScript over podflow's build (dist/, brought up to
 * date here as `make setup` does), because that is what ships: a process that
 * loads one .ts file carries Node's type stripper, and every worker thread
 * again. The child is bench/pipeline.child.ts compiled by tsc, with its
 * imports of ../src/X.ts pointed at the build's ../../dist/X.js. Both run
 * with the Node flags and environment podflow ships with (bin/node-flags, bin/node-env).
 */
/** The lines of bin/node-flags or bin/node-env, as bin/podflow reads them: '#' comments, no spaces. */
function shippedLines(file: 'node-flags' | 'node-env'): string[] {
  return readFileSync(join(ROOT, 'bin', file), 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
}

/** The environment bin/podflow runs node with: bin/node-env under the bench's own (a variable already set wins, as in bin/podflow). */
function shippedNodeEnv(): NodeJS.ProcessEnv {
  const vars = shippedLines('node-env').map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]);
  return { ...Object.fromEntries(vars), ...process.env };
}

function buildChild(): void {
  execFileSync('bash', [join(ROOT, 'scripts/setup.d/10-build.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  // The compiler and settings of the build (tsconfig.build.json), on one file.
  const js = ts.transpileModule(readFileSync(CHILD_SOURCE, 'utf8'), {
    fileName: CHILD_SOURCE, compilerOptions: { target: ts.ScriptTarget.ES2023, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true },
  }).outputText
    .replace(/(['"])\.\.\/src\/([^'"]+)\.ts\1/g, (_m, q: string, path: string) => `${q}../../dist/${path}.js${q}`);
  const left = /(?:from|import\()\s*['"][^'"]+\.ts['"]/.exec(js);
  if (left) throw new Error(`${CHILD_SOURCE}: an import the build cannot serve: ${left[0]}`);
  mkdirSync(dirname(CHILD), { recursive: true });
  writeFileSync(CHILD, js);
}

/** `input`: 'ring' replays two intervals made before the run (the CPU figures); 'live' makes each when due, as a receiver does (the memory figures). */
function measure(mode: 'podflow' | 'sdk', workers: number, intervals: number, sinkUrl: string, input: 'ring' | 'live' = 'ring'): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const args = [...shippedLines('node-flags'), '--expose-gc', CHILD, mode, String(workers), String(intervals), sinkUrl, input];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: shippedNodeEnv() });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    p.on('error', reject);
    p.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`pipeline child ${mode}/${workers}/${input} failed (exit ${code}): ${out}`));
      else resolve(JSON.parse(line) as Measurement);
    });
  });
}

/** Interleaved 1- and 2-worker pairs the scaling figures take the median of. */
const SCALING_PAIRS = 5;

export default async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  buildChild();
  let requests = 0;
  let bytes = 0;
  const sink = createServer((req, res) => {
    req.on('data', (d: Buffer) => { bytes += d.length; });
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/v1/metrics`;
  try {
    const intervals = opts.quick ? 10 : 40;
    const sinkBefore = () => ({ requests, bytes });
    const s0 = sinkBefore();
    const sdk = await measure('sdk', 1, intervals, url);
    const sdkSink = { requests: requests - s0.requests, bytes: bytes - s0.bytes };
    const s1 = sinkBefore();
    const one = await measure('podflow', 1, intervals, url);
    const oneSink = { requests: requests - s1.requests, bytes: bytes - s1.bytes };
    const two = await measure('podflow', 2, intervals, url);
    // The scaling figures compare two runs, each of ~1 s of CPU on a machine
    // other work shares: one pair read 1.00x and the next 1.40x. More pairs,
    // each run right after the other, and the median of their ratios.
    const pairs: Array<[Measurement, Measurement]> = [[one, two]];
    for (let j = 1; j < (opts.quick ? 1 : SCALING_PAIRS); j++) {
      pairs.push([await measure('podflow', 1, intervals, url), await measure('podflow', 2, intervals, url)]);
    }
    // Memory: the same runs with each interval made when due and released once
    // consumed, as the synthetic receiver does, so the process holds one
    // interval's input at a time, as an agent does; the ring runs above hold
    // two for the whole run (their max RSS is in `extra`).
    const sdkLive = await measure('sdk', 1, intervals, url, 'live');
    const oneLive = await measure('podflow', 1, intervals, url, 'live');
    const twoLive = await measure('podflow', 2, intervals, url, 'live');
    // The same process with everything set up (modules, workers, the name
    // cache) but no flow fed: what the flows themselves add is the difference.
    const idle = await measure('podflow', 1, 0, url, 'live');
    for (const m of [...pairs.flat(), oneLive, twoLive]) {
      if (m.dropped) throw new Error(`flow_aggregate dropped ${m.dropped} flows in the ${m.workers}-worker run`);
      if (m.failedPoints) throw new Error(`the exporter failed to deliver ${m.failedPoints} points in the ${m.workers}-worker run`);
    }
    if (!oneSink.requests || !sdkSink.requests) throw new Error('the sink received no export');

    const rate = (m: Measurement) => m.flows / (m.wallMs / 1000);
    const perCpu = (m: Measurement) => m.flows / (m.cpuMs / 1000);
    // The busiest thread's CPU while flows went through (shutdown's last flush excluded: it is once per run).
    const busiest = (m: Measurement) => Math.max(m.mainCpuBeforeShutdownMs ?? m.mainCpuMs, m.workerCpuMs ?? 0);
    const perBusiest = (m: Measurement) => m.flows / (busiest(m) / 1000);
    const perWorker = (m: Measurement) => m.flows / ((m.workerCpuMs ?? 0) / 1000);
    const perRow = (ms: number | undefined, m: Measurement) => Math.round(((ms ?? 0) * 1e6) / m.flows);
    const common = { flows: one.flows, activeFlows: one.flowsPerInterval, intervals };
    // The pair whose ratio is the median, and every pair's ratio.
    const medianPair = (ratio: (pair: [Measurement, Measurement]) => number) => {
      const sorted = [...pairs].sort((a, b) => ratio(a) - ratio(b));
      return { pair: sorted[(sorted.length - 1) >> 1]!, ratios: pairs.map((p) => Math.round(ratio(p) * 100) / 100).join(' ') };
    };
    const scaling = medianPair(([a, b]) => perBusiest(b) / perBusiest(a));
    const [s1w, s2w] = scaling.pair;
    const workerScaling = medianPair(([a, b]) => perWorker(b) / perWorker(a));
    const [w1w, w2w] = workerScaling.pair;
    return [
      {
        name: 'throughput, 1 worker (flows/s, wall clock)', unit: 'flows/s',
        value: Math.round(rate(one)), baseline: Math.round(rate(sdk)), ratio: rate(one) / rate(sdk),
        extra: { ...common, wallMs: Math.round(one.wallMs), baselineWallMs: Math.round(sdk.wallMs), groupsEmitted: one.groups ?? 0,
          pointsExported: one.points ?? 0, exports: one.exports, exportRequests: oneSink.requests, exportBytes: oneSink.bytes,
          baselineExportRequests: sdkSink.requests, baselineExportBytes: sdkSink.bytes },
      },
      {
        name: 'flows per CPU-second, 1 worker (all threads)', unit: 'flows/cpu-s',
        value: Math.round(perCpu(one)), baseline: Math.round(perCpu(sdk)), ratio: perCpu(one) / perCpu(sdk),
        extra: {
          cpuMs: Math.round(one.cpuMs), baselineCpuMs: Math.round(sdk.cpuMs),
          // ns of CPU per flow, by thread and stage (the rest of cpuMs is V8's GC and compiler threads).
          mainNsPerFlow: perRow(one.mainCpuMs, one), workerNsPerFlow: perRow(one.workerCpuMs, one),
          namingNsPerFlow: perRow(one.annotateCpuMs, one), consumeNsPerFlow: perRow(one.consumeCpuMs, one),
          exportNsPerFlow: perRow(one.exportCpuMs, one), baselineMainNsPerFlow: perRow(sdk.mainCpuMs, sdk),
          baselineNamingNsPerFlow: perRow(sdk.annotateCpuMs, sdk), baselineExportNsPerFlow: perRow(sdk.exportCpuMs, sdk),
        },
      },
      {
        // The median of the pairs' ratios; the per-thread figures are that pair's.
        name: 'scaling 1 → 2 workers (flows per CPU-second of the busiest thread)', unit: 'flows/cpu-s',
        value: Math.round(perBusiest(s2w)), baseline: Math.round(perBusiest(s1w)), ratio: perBusiest(s2w) / perBusiest(s1w),
        extra: {
          pairs: pairs.length, pairRatios: scaling.ratios,
          mainNsPerFlow1: perRow(s1w.mainCpuBeforeShutdownMs, s1w), workerNsPerFlow1: perRow(s1w.workerCpuMs, s1w),
          mainNsPerFlow2: perRow(s2w.mainCpuBeforeShutdownMs, s2w), busiestWorkerNsPerFlow2: perRow(s2w.workerCpuMs, s2w),
          workersNsPerFlow2: perRow(s2w.workerCpuTotalMs, s2w), consumeNsPerFlow1: perRow(s1w.consumeCpuMs, s1w),
          consumeNsPerFlow2: perRow(s2w.consumeCpuMs, s2w), flowsPerCpuSecond2: Math.round(perCpu(s2w)),
          wallFlowsPerSecond1: Math.round(rate(s1w)), wallFlowsPerSecond2: Math.round(rate(s2w)), wallRatio: rate(s2w) / rate(s1w),
        },
      },
      {
        // flow_aggregate's own share: what a second worker adds to the aggregation, whatever the stages before it cost.
        name: 'flow_aggregate workers 1 → 2 (flows per CPU-second of the busiest worker thread)', unit: 'flows/cpu-s',
        value: Math.round(perWorker(w2w)), baseline: Math.round(perWorker(w1w)), ratio: perWorker(w2w) / perWorker(w1w),
        extra: { pairs: pairs.length, pairRatios: workerScaling.ratios, workerNsPerFlow1: perRow(w1w.workerCpuMs, w1w),
          busiestWorkerNsPerFlow2: perRow(w2w.workerCpuMs, w2w), workersNsPerFlow2: perRow(w2w.workerCpuTotalMs, w2w),
          mainExtraNsPerFlow2: perRow(w2w.mainCpuBeforeShutdownMs, w2w) - perRow(w1w.mainCpuBeforeShutdownMs, w1w) },
      },
      {
        name: 'max RSS of the process at 50k active flows, 1 worker', unit: 'MiB',
        value: round1(oneLive.maxRssMiB), baseline: round1(sdkLive.maxRssMiB), ratio: oneLive.maxRssMiB / sdkLive.maxRssMiB,
        extra: {
          rssAfterMiB: round1(oneLive.rssMiB), baselineRssAfterMiB: round1(sdkLive.rssMiB), setupOnlyRssMiB: round1(idle.rssMiB),
          heapMiB: round1(oneLive.heapMiB), baselineHeapMiB: round1(sdkLive.heapMiB),
          rss2WorkersMiB: round1(twoLive.maxRssMiB), heap2WorkersMiB: round1(twoLive.heapMiB),
          ringInputRssMiB: round1(one.maxRssMiB), ringInputRss2WorkersMiB: round1(two.maxRssMiB), ringInputBaselineRssMiB: round1(sdk.maxRssMiB),
        },
      },
    ];
  } finally {
    sink.close();
  }
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
