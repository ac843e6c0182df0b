// Config fuzz: thousands of mutated configs (values swapped for wrong types,
// keys deleted, renamed or invented, YAML text corrupted) through the real
// loader and every registered factory's schema and validation, in-process.
// Each must either load or fail with a PodflowError (a ConfigError lists its
// problems, each with a path unless it is about the root); never anything
// else. A few dozen go through `bin/podflow validate` to check exit codes and
// that no stack trace is printed. Seeded, so a failure reproduces.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { stringify } from 'yaml';
import { defaultRegistry } from '../../src/components.ts';
import { ConfigError } from '../../src/config/config-error.ts';
import { loadConfig } from '../../src/config/resolve.ts';
import { PodflowError } from '../../src/errors/podflow-error.ts';
import { rng } from '../support/seeded-random.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SEED = Number(process.env.PODFLOW_FUZZ_SEED ?? 20261126);
const CASES = Number(process.env.PODFLOW_FUZZ_CASES ?? 3000);

const BASE = {
  receivers: { synthetic: { seed: 1, interval: '1s', flows_per_interval: 10, stop_after: 1 } },
  processors: {
    memory_limiter: { check_interval: '1s', limit_mib: 400, spike_limit_mib: 80 },
    batch: { send_batch_size: 1000, timeout: '200ms' },
    filter: { exclude: { match_type: 'strict', namespaces: ['kube-system'], destination_cidrs: ['169.254.0.0/16'] } },
    flow_aggregate: {},
  },
  exporters: {
    otlp_grpc: {
      endpoint: '127.0.0.1:4317', tls: { insecure: true }, headers: { 'x-tenant': 'a' }, temporality: 'delta', timeout: '5s',
      retry_on_failure: { enabled: true, initial_interval: '5s', max_interval: '30s', max_elapsed_time: '300s', multiplier: 1.5, randomization_factor: 0.5 },
      sending_queue: { enabled: true, num_consumers: 10, queue_size: 1000 },
    },
    'otlp_http/b': { endpoint: 'http://127.0.0.1:4318', encoding: 'json', compression: 'gzip', sending_queue: { queue_size: 10, storage_dir: '/tmp/pf-fuzz-never-created' } },
    prometheus: { endpoint: '127.0.0.1:0' },
    debug: {},
  },
  extensions: { health_check: { endpoint: '127.0.0.1:0' } },
  service: {
    extensions: ['health_check'],
    telemetry: { metrics: { level: 'none' }, logs: { level: 'info' } },
    pipelines: {
      metrics: { receivers: ['synthetic'], processors: ['memory_limiter', 'filter', 'batch'], exporters: ['otlp_grpc', 'otlp_http/b', 'prometheus'] },
      'metrics/agg': { receivers: ['synthetic'], processors: ['flow_aggregate'], exporters: ['debug'] },
    },
  },
};

const VALUES: unknown[] = [
  null, '', 'x', 'true', -1, 0, 1, 2 ** 53, 1.5, -0.5, true, false, [], {}, [1, 'a'], { a: { b: null } },
  '5s', '-5s', '1h', '0', '250', 'NaN', '${env:PF_FUZZ_UNSET}', '${env:PF_FUZZ_SET}', '${PF_FUZZ_SET:-x}', '$$', '${',
  'http://[::1', 'https://127.0.0.1:0/v1', '127.0.0.1:99999', 'localhost', 'otlp', 'otlp_grpc/b', 'nope/x', '/nonexistent/ca.pem',
  'a'.repeat(300), '\u0000', 'ünïcode', 'delta', 'cumulative', 'gzip',
];

type Tree = Record<string, unknown> | unknown[];

/** Every (container, key) pair in the tree. */
function slots(node: unknown, out: Array<[Tree, string | number]> = []): Array<[Tree, string | number]> {
  if (Array.isArray(node)) node.forEach((v, i) => { out.push([node, i]); slots(v, out); });
  else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) { out.push([node as Tree, k]); slots(v, out); }
  return out;
}

