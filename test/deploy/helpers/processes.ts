// Child processes for the deploy tests: podflow itself (bin/podflow run) and a
// real Prometheus (Debian's /usr/bin/prometheus), both on loopback only, both
// stopped in the test's teardown.

import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort, stopChild } from '../../e2e/support/podflow-process.ts';
import { REPO } from './kustomize.ts';

export { freePort };

export interface Child {
  proc: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export function startChild(cmd: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Child {
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  const keep = (d: Buffer) => { out = (out + d.toString()).slice(-20_000); };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  return {
    proc,
    output: () => out,
    stop: () => stopChild(proc),
  };
}

export function startPodflow(configFile: string): Child {
  return startChild(join(REPO, 'bin/podflow'), ['run', '--config', configFile]);
}

export function startPrometheus(dir: string, configFile: string, port: number): Child {
  return startChild('/usr/bin/prometheus', [
    `--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ]);
}

export interface Sample { metric: Record<string, string>; value: [number, string] }

/** An instant query; throws with Prometheus' error (e.g. a parse error). */
export async function promQuery(port: number, q: string): Promise<Sample[]> {
  const r = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await r.json()) as { status: string; data?: { result: Sample[] }; error?: string };
  if (body.status !== 'success') throw new Error(`query ${q}: ${body.error}`);
  return body.data!.result;
}

/** Polls `probe` until it returns a value, or throws after `ms` with the last error. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
