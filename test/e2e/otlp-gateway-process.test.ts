// The whole program in gateway mode: a `bin/podflow run` node agent (synthetic
// receiver) exports metrics both straight to a backend and to a second
// `bin/podflow run` acting as gateway (otlp receiver → otlp exporter); the
// gateway's network.flow.* sums equal the direct ones. The agent also runs
// logs and traces pipelines, to a backend and to the gateway, whose own logs
// and traces pipelines rebuild the same records and spans (decoded with the
// official protos). Loopback only, no root.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { OtlpSink, type Point } from './support/otlp-sink.ts';
import { OtlpSignalSink } from './support/otlp-signal-sink.ts';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const sink = new OtlpSink();
const signals = new OtlpSignalSink();
const gwSignals = new OtlpSignalSink();
t.before(async () => { await sink.start(); await signals.start(); await gwSignals.start(); });
t.teardown(async () => { await sink.stop(); await signals.stop(); await gwSignals.stop(); });

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Running { child: ChildProcess; exited: Promise<number | null>; ready: Promise<void>; stderr: () => string }

function run(t: { teardown(fn: () => void): void }, file: string): Running {
  const child = spawn(join(REPO, 'bin/podflow'), ['run', '-c', file], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((res) => { onReady = res; });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.includes('Everything is ready')) onReady();
  });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  return { child, exited, ready, stderr: () => stderr };
}

const within = <T>(p: Promise<T>, ms: number, what: string) => Promise.race([p, new Promise<T>((_, rej) => setTimeout(() => rej(new Error(`${what}: not within ${ms} ms`)), ms))]);

const sums = (points: Point[]) => points.filter((p) => p.kind === 'sum' && p.metric.startsWith('network.flow.'))
  .map((p) => `${p.metric} ${JSON.stringify(Object.entries(p.attributes).sort())} = ${String(p.value)}`).sort();
const lastOf = (path: string) => sink.requests.filter((r) => r.headers['x-path'] === path).at(-1);

t.test('bin/podflow agent → bin/podflow gateway gives the agent\'s own sums; logs and traces pipelines run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-otlp-gateway-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const gwPort = await freePort();
  const telemetry = 'telemetry: { metrics: { level: none }, logs: { level: info } }';
  writeFileSync(join(dir, 'gateway.yaml'), `receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:${gwPort} }
exporters:
  otlp:
    endpoint: http://127.0.0.1:${sink.grpcPort}
    headers: { x-path: gateway }
    export_interval: 200ms
  otlp/signals:
    endpoint: http://127.0.0.1:${gwSignals.grpcPort}
service:
  ${telemetry}
  pipelines:
    metrics: { receivers: [otlp], exporters: [otlp] }
    logs: { receivers: [otlp], exporters: [otlp/signals] }
    traces: { receivers: [otlp], exporters: [otlp/signals] }
`);
  writeFileSync(join(dir, 'agent.yaml'), `receivers:
  synthetic: { seed: 3, interval: 50ms, flows_per_interval: 10, connections_per_second: 40, stop_after: 20 }
exporters:
  otlp/gateway:
    endpoint: http://127.0.0.1:${gwPort}
    export_interval: 200ms
  otlp/direct:
    endpoint: http://127.0.0.1:${sink.grpcPort}
    headers: { x-path: direct }
    export_interval: 200ms
  otlp/signals:
    endpoint: http://127.0.0.1:${signals.grpcPort}
service:
  ${telemetry}
  pipelines:
    metrics: { receivers: [synthetic], exporters: [otlp/gateway, otlp/direct] }
    logs: { receivers: [synthetic], exporters: [otlp/signals, otlp/gateway] }
    traces: { receivers: [synthetic], exporters: [otlp/signals, otlp/gateway] }
`);
  const gateway = run(t, join(dir, 'gateway.yaml'));
  // The gateway listens before the agent's first export.
  await within(gateway.ready, 30_000, 'gateway ready');
  const agent = run(t, join(dir, 'agent.yaml'));
  try {
    await within(agent.ready, 30_000, 'agent ready');
    // The synthetic receiver stops after 20 intervals (1 s); then the sums stop changing.
    await new Promise((r) => setTimeout(r, 2000));
    agent.child.kill('SIGTERM');
    t.equal(await agent.exited, 0, 'agent exits 0');
    const want = sums(lastOf('direct')!.points);
    t.ok(want.length > 20, `${want.length} sum series`);
    await sink.waitFor((r) => r.headers['x-path'] === 'gateway' && sums(r.points).join('\n') === want.join('\n'), 10_000)
      .catch(() => undefined);
    t.same(sums(lastOf('gateway')?.points ?? []), want, 'gateway sums = direct sums');
  } catch (e) {
    t.comment(agent.stderr(), gateway.stderr());
    throw e;
  }
  gateway.child.kill('SIGTERM');
  t.equal(await gateway.exited, 0, 'gateway exits 0');
  t.notMatch(agent.stderr() + gateway.stderr(), /Exporting failed|"level":"error"/, 'no failed export or error logged');
  t.ok(signals.logs.length > 0, `${signals.logs.length} flow log records`);
  t.ok(signals.logs.some((l) => l.attributes['flow.state'] === 'ended') && signals.logs.some((l) => l.attributes['flow.state'] === 'active'));
  t.ok(signals.spans.length > 0, `${signals.spans.length} connection spans`);
  t.ok(signals.spans.every((s) => s.kind === 'SPAN_KIND_CLIENT' && s.traceId.length === 32), 'synthetic flows are client-observed: CLIENT spans');
  t.ok(signals.spans.every((s) => typeof s.resource['service.name'] === 'string' && typeof s.attributes['peer.service'] === 'string'), 'workload names on both ends');
  // The gateway's logs and traces pipelines rebuilt the same records and spans from what the agent sent it.
  const logKey = (l: typeof signals.logs[number]) => JSON.stringify([l.body, l.timeNs, Object.entries(l.attributes).sort()]);
  const spanKey = (x: typeof signals.spans[number]) => JSON.stringify([x.traceId, x.spanId, x.parentSpanId, x.name, x.kind, x.startNs, x.endNs, x.status, x.resource['service.name'], Object.entries(x.attributes).sort()]);
  t.comment(`agent: ${signals.logs.length} records ${signals.spans.length} spans; gateway: ${gwSignals.logs.length} records ${gwSignals.spans.length} spans`, agent.stderr().split('\n').filter((l) => /busy|fail/i.test(l)).slice(0, 5).join('\n'));
  t.same(gwSignals.logs.map(logKey).sort(), signals.logs.map(logKey).sort(), 'gateway log records = agent log records');
  t.same(gwSignals.spans.map(spanKey).sort(), signals.spans.map(spanKey).sort(), 'gateway spans = agent spans');
});
