// One measurement of bench/pipeline.bench.ts, in a process of its own so that
// RSS and heap belong to one variant only.
//
// Usage: node --expose-gc bench/.build/pipeline.child.js podflow|sdk <workers> <intervals> <sinkUrl>
// (this file compiled over podflow's build in dist/ by pipeline.bench.ts; it
// also runs as it is, from src/, with node bench/pipeline.child.ts).
// Prints one JSON line: flows, wallMs, cpuMs (all threads), per-thread and
// per-stage CPU (mainCpuMs, workerCpuMs, annotateCpuMs, ...), maxRssMiB, heapMiB, ...
//
// Both variants see the same flows: synthetic intervals of ~50k active flows
// (25k long-lived connections, both edges, plus churn), stripped of their
// Kubernetes names, then named again from a prepared address → pod map (what
// k8s_attributes does from its cache). Then
//   podflow: flow_aggregate (N workers) → otlp_http exporter (protobuf) → sink
//   sdk:     one Counter.add / Histogram.record per flow and metric on the main
//            thread, with the same attributes flow_aggregate groups by, through
//            the SDK's PeriodicExportingMetricReader + OTLP protobuf exporter → sink.
// Each input interval stands for one second of a node's flows (the synthetic
// receiver's default interval). Both variants export as podflow does by
// default: every 10 s of flows (flow_aggregate's interval and the exporter's
// export_interval both default to 10 s), i.e. after every EXPORT_EVERY input
// intervals, and once more at shutdown. Exports follow the input, not the wall
// clock: on a loaded machine a 1 s timer fired more exports per flow, so CPU
// per flow depended on the load. The export's own CPU is reported apart.
//
// CPU is taken per thread as well as for the process: the main thread
// (process.threadCpuUsage) and each worker (Worker.cpuUsage), so a figure does
// not depend on how many cores were free while it ran.

import type { Attributes } from '@opentelemetry/api';
import type { Problem } from '../src/config/schema.ts';
import { otlpHttpExporterFactory } from '../src/exporter/otlp_http/factory.ts';
import { FLAG_OBSERVER_DESTINATION, NO_STRING, PROTO_TCP, type FlowBatch } from '../src/pdata/flow-batch.ts';
import { selectRows } from '../src/pdata/flow-batch-select.ts';
import { DEFAULT_GROUP_BY } from '../src/processor/flow_aggregate/config.ts';
import { flowAggregateFactory } from '../src/processor/flow_aggregate/factory.ts';
import type { FlowAggregateProcessor } from '../src/processor/flow_aggregate/flow-aggregate-processor.ts';
import type { PeriodicFlowExporter } from '../src/exporter/internal/otlp/periodic-flow-exporter.ts';
import { syntheticConfigSchema } from '../src/receiver/synthetic/config.ts';
import { generateInterval } from '../src/receiver/synthetic/generate.ts';
import { silentLogger } from '../src/service/logger.ts';
import { SelfTelemetry } from '../src/service/telemetry/self-telemetry.ts';
import type { CreateSettings } from '../src/component/component.ts';

const [mode, workersArg, intervalsArg, sinkUrl] = process.argv.slice(2) as [string, string, string, string];
const workers = Number(workersArg);
const intervals = Number(intervalsArg);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** Input intervals (seconds of flows) per export: podflow's default 10 s. */
const EXPORT_EVERY = 10;

/**
 * Intervals run before the measured ones, in both variants alike (one export
 * included): an agent runs for days, and what it costs per flow is its steady
 * state, not V8 compiling the hot paths (about a fifth of a 40-interval run's
 * CPU went to the compiler threads) or the first export creating every series.
 * They count in the memory figures (the maximum RSS is over the whole run).
 */
const WARMUP_INTERVALS = intervals > 0 ? EXPORT_EVERY : 0;

const SYNTHETIC = { flows_per_interval: 25_000, connections_per_second: 400, namespaces: 20, workloads_per_namespace: 10, pods_per_workload: 3 };

// ---- the prepared Kubernetes name cache ----

