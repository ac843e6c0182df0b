// The benchmark harness: `npm run bench [-- [NAME...] [--quick] [--json]]`.
//
// Discovers bench/<name>.bench.ts, runs each in a fresh Node process of its own
// (so one benchmark's heap, JIT state and RSS never colour another's), collects
// the BenchResult[] its default export returns, and
//   - prints a table (or, with --json, one JSON object per result line:
//     name, value, unit, baseline, ratio, plus the benchmark file as `bench`),
//   - writes bench/results/<name>.json,
//   - rewrites the marked results table in bench/README.md from every file in
//     bench/results/, so the README always shows the latest figures.
//
// Contract of a benchmark file (see bench/README.md):
//   export default async function run(opts: { quick: boolean }): Promise<BenchResult[]>
// where the baseline is measured side by side in the same run and
// ratio = value / baseline.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline: number;
  ratio: number;
  extra?: Record<string, number | string>;
}

interface ResultFile {
  bench: string;
  date: string;
  quick: boolean;
  node: string;
  cpu: string;
  cores: number;
  durationMs: number;
  results: BenchResult[];
}

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const RESULTS_DIR = join(BENCH_DIR, 'results');
const README = join(BENCH_DIR, 'README.md');
const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';
const CHILD_MARK = '@@bench-result@@';

function discover(): string[] {
  return readdirSync(BENCH_DIR).filter((f) => f.endsWith('.bench.ts')).map((f) => basename(f, '.bench.ts')).sort();
}

/** In the child: import the file, run it, print its results behind a marker line. */
async function child(name: string, quick: boolean): Promise<void> {
  const mod = (await import(pathToFileURL(join(BENCH_DIR, `${name}.bench.ts`)).href)) as {
    default?: (o: { quick: boolean }) => Promise<BenchResult[]>;
  };
  if (typeof mod.default !== 'function') throw new Error(`bench/${name}.bench.ts has no default export run({quick})`);
  const results = await mod.default({ quick });
  const problems = validate(results);
  if (problems.length) throw new Error(`bench/${name}.bench.ts returned malformed results:\n  ${problems.join('\n  ')}`);
  process.stdout.write(`\n${CHILD_MARK}${JSON.stringify(results)}\n`);
  // Benchmarks may leave servers or timers behind; the results are out, so end here.
  process.exit(0);
}

function validate(results: unknown): string[] {
  if (!Array.isArray(results)) return ['not an array'];
  const out: string[] = [];
  results.forEach((r: Partial<BenchResult>, i) => {
    if (typeof r?.name !== 'string' || !r.name) out.push(`[${i}].name: expected a non-empty string`);
    for (const k of ['value', 'baseline', 'ratio'] as const) {
      if (typeof r?.[k] !== 'number' || !Number.isFinite(r[k])) out.push(`[${i}].${k}: expected a finite number, got ${String(r?.[k])}`);
    }
    if (typeof r?.unit !== 'string') out.push(`[${i}].unit: expected a string`);
  });
  return out;
}

function runChild(name: string, quick: boolean, echo: boolean): Promise<BenchResult[]> {
  return new Promise((resolve, reject) => {
    const args = ['--expose-gc', fileURLToPath(import.meta.url), '--child', name, ...(quick ? ['--quick'] : [])];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      const at = out.lastIndexOf(CHILD_MARK);
      const log = at >= 0 ? out.slice(0, at) : out;
      if (echo && log.trim()) process.stderr.write(log.trim() + '\n');
      if (code !== 0 || at < 0) {
        reject(new Error(`benchmark ${name} failed (exit ${code ?? signal})${at < 0 && log ? `:\n${log.trim()}` : ''}`));
        return;
      }
      resolve(JSON.parse(out.slice(at + CHILD_MARK.length)) as BenchResult[]);
    });
  });
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 100) return v.toFixed(0);
  return v.toFixed(2);
}

function table(rows: Array<{ bench: string; r: BenchResult }>): string {
  const head = ['benchmark', 'result', 'value', 'baseline', 'ratio', 'unit'];
  const lines = rows.map(({ bench, r }) => [bench, r.name, fmt(r.value), fmt(r.baseline), `${r.ratio.toFixed(2)}×`, r.unit]);
  const w = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const line = (l: string[]) => l.map((c, i) => c.padEnd(w[i]!)).join('  ');
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...lines.map(line)].join('\n');
}

