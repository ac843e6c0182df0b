// Shared helpers for the config tests: where the testdata lives and how to get
// the printed problem lines out of a ConfigError.

import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/config/config-error.ts';
import { loadConfig, type ResolvedConfig } from '../../src/config/resolve.ts';
import { formatProblem } from '../../src/config/schema.ts';
import { fakeRegistry } from './fake-factories.ts';

export const testdata = (name: string): string => fileURLToPath(new URL(`testdata/${name}`, import.meta.url));

export function load(names: string[], env: NodeJS.ProcessEnv = {}): Promise<ResolvedConfig> {
  return loadConfig(names.map((n) => (n.startsWith('yaml:') ? n : testdata(n))), fakeRegistry(), env);
}

/** The code and the printed problems of the ConfigError `fn` throws; fails loudly if it throws anything else. */
export async function problemsOf(fn: () => unknown): Promise<{ code: string; lines: string[]; message: string }> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { code: e.code, lines: e.problems.map(formatProblem), message: e.message };
  }
  throw new Error('expected a ConfigError, but the config was accepted');
}
