// Builds bench/tools/ct-inject.c (conntrack entries created and deleted over
// ctnetlink, one NEW + one DESTROY event each) once per process into a
// temporary directory and returns its path, as conntrack-storm.ts does.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bench/tools/ct-inject.c');
let built: string | undefined;

export function injectBinary(): string {
  if (built) return built;
  const dir = mkdtempSync(join(tmpdir(), 'pf-ct-inject-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'ct-inject');
  execFileSync('cc', ['-O2', '-o', out, SRC], { stdio: ['ignore', 'ignore', 'pipe'] });
  built = out;
  return out;
}