function readResultFiles(): ResultFile[] {
  let files: string[] = [];
  try {
    files = readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const out: ResultFile[] = [];
  for (const f of files) {
    try {
      out.push(JSON.parse(readFileSync(join(RESULTS_DIR, f), 'utf8')) as ResultFile);
    } catch {
      // A file that is not a result of this harness is left alone and not listed.
    }
  }
  return out;
}

/** The README's marked section, regenerated from every results file. */
export function renderReadmeSection(files: ResultFile[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    START,
    '<!-- Generated by `npm run bench` from bench/results/*.json; edits here are overwritten. -->',
    '',
    '| benchmark | result | value | baseline | ratio | unit | run |',
    '|---|---|---:|---:|---:|---|---|',
  ];
  for (const f of files) {
    for (const r of f.results) {
      const run = `${f.date.slice(0, 16).replace('T', ' ')} UTC${f.quick ? ', quick' : ''}`;
      lines.push(`| ${f.bench} | ${esc(r.name)} | ${fmt(r.value)} | ${fmt(r.baseline)} | ${r.ratio.toFixed(2)}× | ${esc(r.unit)} | ${run} |`);
    }
  }
  const machines = [...new Set(files.map((f) => `${f.cpu}, ${f.cores} cores, Node ${f.node}`))];
  lines.push('', `Measured on: ${machines.join('; ') || 'nothing yet'}.`, END);
  return lines.join('\n');
}

function updateReadme(): void {
  let text: string;
  try {
    text = readFileSync(README, 'utf8');
  } catch {
    return;
  }
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) return; // no marked section: nothing of the README is ours to rewrite
  writeFileSync(README, text.slice(0, a) + renderReadmeSection(readResultFiles()) + text.slice(b + END.length));
}

async function main(argv: string[]): Promise<number> {
  const flags = new Set(argv.filter((a) => a.startsWith('--')));
  const names = argv.filter((a) => !a.startsWith('--'));
  const unknownFlag = [...flags].find((f) => !['--json', '--quick', '--child', '--help'].includes(f));
  if (flags.has('--help') || unknownFlag) {
    process.stderr.write(`${unknownFlag ? `unknown option ${unknownFlag}\n` : ''}usage: npm run bench -- [NAME...] [--quick] [--json]\n  benchmarks: ${discover().join(', ')}\n`);
    return unknownFlag ? 2 : 0;
  }
  const quick = flags.has('--quick');
  if (flags.has('--child')) {
    await child(names[0]!, quick);
    return 0;
  }
  const json = flags.has('--json');
  const all = discover();
  const unknown = names.filter((n) => !all.includes(n));
  if (unknown.length) {
    process.stderr.write(`no such benchmark: ${unknown.join(', ')} (available: ${all.join(', ')})\n`);
    return 2;
  }
  const selected = names.length ? names : all;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const rows: Array<{ bench: string; r: BenchResult }> = [];
  let failed = 0;
  for (const name of selected) {
    if (!json) process.stderr.write(`running ${name}${quick ? ' (quick)' : ''} ...\n`);
    const t0 = performance.now();
    let results: BenchResult[];
    try {
      results = await runChild(name, quick, !json);
    } catch (e) {
      failed++;
      process.stderr.write(`${(e as Error).message}\n`);
      continue;
    }
    const file: ResultFile = {
      bench: name, date: new Date().toISOString(), quick, node: process.versions.node,
      cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: cpus().length, durationMs: Math.round(performance.now() - t0), results,
    };
    writeFileSync(join(RESULTS_DIR, `${name}.json`), JSON.stringify(file, null, 2) + '\n');
    for (const r of results) {
      rows.push({ bench: name, r });
      if (json) process.stdout.write(JSON.stringify({ bench: name, name: r.name, value: r.value, unit: r.unit, baseline: r.baseline, ratio: r.ratio, ...(r.extra ? { extra: r.extra } : {}) }) + '\n');
    }
  }
  updateReadme();
  if (!json && rows.length) process.stdout.write(table(rows) + '\n');
  return failed ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