function mutate(r: () => number): string {
  const tree = structuredClone(BASE) as unknown as Record<string, unknown>;
  const n = 1 + Math.floor(r() * 4);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  for (let i = 0; i < n; i++) {
    const all = slots(tree);
    const [c, k] = pick(all);
    const op = r();
    if (op < 0.45) (c as Record<string | number, unknown>)[k] = structuredClone(pick(VALUES));
    else if (op < 0.6 && !Array.isArray(c)) delete (c as Record<string, unknown>)[k as string];
    else if (op < 0.75 && !Array.isArray(c)) {
      const v = (c as Record<string, unknown>)[k as string];
      delete (c as Record<string, unknown>)[k as string];
      (c as Record<string, unknown>)[`${String(k)}${pick(['_', 's', 'x', ''])}${pick(['', 'typo'])}`] = v;
    } else if (op < 0.85 && !Array.isArray(c)) (c as Record<string, unknown>)[pick(['extra', 'storage', 'metadata_keys', 'sending_queue', 'retry_on_failure', 'unknown'])] = structuredClone(pick(VALUES));
    else (c as Record<string | number, unknown>)[k] = structuredClone(pick(all)[0]);
  }
  let text = stringify(tree);
  if (r() < 0.15) {
    // Corrupt the text itself: YAML errors must be reported, not thrown raw.
    const at = Math.floor(r() * text.length);
    text = text.slice(0, at) + pick(['\t', ':', '- ', '{', '"', '\n  ', '&a', '*a', '!!binary ', '<<: *x']) + text.slice(at + 1);
  }
  return text;
}

const ENV = { PF_FUZZ_SET: 'value' };

function checkError(e: unknown): string | undefined {
  if (!(e instanceof PodflowError)) return `not a PodflowError: ${(e as Error)?.stack ?? String(e)}`;
  if (!e.message.trim()) return 'empty message';
  if (/\n\s+at .+:\d+:\d+\)?$/m.test(e.message)) return `stack trace in message: ${e.message}`;
  if (e instanceof ConfigError) {
    if (e.problems.length === 0) return 'ConfigError without problems';
    for (const p of e.problems) {
      const aboutRoot = /^(the config must be a map|has invalid keys)/.test(p.message);
      if (!p.message.trim()) return 'a problem without a message';
      if (p.path.length === 0 && !aboutRoot) return `problem without a path: ${p.message}`;
    }
  }
  return undefined;
}

t.test(`${CASES} mutated configs through the loader (seed ${SEED})`, async (t) => {
  const r = rng(SEED);
  const registry = defaultRegistry();
  t.ok(await loadConfig([`yaml:${stringify(BASE)}`], registry, ENV), 'the base config is valid');
  let valid = 0;
  let invalid = 0;
  const failures: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const text = mutate(r);
    try {
      await loadConfig([`yaml:${text}`], registry, ENV);
      valid++;
    } catch (e) {
      invalid++;
      const why = checkError(e);
      if (why && failures.length < 5) failures.push(`case ${i}: ${why}\n--- config ---\n${text}`);
    }
  }
  t.same(failures, [], 'every failure is a PodflowError with paths');
  t.ok(invalid > CASES / 2 && valid > 0, `mutations mostly invalid (${invalid} invalid, ${valid} valid)`);
});

t.test('a few dozen through bin/podflow validate: exit codes 0/1, messages with paths, no stack trace', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-fuzz-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = rng(SEED + 1);
  const registry = defaultRegistry();
  const cases = Array.from({ length: 16 }, (_, i) => {
    const file = join(dir, `c${i}.yaml`);
    writeFileSync(file, mutate(r));
    return file;
  });
  const runOne = (file: string) => new Promise<{ code: number; stderr: string }>((res) => {
    execFile(join(REPO, 'bin/podflow'), ['validate', '-c', file], { env: { ...process.env, ...ENV }, timeout: 60_000 }, (err, _out, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stderr });
    });
  });
  const results: Array<{ file: string; code: number; stderr: string }> = [];
  for (let i = 0; i < cases.length; i += 4) {
    results.push(...await Promise.all(cases.slice(i, i + 4).map(async (file) => ({ file, ...await runOne(file) }))));
  }
  for (const { file, code, stderr } of results) {
    let inProcess = 0;
    await loadConfig([file], registry, ENV).catch(() => { inProcess = 1; });
    t.equal(code, inProcess, `${file}: exit code ${code} agrees with the loader`);
    t.notMatch(stderr, /^\s+at .+:\d+:\d+\)?$/m, `${file}: no stack trace`);
    if (code === 1) t.match(stderr, /^Error: /, `${file}: an error message`);
  }
});