const SIDE_FIELDS = ['namespace.name', 'pod.name', 'node.name', 'workload.name', 'workload.kind', 'deployment.name', 'statefulset.name', 'daemonset.name'];

class NameCache {
  readonly podByAddr = new Map<number, number>();
  readonly names: Array<Array<string | undefined>> = [];
  readonly serviceByAddr = new Map<number, string>();

  /** Learns every pod (and service) seen in a named batch: the informer cache, prepared. */
  learn(b: FlowBatch): void {
    for (let i = 0; i < b.length; i++) {
      for (const side of ['source', 'destination'] as const) {
        const addr = v4(side === 'source' ? b.srcAddr : b.dstAddr, i);
        if (!this.podByAddr.has(addr) && b.getAttribute(i, `${side}.k8s.pod.name`) !== undefined) {
          this.podByAddr.set(addr, this.names.length);
          this.names.push(SIDE_FIELDS.map((f) => b.getAttribute(i, `${side}.k8s.${f}`)));
        }
      }
      const svc = b.getAttribute(i, 'destination.k8s.service.name');
      if (svc !== undefined) this.serviceByAddr.set(v4(b.dstAddr, i), svc);
    }
  }

  /**
   * Writes the name columns of every row from the map, column by column: no
   * object per row, one map lookup per row and side.
   */
  annotate(b: FlowBatch): void {
    const pods = this.names.length;
    const F = SIDE_FIELDS.length;
    // Each pod's names interned into this batch's string table once.
    const idx = new Int32Array(pods * F);
    for (let p = 0; p < pods; p++) {
      for (let f = 0; f < F; f++) {
        const v = this.names[p]![f];
        idx[p * F + f] = v === undefined ? NO_STRING : b.strings.intern(v);
      }
    }
    const n = b.length;
    const podOf = new Int32Array(n);
    for (const side of ['source', 'destination'] as const) {
      const addrs = side === 'source' ? b.srcAddr : b.dstAddr;
      for (let i = 0; i < n; i++) podOf[i] = this.podByAddr.get(v4(addrs, i)) ?? -1;
      for (let f = 0; f < F; f++) {
        const col = b.attributeColumn(`${side}.k8s.${SIDE_FIELDS[f]}`);
        for (let i = 0; i < n; i++) {
          const p = podOf[i]!;
          col[i] = p < 0 ? NO_STRING : idx[p * F + f]!;
        }
      }
    }
    const svcIdx = new Map<number, number>();
    const svcCol = b.attributeColumn('destination.k8s.service.name');
    for (let i = 0; i < n; i++) {
      const a = v4(b.dstAddr, i);
      let k = svcIdx.get(a);
      if (k === undefined) {
        const s = this.serviceByAddr.get(a);
        svcIdx.set(a, (k = s === undefined ? NO_STRING : b.strings.intern(s)));
      }
      svcCol[i] = k;
    }
  }
}

function v4(addr: Uint8Array, i: number): number {
  const o = i * 16 + 12;
  return ((addr[o]! << 24) | (addr[o + 1]! << 16) | (addr[o + 2]! << 8) | addr[o + 3]!) >>> 0;
}

// ---- the input ----

const config = syntheticConfigSchema.decodeOrDefault(SYNTHETIC, [], [])!;
const cache = new NameCache();
// Two distinct intervals, replayed in turn: generation stays out of the timing
// and out of the memory figure beyond these two input batches.
const ring = [0, 1].map((i) => {
  const named = generateInterval(config, i);
  cache.learn(named);
  return selectRows(named, undefined, named.length, { attributes: [] });
});
const flowsPerInterval = ring[0]!.length;

function settings(id: string, telemetry: SelfTelemetry): CreateSettings {
  return {
    id, signal: 'metrics', logger: silentLogger, telemetry,
    resource: { hostName: 'bench', nodeName: 'bench-node', serviceVersion: '0.0.0-bench' },
    host: { status: 'ready' },
  };
}

