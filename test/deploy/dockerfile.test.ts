// No Docker engine runs here, so the image cannot be built in a test; this
// keeps the Dockerfile honest by reading it: the Node version in every FROM
// is the one package.json pins, every COPY source exists and survives
// .dockerignore, every native addon is built by a step the image runs, the
// build stage installs what the set-up installs for bpf/ and native/, and the
// image runs what the DaemonSet expects.

import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DEPLOY, REPO } from './helpers/kustomize.ts';

interface Instruction { op: string; args: string; line: number }

/** The Dockerfile's instructions, with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (pending && line.startsWith('#')) return;
    if (!pending) start = i + 1;
    pending += (pending ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (line.endsWith('\\')) return;
    const m = /^(\S+)\s+(.*)$/.exec(pending)!;
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!, line: start });
    pending = '';
  });
  return out;
}

/** Whether a .dockerignore pattern excludes `path` (or a directory above it). */
function ignored(patterns: string[], path: string): boolean {
  // Docker's rules: "**/" is any number of directories (zero too), "*" and "?" stay within one.
  const toRegex = (p: string) => new RegExp(`^${p
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*\*\//g, '\u0001').replace(/\*\*/g, '\u0000')
    .replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')
    .replace(/\u0001/g, '(?:.*/)?').replace(/\u0000/g, '.*')}$`);
  const parts = path.replace(/\/$/, '').split('/');
  let out = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const re = toRegex((negate ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, ''));
    for (let i = 1; i <= parts.length; i++) if (re.test(parts.slice(0, i).join('/'))) out = !negate;
  }
  return out;
}

const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const ins = instructions(dockerfile);
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
const dockerignore = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const stages = ins.filter((i) => i.op === 'FROM');
const lastFrom = ins.lastIndexOf(stages.at(-1)!);
const buildStage = ins.slice(0, lastFrom);
const runtimeStage = ins.slice(lastFrom);

t.test('every FROM is the Node version package.json pins', async (t) => {
  const pinned = pkg.devDependencies.node;
  t.match(pinned, /^\d+\.\d+\.\d+$/, 'package.json pins an exact Node version');
  t.ok(stages.length >= 2, 'a build stage and a runtime stage');
  for (const s of stages) t.match(s.args, new RegExp(`^node:${pinned.replaceAll('.', '\\.')}-\\S+(\\s|$)`), `line ${s.line}: ${s.args}`);
  const images = new Set(stages.map((s) => s.args.split(/\s+/)[0]));
  t.equal(images.size, 1, 'build and runtime stages share the base image');
});

t.test('every COPY source exists in the build context', async (t) => {
  const names = new Set(stages.map((s) => /\sAS\s+(\S+)/i.exec(s.args)?.[1]).filter(Boolean));
  for (const c of ins.filter((i) => i.op === 'COPY' || i.op === 'ADD')) {
    const words = c.args.split(/\s+/);
    const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
    const paths = words.filter((w) => !w.startsWith('--'));
    const sources = paths.slice(0, -1);
    t.ok(sources.length > 0, `line ${c.line}: has a source`);
    if (from) {
      t.ok(names.has(from), `line ${c.line}: stage "${from}" exists`);
      continue;
    }
    for (const s of sources) {
      t.ok(existsSync(join(REPO, s)), `line ${c.line}: ${s} exists`);
      t.notOk(ignored(dockerignore, s), `line ${c.line}: ${s} is not excluded by .dockerignore`);
    }
  }
});

t.test('every native addon is built by a set-up step the image runs', async (t) => {
  const runs = buildStage.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
  const scripts = [...runs.matchAll(/scripts\/setup\.d\/[\w.-]+\.sh/g)].map((m) => m[0]);
  t.ok(scripts.length > 0, 'runs set-up build steps');
  for (const s of scripts) t.ok(existsSync(join(REPO, s)), `${s} exists`);
  const scriptText = scripts.filter((s) => existsSync(join(REPO, s))).map((s) => readFileSync(join(REPO, s), 'utf8')).join('\n');
  const addons = readdirSync(join(REPO, 'native'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(REPO, 'native', d.name, 'binding.gyp')))
    .map((d) => d.name);
  t.ok(addons.length > 0, 'native/ has addons');
  for (const a of addons) t.ok(scriptText.includes(`native/${a}`), `native/${a} is built by ${scripts.join(', ')}`);
  t.match(runs, /npm ci/, 'npm ci');
  t.match(runs, /npm prune --omit=dev/, 'dev dependencies pruned');
});

t.test('the build stage installs the Debian packages the set-up installs for bpf/ and native/', async (t) => {
  const setup = readFileSync(join(REPO, 'scripts/setup.sh'), 'utf8');
  const block = /APT_PACKAGES=\(([\s\S]*?)\n\)/.exec(setup)?.[1] ?? '';
  const needed = block.split('\n')
    .filter((l) => /#.*(bpf\/|native\/)/.test(l))
    .flatMap((l) => l.split('#')[0]!.trim().split(/\s+/).filter(Boolean));
  t.ok(needed.length > 0, `setup.sh names build packages: ${needed.join(' ')}`);
  const apt = buildStage.filter((i) => i.op === 'RUN' && i.args.includes('apt-get install')).map((i) => i.args).join(' ').split(/\s+/);
  for (const p of needed) t.ok(apt.includes(p), `build stage installs ${p}`);
});

t.test('the image runs bin/podflow with the config the DaemonSet mounts', async (t) => {
  const json = (op: string) => JSON.parse(runtimeStage.find((i) => i.op === op)?.args ?? 'null') as string[] | null;
  t.same(json('ENTRYPOINT'), ['/app/bin/podflow'], 'ENTRYPOINT bin/podflow');
  const ds = parse(readFileSync(join(DEPLOY, 'base/daemonset.yaml'), 'utf8')) as {
    spec: { template: { spec: { containers: Array<{ args: string[] }> } } };
  };
  t.same(json('CMD'), ds.spec.template.spec.containers[0]!.args, 'CMD = the DaemonSet\'s args');
  const copied = runtimeStage.filter((i) => i.op === 'COPY' && !i.args.includes('--from')).map((i) => i.args.split(/\s+/)[0]);
  // package.json: "type": "module" and the version; config/: the embedded default.
  for (const need of ['package.json', 'bin/', 'config/']) t.ok(copied.includes(need), `runtime stage has ${need}`);
  // The app itself is the JavaScript build (scripts/setup.d/10-build.sh) made in the build stage, not src/.
  t.ok(buildStage.some((i) => i.op === 'RUN' && i.args.includes('scripts/setup.d/10-build.sh')), 'the build stage compiles src/');
  t.ok(runtimeStage.some((i) => i.op === 'COPY' && /--from=build\s+\/app\/dist\/?\s+dist\/?$/.test(i.args)), 'runtime stage has dist/ from the build stage');
  t.notOk(copied.includes('src/'), 'runtime stage runs the build, not the TypeScript sources');
  t.match(runtimeStage.map((i) => i.args).join('\n'), /node_modules\/\.bin\/node/, 'bin/podflow finds a node in node_modules/.bin');
});
