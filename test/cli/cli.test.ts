// The command line as a user meets it: bin/podflow in a child process.

import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { factories } from '../../src/components.ts';

const bin = fileURLToPath(new URL('../../bin/podflow', import.meta.url));

function podflow(...args: string[]) {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('--version and --help', async (t) => {
  t.match(podflow('--version').stdout, /^podflow \d+\.\d+\.\d+\n$/);
  const help = podflow('--help');
  t.equal(help.code, 0);
  t.match(help.stdout, /podflow run \[-c FILE\]/);
  t.match(help.stdout, /podflow validate -c FILE/);
});

t.test('components --json lists every registered factory with its aliases', async (t) => {
  const r = podflow('components', '--json');
  t.equal(r.code, 0);
  const rows = JSON.parse(r.stdout) as Array<{ kind: string; type: string; stability: string; aliases: string[] }>;
  t.same(rows.map((x) => `${x.kind}/${x.type}`).sort(), factories.map((f) => `${f.kind}/${f.type}`).sort());
  const grpc = rows.find((x) => x.type === 'otlp_grpc');
  t.same(grpc?.aliases, ['otlp']);
});

t.test('validate: a good config exits 0', async (t) => {
  const r = podflow('validate', '-c', fileURLToPath(new URL('../../config/default.yaml', import.meta.url)));
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /config is valid: 1 pipeline\(s\) \[metrics\]/);
});

t.test('validate: every problem at once, with paths, exit 1, no stack trace', async (t) => {
  const r = podflow(
    'validate',
    '-c', 'yaml:receivers: {synthetc: {}, synthetic: {seed: x}}',
    '-c', 'yaml:exporters: {otlp_grpc: {endpont: "a:1"}}',
    '-c', 'yaml:service: {pipelines: {metrics: {receivers: [synthetic], exporters: [otlp_http]}}}',
  );
  t.equal(r.code, 1);
  t.match(r.stderr, /^Error: invalid configuration: 4 problems\n/);
  t.match(r.stderr, /receivers: unknown type: "synthetc" for id: "synthetc" \(valid values: \[/);
  t.match(r.stderr, /receivers::synthetic::seed: expected an integer, got "x"/);
  t.match(r.stderr, /exporters::otlp_grpc: has invalid keys: endpont/);
  t.match(r.stderr, /service::pipelines::metrics: references exporter "otlp_http" which is not configured/);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

t.test('malformed YAML, a missing file, a bad command: clear errors, no stack trace', async (t) => {
  const yaml = podflow('validate', '-c', 'yaml:a: [b');
  t.equal(yaml.code, 1);
  t.match(yaml.stderr, /^Error: "yaml:a: \[b":1:\d+: /);
  const missing = podflow('validate', '-c', '/nonexistent/podflow.yaml');
  t.equal(missing.code, 1);
  t.match(missing.stderr, /cannot read config file "\/nonexistent\/podflow.yaml": ENOENT/);
  const bad = podflow('frobnicate');
  t.equal(bad.code, 1);
  t.match(bad.stderr, /unknown command "frobnicate"/);
  const opt = podflow('run', '--bogus');
  t.equal(opt.code, 2);
  t.match(opt.stderr, /Unknown option '--bogus'/);
  for (const r of [yaml, missing, bad, opt]) t.notMatch(r.stderr, /\n\s+at /);
});

t.test('run: starts, serves self-telemetry, exits 0 on SIGTERM', async (t) => {
  const child = spawn(bin, [
    'run', '-c',
    'yaml:{receivers: {synthetic: {interval: 100ms}}, exporters: {debug: {verbosity: basic}}, ' +
      'service: {telemetry: {metrics: {address: "127.0.0.1:0"}, logs: {level: info, encoding: json}}, pipelines: {metrics: {receivers: [synthetic], exporters: [debug]}}}}',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const deadline = Date.now() + 90_000; // start-up is slow on a loaded 2-core CI machine
  while (!stderr.includes('"msg":"Flows"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  t.match(stderr, /Everything is ready/);
  t.match(stderr, /"msg":"Flows"/, 'the debug exporter saw flows');
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.equal(await exit, 0);
  t.match(stderr, /"msg":"shutting down","signal":"SIGTERM"/);
  for (const line of stderr.trim().split('\n')) t.doesNotThrow(() => JSON.parse(line), 'every log line is JSON');
});
