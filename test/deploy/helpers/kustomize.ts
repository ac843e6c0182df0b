// Renders the deploy/ kustomize tree with `kubectl kustomize` (kustomize v5,
// offline) into plain objects. scripts/setup.d/40-deploy.sh provides kubectl:
// node_modules/.cache/podflow-kubectl/kubectl when it had to unpack one,
// otherwise the one on PATH.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DEPLOY = join(REPO, 'deploy');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

let kubectl: string | undefined;

/** The kubectl to use; throws when none has kustomize v5+. */
export function kubectlPath(): string {
  if (kubectl) return kubectl;
  const local = join(REPO, 'node_modules/.cache/podflow-kubectl/kubectl');
  const candidate = existsSync(local) ? local : 'kubectl';
  let out: string;
  try {
    out = execFileSync(candidate, ['version', '--client'], { encoding: 'utf8' });
  } catch (e) {
    throw new Error(`cannot run ${candidate} (run scripts/setup.d/40-deploy.sh): ${(e as Error).message}`);
  }
  const m = /Kustomize Version: v(\d+)/.exec(out);
  if (!m || Number(m[1]) < 5) throw new Error(`${candidate} has no kustomize v5 (${out.trim()}); run scripts/setup.d/40-deploy.sh`);
  kubectl = candidate;
  return candidate;
}

/** `kubectl kustomize DIR`, parsed; throws with kustomize's message on failure. */
export function render(dir: string): K8sObject[] {
  let out: string;
  try {
    out = execFileSync(kubectlPath(), ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`kubectl kustomize ${dir} failed: ${err.stderr || err.message}`);
  }
  return parseAllDocuments(out).map((d) => {
    if (d.errors.length) throw new Error(`${dir}: rendered YAML does not parse: ${d.errors[0]!.message}`);
    return d.toJS() as K8sObject;
  });
}

export function kindOf(file: string): string | undefined {
  const doc = parseAllDocuments(readFileSync(file, 'utf8'))[0]?.toJS() as { kind?: string } | undefined;
  return doc?.kind;
}

/**
 * Every directory under deploy/ with a kustomization.yaml, split into
 * Kustomizations (rendered as they are) and Components (rendered on top of
 * deploy/base by the tests).
 */
export function kustomizations(): { kustomizations: string[]; components: string[] } {
  const kustomizations: string[] = [];
  const components: string[] = [];
  const walk = (dir: string) => {
    const file = join(dir, 'kustomization.yaml');
    if (existsSync(file)) (kindOf(file) === 'Component' ? components : kustomizations).push(dir);
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
  };
  walk(DEPLOY);
  return { kustomizations: kustomizations.sort(), components: components.sort() };
}

/** The objects of one kind in a rendering. */
export function ofKind<T = K8sObject>(objects: K8sObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

export interface Rendering {
  /** deploy/-relative directory, or "base + components/NAME". */
  name: string;
  objects: K8sObject[];
}

/** Renders every Kustomization under deploy/, and every Component on top of deploy/base. */
export function renderAll(tmpDir: string): Rendering[] {
  const { kustomizations: ks, components } = kustomizations();
  const out: Rendering[] = ks.map((dir) => ({ name: relative(DEPLOY, dir), objects: render(dir) }));
  for (const dir of components) {
    // kustomize refuses absolute paths in resources/components, so the
    // wrapper names them relative to itself.
    const wrapper = mkdtempSync(join(tmpDir, 'component-'));
    writeFileSync(join(wrapper, 'kustomization.yaml'), [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      `resources: [${JSON.stringify(relative(wrapper, join(DEPLOY, 'base')))}]`,
      `components: [${JSON.stringify(relative(wrapper, dir))}]`,
      '',
    ].join('\n'));
    out.push({ name: `base + ${relative(DEPLOY, dir)}`, objects: render(wrapper) });
  }
  return out;
}
