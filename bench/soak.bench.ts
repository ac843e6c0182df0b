// Soak: podflow under a steady synthetic load for a long time, RSS and V8 heap
// sampled every minute from its own self-metrics (podflow_process_memory_rss_bytes,
// podflow_process_heap_used_bytes). The pipeline is the production shape of the
// delivery path: synthetic receiver → batch → memory_limiter → otlp_http (delta,
// sending queue) to an in-bench OTLP/HTTP server that accepts and discards.
//
// Samples are split in thirds: the first is warm-up, the baseline is the median
// of the second, the value the median of the last; a ratio near 1 means memory
// is flat (the goal: within 5%). Every sample is kept in `extra`. Not run in CI.
// SOAK_MINUTES sets the length (default 60; quick mode: 40 s sampled every 5 s).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface BenchResult { name: string; value: number; unit: string; baseline: number; ratio: number; extra?: Record<string, number | string> }

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scrape(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(podflow_[a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (m) out[m[1]! + (m[2] ?? '')] = (out[m[1]! + (m[2] ?? '')] ?? 0) + Number(m[3]);
  }
  return out;
}

const sum = (s: Record<string, number>, prefix: string) => Object.entries(s).filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);

export default async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const minutes = opts.quick ? 40 / 60 : Number(process.env.SOAK_MINUTES ?? 60);
  const sampleMs = opts.quick ? 5_000 : 60_000;
  let requests = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => { requests++; res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(); });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const otlpPort = (server.address() as AddressInfo).port;
  const telemetryPort = 20000 + Math.floor(Math.random() * 20000);
  const dir = mkdtempSync(join(tmpdir(), 'pf-soak-'));
  const file = join(dir, 'soak.yaml');
  writeFileSync(file, `receivers:
  synthetic: { seed: 3, interval: 1s, flows_per_interval: 5000, connections_per_second: 500, namespaces: 8 }
processors:
  batch: { timeout: 500ms }
  memory_limiter: { check_interval: 1s, limit_mib: 512, spike_limit_mib: 128 }
exporters:
  otlp_http:
    endpoint: http://127.0.0.1:${otlpPort}
    temporality: delta
    export_interval: 10s
service:
  telemetry: { metrics: { address: 127.0.0.1:${telemetryPort} }, logs: { level: warn } }
  pipelines:
    metrics: { receivers: [synthetic], processors: [memory_limiter, batch], exporters: [otlp_http] }
`);
  const child = spawn(join(REPO, 'bin/podflow'), ['run', '-c', file], { stdio: ['ignore', 'ignore', 'inherit'] });
  const samples: Array<{ min: number; rss: number; heap: number }> = [];
  try {
    await sleep(5_000);
    const start = Date.now();
    for (let i = 1; (Date.now() - start) < minutes * 60_000; i++) {
      await sleep(start + i * sampleMs - Date.now());
      const s = await scrape(telemetryPort);
      samples.push({ min: (Date.now() - start) / 60_000, rss: s['podflow_process_memory_rss_bytes']!, heap: s['podflow_process_heap_used_bytes']! });
      process.stderr.write(`soak ${samples.at(-1)!.min.toFixed(1)} min: rss ${(samples.at(-1)!.rss / 2 ** 20).toFixed(1)} MiB, heap ${(samples.at(-1)!.heap / 2 ** 20).toFixed(1)} MiB, requests ${requests}\n`);
    }
    const last = await scrape(telemetryPort);
    const dropped = sum(last, 'podflow_exporter_send_failed_metric_points_total') + sum(last, 'podflow_processor_refused_flows_total');
    const third = Math.max(1, Math.floor(samples.length / 3));
    const after = samples.slice(third);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const mid = samples.slice(third, Math.max(third + 1, samples.length - third));
    const tail = samples.slice(-third);
    const base = { rss: median(mid.map((s) => s.rss)), heap: median(mid.map((s) => s.heap)) };
    const end = { rss: median(tail.map((s) => s.rss)), heap: median(tail.map((s) => s.heap)) };
    const extra: Record<string, number | string> = {
      minutes: Number(minutes.toFixed(2)), samples: samples.length, otlp_requests: requests, dropped,
      rss_max_after_warmup_mib: Number((Math.max(...after.map((s) => s.rss)) / 2 ** 20).toFixed(1)),
      rss_series_mib: samples.map((s) => (s.rss / 2 ** 20).toFixed(0)).join(' '),
      heap_series_mib: samples.map((s) => (s.heap / 2 ** 20).toFixed(0)).join(' '),
    };
    return [
      { name: 'soak rss (median of last third / of middle third)', value: end.rss / 2 ** 20, unit: 'MiB', baseline: base.rss / 2 ** 20, ratio: end.rss / base.rss, extra },
      { name: 'soak heap used (median of last third / of middle third)', value: end.heap / 2 ** 20, unit: 'MiB', baseline: base.heap / 2 ** 20, ratio: end.heap / base.heap },
    ];
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