function decode<C>(schema: { decodeOrDefault(v: unknown, p: string[], pr: Problem[]): C | undefined }, raw: unknown): C {
  const problems: Problem[] = [];
  const c = schema.decodeOrDefault(raw, [], problems);
  if (!c) throw new Error(problems.map((p) => `${p.path.join('::')}: ${p.message}`).join('; '));
  return c;
}

/** CPU milliseconds of the calling thread. */
function threadCpuMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}

function cpuMsSince(c0: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

async function runPodflow(): Promise<Record<string, number>> {
  const telemetry = new SelfTelemetry();
  // Exports are triggered per input interval (flush below); the timers never fire within the run.
  const exporter = otlpHttpExporterFactory.create(settings('otlp_http', telemetry),
    decode(otlpHttpExporterFactory.configSchema, { metrics_endpoint: sinkUrl, export_interval: '1h', temporality: 'cumulative' })) as PeriodicFlowExporter;
  const agg = flowAggregateFactory.create(settings('flow_aggregate', telemetry),
    decode(flowAggregateFactory.configSchema, { interval: '1h', workers }), exporter) as FlowAggregateProcessor;
  await exporter.start();
  await agg.start();
  const threads = agg.workerThreads();
  // Idle piscina workers are unref'd, and a pending Worker.cpuUsage() does not
  // keep the process alive: without a ref'd handle it would just exit.
  const keepAlive = setInterval(() => undefined, 1000);
  let annotateMs = 0;
  let consumeMs = 0;
  let exportMs = 0;
  let exports = 0;
  const step = async (i: number) => {
    const b = ring[i % ring.length]!;
    let t = threadCpuMs();
    cache.annotate(b);
    annotateMs += threadCpuMs() - t;
    t = threadCpuMs();
    await agg.consume(b);
    consumeMs += threadCpuMs() - t;
    if ((i + 1) % EXPORT_EVERY === 0) {
      // The interval ends: flow_aggregate emits its groups (waiting for the
      // workers costs this thread no CPU), the exporter encodes and sends them.
      t = threadCpuMs();
      await agg.flush();
      await exporter.flush();
      exportMs += threadCpuMs() - t;
      exports++;
    }
  };
  for (let i = 0; i < WARMUP_INTERVALS; i++) await step(i);
  await agg.settled();
  [annotateMs, consumeMs, exportMs, exports] = [0, 0, 0, 0];
  const sent0 = telemetry.counter('podflow_exporter_sent_metric_points_total', '').get({ exporter: 'otlp_http' });
  const groups0 = telemetry.counter('podflow_processor_outgoing_flows_total', '').get({ processor: 'flow_aggregate' });
  const w0 = await Promise.all(threads.map((t) => t.cpuUsage()));
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const m0 = threadCpuMs();
  for (let i = WARMUP_INTERVALS; i < WARMUP_INTERVALS + intervals; i++) await step(i);
  await agg.settled();
  // Before shutdown, while the workers still exist (shutdown's last flush is counted with the process CPU only).
  const workerCpuMs = (await Promise.all(threads.map((t, k) => t.cpuUsage(w0[k])))).map((c) => (c.user + c.system) / 1000);
  const mainBeforeShutdown = threadCpuMs() - m0;
  clearInterval(keepAlive);
  await agg.shutdown();
  await exporter.shutdown();
  const wallMs = performance.now() - t0;
  const cpuMs = cpuMsSince(c0);
  const mainCpuMs = threadCpuMs() - m0;
  // Points and groups of the measured part (and shutdown's last flush); failures and drops over the whole run.
  const sent = telemetry.counter('podflow_exporter_sent_metric_points_total', '').get({ exporter: 'otlp_http' }) - sent0;
  const failed = telemetry.counter('podflow_exporter_send_failed_metric_points_total', '').get({ exporter: 'otlp_http' });
  const dropped = telemetry.counter('podflow_processor_dropped_flows_total', '').series().reduce((n, s) => n + s.value, 0);
  const groups = telemetry.counter('podflow_processor_outgoing_flows_total', '').get({ processor: 'flow_aggregate' }) - groups0;
  return {
    wallMs, cpuMs, mainCpuMs, mainCpuBeforeShutdownMs: mainBeforeShutdown, workerCpuMs: Math.max(0, ...workerCpuMs),
    workerCpuTotalMs: workerCpuMs.reduce((a, b) => a + b, 0), annotateCpuMs: annotateMs, consumeCpuMs: consumeMs,
    exportCpuMs: exportMs, exports,
    points: sent, failedPoints: failed, dropped, groups,
  };
}

async function runSdk(): Promise<Record<string, number>> {
  // Imported here, so the podflow variant's RSS holds only podflow's own modules.
  const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-proto');
  const { MeterProvider, PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
  // Exports are triggered per input interval (forceFlush below); the timer never fires within the run.
  const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: sinkUrl }), exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter('podflow-baseline');
  const sums = (['bytes', 'packets', 'retransmits', 'resets', 'opened', 'failed', 'closed'] as const)
    .map((c) => ({ c, counter: meter.createCounter(`network.flow.${c}`) }));
  const rtt = meter.createHistogram('network.flow.tcp.rtt', { unit: 's' });
  const duration = meter.createHistogram('network.flow.connection.duration', { unit: 's' });
  const attrNames = DEFAULT_GROUP_BY.filter((k) => k.includes('.k8s.'));
  let annotateMs = 0;
  let exportMs = 0;
  let exports = 0;
  const step = async (i: number) => {
    const b = ring[i % ring.length]!;
    const t = threadCpuMs();
    cache.annotate(b);
    annotateMs += threadCpuMs() - t;
    const cols = attrNames.map((k) => b.attributes.get(k));
    for (let r = 0; r < b.length; r++) {
      // What recording one flow through the SDK takes: its attribute set, then one call per metric.
      const attrs: Attributes = {
        'destination.port': b.dstPort[r]!,
        'network.transport': b.protocol[r] === PROTO_TCP ? 'tcp' : 'udp',
        'network.type': b.family[r] === 6 ? 'ipv6' : 'ipv4',
        'flow.observer': b.flags[r]! & FLAG_OBSERVER_DESTINATION ? 'destination' : 'source',
      };
      for (let k = 0; k < attrNames.length; k++) {
        const idx = cols[k]?.[r] ?? NO_STRING;
        if (idx !== NO_STRING) attrs[attrNames[k]!] = b.strings.get(idx);
      }
      for (const { c, counter } of sums) {
        const v = b.counters[c][r]!;
        if (v !== 0) counter.add(v, attrs);
      }
      if (b.counters.rttUs[r]! > 0) rtt.record(b.counters.rttUs[r]! / 1e6, attrs);
      if (b.counters.durationMs[r]! > 0) duration.record(b.counters.durationMs[r]! / 1e3, attrs);
    }
    if ((i + 1) % EXPORT_EVERY === 0) {
      const t = threadCpuMs();
      await reader.forceFlush();
      exportMs += threadCpuMs() - t;
      exports++;
    }
    // Yield like a receiver between batches.
    await new Promise<void>((resolve) => setImmediate(resolve));
  };
  for (let i = 0; i < WARMUP_INTERVALS; i++) await step(i);
  [annotateMs, exportMs, exports] = [0, 0, 0];
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const m0 = threadCpuMs();
  for (let i = WARMUP_INTERVALS; i < WARMUP_INTERVALS + intervals; i++) await step(i);
  await provider.shutdown();
  const wallMs = performance.now() - t0;
  const cpuMs = cpuMsSince(c0);
  const mainCpuMs = threadCpuMs() - m0;
  return { wallMs, cpuMs, mainCpuMs, annotateCpuMs: annotateMs, exportCpuMs: exportMs, exports };
}

const result = mode === 'sdk' ? await runSdk() : await runPodflow();
gc();
const mem = process.memoryUsage();
process.stdout.write(JSON.stringify({
  mode, workers, flows: flowsPerInterval * intervals, flowsPerInterval, ...result,
  maxRssMiB: process.resourceUsage().maxRSS / 1024, rssMiB: mem.rss / 2 ** 20, heapMiB: mem.heapUsed / 2 ** 20,
}) + '\n');
process.exit(0);
