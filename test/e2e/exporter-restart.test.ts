// The whole program: a persistent sending queue survives kill -9 (what was
// queued is delivered by the next run), and SIGTERM with a backlog at a slow
// backend drains it before exiting 0. bin/podflow run with the synthetic
// receiver, whose flows are a pure function of its seed, so the exact totals
// are known; loopback only.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Problem } from '../../src/config/schema.ts';
import { syntheticReceiverFactory } from '../../src/receiver/synthetic/factory.ts';
import { generateInterval } from '../../src/receiver/synthetic/generate.ts';
import { FlakyOtlpBackend } from './support/flaky-otlp-backend.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const STOPPED = /synthetic flows stopped after stop_after intervals/;

function syntheticBytes(raw: Record<string, unknown>): number {
  const problems: Problem[] = [];
  const c = syntheticReceiverFactory.configSchema.decodeOrDefault(raw, ['receivers', 'synthetic'], problems)!;
  let bytes = 0;
  for (let i = 0; i < c.stop_after; i++) {
    const b = generateInterval(c, i);
    for (let r = 0; r < b.length; r++) bytes += b.counters.bytes[r]!;
  }
  return bytes;
}

function run(dir: string, name: string, synthetic: Record<string, unknown>, port: number, storageDir: string): { child: ChildProcess; exited: Promise<number | null>; stderr: () => string } {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `receivers:
  synthetic: ${JSON.stringify(synthetic)}
exporters:
  otlp_http:
    endpoint: http://127.0.0.1:${port}
    temporality: delta
    export_interval: 100ms
    timeout: 2s
    retry_on_failure: { initial_interval: 100ms, max_interval: 500ms }
    sending_queue: { storage_dir: ${JSON.stringify(storageDir)} }
    shutdown_timeout: 20s
service:
  telemetry: { metrics: { level: none }, logs: { level: info } }
  pipelines:
    metrics: { receivers: [synthetic], exporters: [otlp_http] }
`);
  const child = spawn(join(REPO, 'bin/podflow'), ['run', '-c', file], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, exited, stderr: () => err };
}

t.test('persistent queue: kill -9 with data queued, the next run delivers it; SIGTERM drains a backlog and exits 0', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-exporter-restart-'));
  const storage = join(dir, 'queue');
  const backend = new FlakyOtlpBackend('http');
  await backend.start();
  const children: ChildProcess[] = [];
  t.teardown(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await backend.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // Run 1: the backend throttles (503, Retry-After: 1) the whole time.
  backend.mode = { kind: 'throttle', delayMs: 1000 };
  const first = { seed: 11, interval: '50ms', flows_per_interval: 30, connections_per_second: 40, stop_after: 16 };
  const r1 = run(dir, 'first', first, backend.port, storage);
  children.push(r1.child);
  // All intervals emitted, then a few export intervals so the last one is collected and queued.
  await backend.waitFor(() => STOPPED.test(r1.stderr()), 60_000);
  await sleep(800);
  const queued = readdirSync(storage).filter((f) => f.endsWith('.json')).length;
  t.ok(queued >= 3, `items are on disk (${queued})`);
  r1.child.kill('SIGKILL');
  t.equal(await r1.exited, null, 'killed');
  t.equal(backend.accepted.length, 0, 'nothing was accepted during run 1');

  // Run 2: the backend accepts, slowly, so a backlog builds while run 2 produces its own.
  backend.mode = { kind: 'slow', delayMs: 150 };
  const second = { seed: 12, interval: '20ms', flows_per_interval: 30, connections_per_second: 40, stop_after: 40 };
  const r2 = run(dir, 'second', second, backend.port, storage);
  children.push(r2.child);
  await backend.waitFor(() => STOPPED.test(r2.stderr()), 60_000);
  await sleep(300);
  r2.child.kill('SIGTERM');
  const code = await r2.exited;
  if (code !== 0) t.comment(r2.stderr());
  t.equal(code, 0, 'exits 0 after SIGTERM');
  t.match(r2.stderr(), /Restored persisted queue items/, 'run 2 restored the queue');
  t.notMatch(r2.stderr(), /Dropping data|"level":"error"/, 'nothing dropped, no error');
  const want = syntheticBytes(first) + syntheticBytes(second);
  t.ok(want > 0);
  t.equal(backend.total('network.flow.bytes'), want, 'every byte of both runs arrived: run 1 from the disk queue, run 2 drained on SIGTERM');
  t.same(readdirSync(storage).filter((f) => f.endsWith('.json')), [], 'the queue directory is empty after a drained shutdown');
});
