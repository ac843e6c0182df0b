// The whole program: a persistent sending queue survives kill -9 (what was
// queued is delivered by the next run), and SIGTERM with a backlog at a slow
// backend drains it before exiting 0, for metrics, flow logs and connection
// spans alike. bin/podflow run with the synthetic receiver, whose flows are a
// pure function of its seed, so the exact totals are known; loopback only.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { Problem } from '../../src/config/schema.ts';
import { syntheticReceiverFactory } from '../../src/receiver/synthetic/factory.ts';
import { generateInterval } from '../../src/receiver/synthetic/generate.ts';
import { FlowLogBuilder } from '../../src/exporter/internal/flow-logs/flow-log-records.ts';
import { ConnectionSpanBuilder } from '../../src/exporter/internal/flow-spans/connection-spans.ts';
import { logsSchema, tracesSchema } from '../../src/exporter/internal/flow-connections/signal-config.ts';
import type { LogRecordOut, SpanOut } from './support/otlp-signal-sink.ts';
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

const RESOURCE = { hostName: 'h', nodeName: 'n', serviceVersion: '0' };
type Attrs = Record<string, unknown>;
/** A connection record as a comparable key: its ends and counters. */
const key = (a: Attrs) => ['client.address', 'client.port', 'server.address', 'server.port', 'flow.state',
  'flow.bytes.client_to_server', 'flow.bytes.server_to_client', 'flow.packets.client_to_server', 'flow.packets.server_to_client']
  .map((k) => String(a[k])).join(' ');

/** What the logs and traces pipelines of a synthetic run must deliver, built from the same pure batches. */
function syntheticSignals(raw: Record<string, unknown>): { logs: string[]; spans: string[] } {
  const problems: Problem[] = [];
  const c = syntheticReceiverFactory.configSchema.decodeOrDefault(raw, ['receivers', 'synthetic'], problems)!;
  const logBuilder = new FlowLogBuilder(logsSchema.decodeOrDefault(undefined, ['logs'], problems)!, RESOURCE);
  const spanBuilder = new ConnectionSpanBuilder(tracesSchema.decodeOrDefault(undefined, ['traces'], problems)!, RESOURCE);
  const logs: string[] = [];
  const spans: string[] = [];
  for (let i = 0; i < c.stop_after; i++) {
    const b = generateInterval(c, i);
    for (const r of logBuilder.build(b, () => undefined)) logs.push(key(r.attributes as Attrs));
    for (const s of spanBuilder.build(b, () => undefined)) spans.push(key(s.attributes as Attrs));
  }
  return { logs, spans };
}

const received = (rs: Array<LogRecordOut | SpanOut>) => rs.map((r) => key(r.attributes)).sort();

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
    logs: { receivers: [synthetic], exporters: [otlp_http] }
    traces: { receivers: [synthetic], exporters: [otlp_http] }
`);
  const child = spawn(join(REPO, 'bin/podflow'), ['run', '-c', file], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, exited, stderr: () => err };
}

t.test('persistent queue: kill -9 with metrics, logs and spans queued, the next run delivers them; SIGTERM drains a backlog and exits 0', async (t) => {
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
  for (const signal of ['logs', 'traces']) {
    const n = readdirSync(join(storage, signal)).filter((f) => f.endsWith('.json')).length;
    t.ok(n >= 3, `${signal} requests are on disk (${n})`);
  }
  r1.child.kill('SIGKILL');
  t.equal(await r1.exited, null, 'killed');
  t.equal(backend.accepted.length + backend.acceptedLogs.length + backend.acceptedSpans.length, 0, 'nothing was accepted during run 1');

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
  const [s1, s2] = [syntheticSignals(first), syntheticSignals(second)];
  const wantLogs = [...s1.logs, ...s2.logs].sort();
  const wantSpans = [...s1.spans, ...s2.spans].sort();
  t.ok(s1.logs.length > 0 && s1.spans.length > 0 && s2.logs.length > 0 && s2.spans.length > 0, `logs ${wantLogs.length}, spans ${wantSpans.length}`);
  t.same(received(backend.acceptedLogs.flat()), wantLogs, 'every flow log record of both runs arrived once, counters intact');
  t.same(received(backend.acceptedSpans.flat()), wantSpans, 'every connection span of both runs arrived once, counters intact');
  const logBytes = backend.acceptedLogs.flat().reduce((n, l) => n + Number(l.attributes['flow.bytes.client_to_server']) + Number(l.attributes['flow.bytes.server_to_client']), 0);
  t.equal(logBytes, want, 'the flow logs carry every byte the metrics do');
  t.same(readdirSync(storage).filter((f) => f.endsWith('.json')), [], 'the queue directory is empty after a drained shutdown');
  for (const signal of ['logs', 'traces']) t.same(readdirSync(join(storage, signal)), [], `${signal}: the queue directory is empty`);
});
