// Builds conntrack-storm.c (the connection storm generator) once per process
// into a temporary directory and returns its path.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), 'conntrack-storm.c');
let built: string | undefined;

export function stormBinary(): string {
  if (built) return built;
  const dir = mkdtempSync(join(tmpdir(), 'pf-ct-storm-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'conntrack-storm');
  execFileSync('cc', ['-O2', '-o', out, SRC], { stdio: ['ignore', 'ignore', 'pipe'] });
  built = out;
  return out;
}
