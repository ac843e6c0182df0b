// The only place podflow loads compiled .node addons. Every path tried is kept,
// with the reason it failed, so a missing build or a wrong architecture is
// diagnosed from the error message alone.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PodflowError } from '../errors/podflow-error.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const require = createRequire(import.meta.url);
const cache = new Map<string, unknown>();

/** Candidate locations of `<name>.node`, most specific first. */
export function addonCandidates(dir: string, name: string): string[] {
  const env = process.env[`PODFLOW_${name.toUpperCase()}_ADDON`];
  return [
    ...(env ? [resolve(env)] : []),
    resolve(repoRoot, dir, 'build/Release', `${name}.node`),
    resolve(repoRoot, dir, 'build/Debug', `${name}.node`),
    resolve('/usr/lib/podflow', `${name}.node`),
  ];
}

/**
 * Loads the addon `name` built from `native/<dir>`; throws PODFLOW_NATIVE_LOAD
 * listing each path tried and why it failed.
 */
export function loadAddon<T>(dir: string, name: string): T {
  const hit = cache.get(name);
  if (hit) return hit as T;
  const tried: string[] = [];
  for (const path of addonCandidates(dir, name)) {
    if (!existsSync(path)) {
      tried.push(`${path}: not found`);
      continue;
    }
    try {
      const mod = require(path) as T;
      cache.set(name, mod);
      return mod;
    } catch (e) {
      tried.push(`${path}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new PodflowError(
    'PODFLOW_NATIVE_LOAD',
    `cannot load native addon ${name} (run 'make setup' to build native/${dir}); tried:\n  ${tried.join('\n  ')}`,
  );
}
