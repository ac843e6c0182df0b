// The JavaScript build is what podflow runs (bin/podflow, the image): build it
// the way `make setup` does (scripts/setup.d/10-build.sh, a no-op when dist/
// is current) and run the CLI from dist/ with type stripping turned off, so a
// module the build left out, an import still naming a .ts file, a worker or
// asset resolved from the wrong place fails here instead of in a DaemonSet.

import t, { type Test } from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, stopChild, until, type PodflowProcess } from '../e2e/support/podflow-process.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE = join(ROOT, 'node_modules/.bin/node');
const MAIN = join(ROOT, 'dist/cli/main.js');
// Any .ts module loaded from the build would throw ERR_UNKNOWN_FILE_EXTENSION.
const JS_ONLY = ['--no-experimental-strip-types'];

execFileSync('bash', [join(ROOT, 'scripts/setup.d/10-build.sh')], { stdio: 'inherit' });

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f));
}

/** `node dist/cli/main.js run -c <yaml>`, stopped in the teardown. */
function startBuilt(t: Test, yaml: string): PodflowProcess {
  const dir = mkdtempSync(join(tmpdir(), 'podflow-built-cli-'));
  writeFileSync(join(dir, 'config.yaml'), yaml);
  const child = spawn(NODE, [...JS_ONLY, MAIN, 'run', '-c', join(dir, 'config.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  t.teardown(async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  });
  return { child, output: () => out };
}

t.test('dist/ holds JavaScript for every module of src/ and imports no .ts file', async (t) => {
  const src = files(join(ROOT, 'src')).filter((f) => f.endsWith('.ts'));
  const missing = src.map((f) => f.replace(`${ROOT}src/`, `${ROOT}dist/`).replace(/\.ts$/, '.js')).filter((f) => !existsSync(f));
  t.same(missing, [], 'a .js file per .ts file');
  const js = files(join(ROOT, 'dist')).filter((f) => f.endsWith('.js'));
  const tsImports = js.filter((f) => /(?:from\s*|import\s*\(\s*)['"]\.{1,2}\/[^'"]*\.ts['"]/.test(readFileSync(f, 'utf8')));
  t.same(tsImports, [], 'no relative import of a .ts file');
  t.ok(existsSync(join(ROOT, 'dist/extension/flows_ui/page/index.html')), 'the flows_ui page is copied');
});

t.test('bin/podflow runs the build while it is current, with bin/node-flags', async (t) => {
  const flags = readFileSync(join(ROOT, 'bin/node-flags'), 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
  t.ok(flags.length > 0, 'bin/node-flags names flags');
  // `sh -x` traces the exec line the script ends with.
  const r = spawnSync('sh', ['-x', join(ROOT, 'bin/podflow'), '--version'], { encoding: 'utf8' });
  t.equal(r.status, 0, 'exits 0');
  t.match(r.stdout, /^podflow \d+\.\d+\.\d+\n$/);
  const exec = r.stderr.split('\n').find((l) => l.startsWith('+ exec ')) ?? r.stderr;
  t.ok(/^\+ exec \S+\/node_modules\/\.bin\/node .*\/dist\/cli\/main\.js --version$/.test(exec), `execs dist/cli/main.js: ${exec}`);
  for (const f of flags) t.ok(exec.split(' ').includes(f), `passes ${f}`);
});

t.test('bin/podflow runs node with bin/node-env, unless podflow\'s environment sets the variable', async (t) => {
  const vars = readFileSync(join(ROOT, 'bin/node-env'), 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
  t.ok(vars.length > 0, 'bin/node-env names variables');
  const names = vars.map((v) => v.slice(0, v.indexOf('=')));
  // `sh -x` traces each export; exec hands the exported environment to node.
  const exports = (env: NodeJS.ProcessEnv) => {
    const r = spawnSync('sh', ['-x', join(ROOT, 'bin/podflow'), '--version'], { encoding: 'utf8', env });
    t.equal(r.status, 0, r.stderr);
    return r.stderr.split('\n').filter((l) => l.startsWith('+ export ')).map((l) => l.slice('+ export '.length));
  };
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !names.includes(k)));
  t.same(exports(base), vars, 'exports every variable of bin/node-env');
  t.same(exports({ ...base, [names[0]!]: 'kept' }), vars.slice(1), `leaves ${names[0]} as the environment sets it`);
});

t.test('validate and components from dist/ without type stripping', async (t) => {
  const run = (...args: string[]) => spawnSync(NODE, [...JS_ONLY, MAIN, ...args], { encoding: 'utf8', cwd: ROOT });
  const v = run('validate', '-c', join(ROOT, 'config/default.yaml'));
  t.equal(v.status, 0, v.stderr);
  t.match(v.stdout, /config is valid: 1 pipeline\(s\) \[metrics\]/);
  const c = run('components', '--json');
  t.equal(c.status, 0, c.stderr);
  t.ok((JSON.parse(c.stdout) as unknown[]).length > 10, 'the registry loads');
});

t.test('the component registry loads no gRPC, HTTP/2, TLS or undici until a config asks for them', async (t) => {
  // What a Prometheus-only DaemonSet would otherwise carry in every process (see src/service/grpc-js.ts, node-builtins.ts).
  const probe = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(join(ROOT, 'dist/components.js'))});
    const cache = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify({
      builtins: process.moduleLoadList.filter((m) => /^NativeModule (http2|https|tls|internal\\/deps\\/undici\\/undici)$/.test(m)),
      grpc: cache.filter((f) => f.includes('@grpc/grpc-js')).length,
    }));`;
  const r = spawnSync(NODE, [...JS_ONLY, '--input-type=module', '-e', probe], { encoding: 'utf8', cwd: ROOT });
  t.equal(r.status, 0, r.stderr);
  const loaded = JSON.parse(r.stdout) as { builtins: string[]; grpc: number };
  t.same(loaded.builtins, [], 'no node:http2, node:https, node:tls or undici');
  t.equal(loaded.grpc, 0, 'no @grpc/grpc-js module');
});

t.test('run from dist/: synthetic flows through a flow_aggregate worker to the debug exporter, flows_ui serves its page', async (t) => {
  const ui = await freePort();
  const telemetry = await freePort();
  const p = startBuilt(t, `
receivers:
  synthetic: {interval: 100ms, flows_per_interval: 50}
processors:
  flow_aggregate: {interval: 200ms, workers: 1}
exporters:
  debug: {}
extensions:
  flows_ui: {endpoint: "127.0.0.1:${ui}"}
service:
  extensions: [flows_ui]
  telemetry:
    metrics: {address: "127.0.0.1:${telemetry}"}
    logs: {level: info}
  pipelines:
    metrics: {receivers: [synthetic], processors: [flow_aggregate], exporters: [debug]}
`);
  // The debug exporter logs one "Flows" line per batch it receives: here, the groups flow_aggregate emitted.
  await until('a batch of groups at the debug exporter', p, async () => (/Flows/.test(p.output()) ? true : undefined), 60_000);
  const page = await until('the flows_ui page', p, async () => {
    const r = await fetch(`http://127.0.0.1:${ui}/`);
    return r.ok ? r.text() : undefined;
  }, 30_000);
  t.match(page, /<html/i);
  const metrics = await (await fetch(`http://127.0.0.1:${telemetry}/metrics`)).text();
  t.match(metrics, /podflow_processor_outgoing_flows_total\{[^}]*processor="flow_aggregate"[^}]*\} [1-9]/, 'groups left the worker');
  t.notMatch(p.output(), /ERR_UNKNOWN_FILE_EXTENSION|Error \[ERR_/, 'no module error');
});
