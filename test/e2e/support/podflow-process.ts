// Starts `bin/podflow run -c <file>` for an end-to-end test and stops it in the
// test's teardown (SIGTERM, then SIGKILL), keeping its output for failure messages.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

export const ROOT = new URL('../../../', import.meta.url).pathname;

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', () => res()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

export interface PodflowProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
}

/** Runs podflow with `yaml` as its only config; killed in t.teardown. */
export function startPodflow(t: Test, prefix: string, yaml: string): PodflowProcess {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, yaml);
  const child = spawn(join(ROOT, 'bin/podflow'), ['run', '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  t.teardown(async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  });
  return { child, output: () => out };
}

/** SIGTERM, then SIGKILL after 10 s; resolves once the child is gone. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Polls `fn` until it returns a value other than undefined; throws with `what` and podflow's output after `ms`. */
export async function until<T>(what: string, p: PodflowProcess, fn: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null) throw new Error(`podflow exited (${p.child.exitCode}) while waiting for ${what}:\n${p.output()}`);
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what} (last error: ${String(last)}); podflow output:\n${p.output()}`);
}
