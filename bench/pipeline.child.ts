// One measurement of bench/pipeline.bench.ts, in a process of its own so that
// RSS and heap belong to one variant only.
//
// Usage: node --expose-gc bench/.build/pipeline.child.js podflow|sdk <workers> <intervals> <sinkUrl> [ring|live]
// (this file compiled over podflow's build in dist/ by pipeline.bench.ts; it
// also runs as it is, from src/, with node bench/pipeline.child.ts).
// Prints one JSON line: flows, wallMs, cpuMs (all threads), per-thread and
// per-stage CPU (mainCpuMs, workerCpuMs, annotateCpuMs, ...), maxRssMiB, heapMiB, ...
//
// Both variants see the same flows: synthetic intervals of ~50k active flows
// (25k long-lived connections, both edges, plus churn), stripped of their
// Kubernetes names, then named again by k8s_attributes' own annotateBatch from
// its cache (K8sCache), prepared with the topology's pods, nodes, Services and
// EndpointSlices as the API server would list them. Then
//   podflow: flow_aggregate (N workers) → otlp_http exporter (protobuf) → sink
//   sdk:     one Counter.add / Histogram.record per flow and metric on the main
//            thread, with the same attributes flow_aggregate groups by, through
//            the SDK's PeriodicExportingMetricReader + OTLP protobuf exporter → sink.
// The input comes one of two ways. `ring` (the default, for the CPU figures):
// two intervals generated before the run and replayed in turn, so generation
// stays out of the timing. `live` (for the memory figures): each interval
// generated when it is due and released once consumed, as the synthetic
// receiver does (FlowBatch.release): the process holds one interval's input
// at a time, as an agent does, instead of the ring's two for the whole run
// (and the next interval is made once flow_aggregate's worker is done with
// this one, as an agent's next comes a second later).
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
import { attributesReadBy } from '../src/consumer/consumer.ts';
import { otlpHttpExporterFactory } from '../src/exporter/otlp_http/factory.ts';
import { FLAG_OBSERVER_DESTINATION, NO_STRING, PROTO_TCP, type FlowBatch } from '../src/pdata/flow-batch.ts';
import { selectRows } from '../src/pdata/flow-batch-select.ts';
import { DEFAULT_GROUP_BY } from '../src/processor/flow_aggregate/config.ts';
import { flowAggregateFactory } from '../src/processor/flow_aggregate/factory.ts';
import type { FlowAggregateProcessor } from '../src/processor/flow_aggregate/flow-aggregate-processor.ts';
import type { PeriodicFlowExporter } from '../src/exporter/internal/otlp/periodic-flow-exporter.ts';
import { annotateBatch, type AnnotateContext } from '../src/processor/k8s_attributes/annotate.ts';
import { METADATA_NAMES } from '../src/processor/k8s_attributes/attribute-names.ts';
import { K8sCache, type ResourceName } from '../src/processor/k8s_attributes/cache.ts';
import { CidrLabels } from '../src/processor/k8s_attributes/cidr-labels.ts';

import { formatAddress } from '../src/pdata/ip-address.ts';
import { releaseLargeBuffer } from '../src/pdata/release-large-buffer.ts';
import { StringTable } from '../src/pdata/string-table.ts';
import { syntheticConfigSchema } from '../src/receiver/synthetic/config.ts';
import { buildTopology, POD_NAME, POD_NODE, POD_STRINGS, type Topology, type Workload } from '../src/receiver/synthetic/topology.ts';
import { generateInterval } from '../src/receiver/synthetic/generate.ts';
import { silentLogger } from '../src/service/logger.ts';
import { SelfTelemetry } from '../src/service/telemetry/self-telemetry.ts';
import type { CreateSettings } from '../src/component/component.ts';

const [mode, workersArg, intervalsArg, sinkUrl, inputArg = 'ring'] = process.argv.slice(2) as [string, string, string, string, string?];
if (inputArg !== 'ring' && inputArg !== 'live') throw new Error(`input must be ring or live, not ${inputArg}`);
const live = inputArg === 'live';
const workers = Number(workersArg);
const intervals = Number(intervalsArg);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/**
 * With PODFLOW_BENCH_MEMTRACE=1, one stderr line per step: where the RSS goes
 * (V8 heap, array buffers, anonymous vs file-backed pages, the workers'
 * heaps). Off by default: the lines after each export are taken inside the
 * measured run, so a traced run's CPU and time figures are not the bench's.
 */
const memTrace = process.env.PODFLOW_BENCH_MEMTRACE === '1';
let tracedWorkers: Array<{ getHeapStatistics(): Promise<{ total_heap_size: number; used_heap_size: number; external_memory: number }> }> = [];
async function traceMemory(step: string): Promise<void> {
  if (!memTrace) return;
  const ws = await Promise.all(tracedWorkers.map((w) => w.getHeapStatistics()));
  const wf = ws.map((h) => `worker heap ${(h.total_heap_size / 2 ** 20).toFixed(1)}/${(h.used_heap_size / 2 ** 20).toFixed(1)} ext ${(h.external_memory / 2 ** 20).toFixed(1)}`).join(' ');
  const m = process.memoryUsage();
  const { readFileSync } = await import('node:fs');
  const roll = readFileSync('/proc/self/smaps_rollup', 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(roll)?.[1] ?? 0) / 1024;
  const f = (v: number) => v.toFixed(1);
  process.stderr.write(`mem ${step.padEnd(22)} rss ${f(m.rss / 2 ** 20)} anon ${f(kb('Anonymous'))} file ${f(kb('Rss') - kb('Anonymous'))}` +
    ` heapTotal ${f(m.heapTotal / 2 ** 20)} heapUsed ${f(m.heapUsed / 2 ** 20)} external ${f(m.external / 2 ** 20)} arrayBuffers ${f(m.arrayBuffers / 2 ** 20)}` +
    ` maxRss ${f(process.resourceUsage().maxRSS / 1024)} ${wf}\n`);
}
await traceMemory('modules loaded');

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

/**
 * k8s_attributes' own cache (K8sCache), filled with API-shaped objects for
 * every pod, node, Service and EndpointSlice of the synthetic topology, as its
 * informers would fill it from the API server; names then come from
 * k8s_attributes' own annotateBatch, with its default metadata.
 */
function preparedNames(topo: Topology): AnnotateContext {
  const rejects: string[] = [];
  const cache = new K8sCache({ metadata: METADATA_NAMES, tagRules: [], onReject: (r, k, p) => rejects.push(`${r} ${k}: ${p}`) });
  const fill = (r: ResourceName, objects: Iterable<unknown>) => {
    const h = cache.handler(r);
    h.beginSync();
    for (const o of objects) h.upsert(o);
    h.endSync();
  };
  fill('pods', topo.workloads.flatMap((w) => Array.from({ length: w.podCount }, (_, j) => podObject(topo, w, w.firstPod + j))));
  fill('nodes', Array.from({ length: topo.nodeCount }, (_, k) => ({
    metadata: { name: `node-${k + 1}`, uid: `node-${k}` },
    status: { addresses: [{ type: 'InternalIP', address: `192.168.0.${k + 1}` }] },
  })));
  const served = topo.workloads.filter((w) => w.service !== undefined);
  fill('services', served.map((w) => ({
    metadata: { name: w.service, namespace: w.namespace, uid: `svc-${w.index}` },
    spec: { type: 'ClusterIP', clusterIP: formatAddress(w.vip4, 0), clusterIPs: [formatAddress(w.vip4, 0)], ports: [{ port: w.servicePort, targetPort: w.targetPort, protocol: 'TCP' }] },
  })));
  fill('endpointslices', served.map((w) => ({
    metadata: { name: `${w.service}-x7k2p`, namespace: w.namespace, uid: `eps-${w.index}`, labels: { 'kubernetes.io/service-name': w.service } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: w.podCount }, (_, j) => ({ addresses: [formatAddress(topo.podAddr4, (w.firstPod + j) * 16)], conditions: { ready: true } })),
    ports: [{ port: w.targetPort, protocol: 'TCP' }],
  })));
  if (rejects.length) throw new Error(`the prepared cache rejected objects: ${rejects.slice(0, 3).join('; ')}`);
  return { cache, cidr: new CidrLabels({}), dns: undefined, wantService: true, wantNamespace: true, bindings: new Map(), now: Date.now };
}

/** Pod p of workload w as the API serves it: a Deployment's pods are owned by its ReplicaSet. */
function podObject(topo: Topology, w: Workload, p: number): unknown {
  const name = topo.podStrings[p * POD_STRINGS + POD_NAME]!;
  // Deployment pods are "<deployment>-<pod-template-hash>-<suffix>".
  const hash = w.kind === 'Deployment' ? name.slice(w.name.length + 1, name.lastIndexOf('-')) : undefined;
  const owner = hash !== undefined ? { kind: 'ReplicaSet', name: `${w.name}-${hash}` } : { kind: w.kind, name: w.name };
  return {
    metadata: {
      name, namespace: w.namespace, uid: `pod-${p}`, labels: hash !== undefined ? { 'pod-template-hash': hash } : {},
      ownerReferences: [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, uid: `owner-${w.index}`, controller: true }],
    },
    spec: { nodeName: topo.podStrings[p * POD_STRINGS + POD_NODE] },
    status: { phase: 'Running', podIP: formatAddress(topo.podAddr4, p * 16), podIPs: [{ ip: formatAddress(topo.podAddr4, p * 16) }, { ip: formatAddress(topo.podAddr6, p * 16) }] },
  };
}

// ---- the input ----

const config = syntheticConfigSchema.decodeOrDefault(SYNTHETIC, [], [])!;
const names = preparedNames(buildTopology(config));
/**
 * Interval i as the synthetic receiver makes it, less the names it gave:
 * k8s_attributes names it again. Checked: against a copy without them.
 * Otherwise the names go in place, so the process never holds the interval
 * twice (a receiver makes it once).
 */
function bareInterval(i: number, check: boolean): FlowBatch {
  const named = generateInterval(config, i);
  if (check) {
    const bare = selectRows(named, undefined, named.length, { attributes: [] });
    checkNames(named, bare);
    named.release();
    return bare;
  }
  for (const col of named.attributes.values()) releaseLargeBuffer(col);
  named.attributes.clear();
  named.strings = new StringTable();
  return named;
}
// Ring input: two distinct intervals, replayed in turn, checked. Live input:
// none yet (step() makes each interval when it is due, with the same
// bareInterval(), which the ring runs check). The check is left out of the
// live runs, which measure memory: it holds an interval four times over (the
// named one, the bare copy, the probe and its names), and that peak, the
// bench's own and not the pipeline's, was up to 127 MiB of max RSS before the
// pipeline started (PODFLOW_BENCH_MEMTRACE=1).
const ring = [0, 1].map((i) => bareInterval(i, !live));
const flowsPerInterval = ring[0]!.length;
if (live) for (const b of ring.splice(0)) b.release();
// The synthetic receiver's batches and the check's copies are garbage now:
// out of the heap before the run, so that its RSS holds only its input.
gc();

/**
 * Waits until the exporter has sent what it queued. flush() only queues the
 * collection, and the sending queue keeps just the newest cumulative item:
 * with intervals back to back, an export still queued when the next one came
 * was replaced unsent, so a run encoded and sent 2 or 3 of its 4 measured
 * exports (19072 or 28608 points for one input), where an agent, 10 s apart,
 * sends every one. The SDK baseline's forceFlush() waits for its send too.
 */
async function delivered(exporter: PeriodicFlowExporter): Promise<void> {
  while (exporter.pending > 0) await new Promise((r) => setTimeout(r, 1));
}

/** Rows fed since the measured intervals began (the two ring intervals differ in length, as live ones do). */
let fedRows = 0;

/** Main-thread CPU spent copying ring intervals for a consumer that takes its input (not the pipeline's: a receiver makes a new batch every interval). */
let inputCopyMs = 0;

/**
 * The input of step i, and what to do with it once consumed. A ring interval
 * goes in as a copy, whose CPU is counted apart (inputCopyMs) and left out of
 * the figures: flow_aggregate takes the batches it can move, and a receiver
 * makes a new batch every interval anyway, so the naming step writes fresh
 * name columns in every variant, as in an agent. (Until 06:14 UTC on
 * 2026-11-27 a consumer that did not take its input, the 2-worker run, got the
 * ring batch itself and named it in place: pages already mapped, ~75 ns/flow
 * cheaper on this VM, which flattered the scaling figure.)
 */
function inputOf(i: number): { batch: FlowBatch; done(): void } {
  let batch: FlowBatch;
  if (live) batch = bareInterval(i, false);
  else {
    const t = threadCpuMs();
    batch = ring[i % ring.length]!.clone();
    inputCopyMs += threadCpuMs() - t;
  }
  fedRows += batch.length;
  return { batch, done: () => batch.release() };
}

/**
 * The prepared cache must name every row as the synthetic receiver did (the
 * names flow_aggregate groups by), or the bench would measure other groups.
 * The Service name is left out: k8s_attributes also names the Service a
 * reply's destination pod backs, which the synthetic receiver does not.
 */
function checkNames(named: FlowBatch, bare: FlowBatch): void {
  const probe = selectRows(bare, undefined, bare.length, { attributes: [] });
  annotateBatch(probe, names);
  for (const side of ['source', 'destination']) {
    for (const f of ['namespace.name', 'workload.name', 'workload.kind', 'pod.name', 'node.name']) {
      const k = `${side}.k8s.${f}`;
      for (let i = 0; i < named.length; i++) {
        if (named.getAttribute(i, k) !== probe.getAttribute(i, k)) {
          throw new Error(`row ${i}: ${k} is "${probe.getAttribute(i, k)}" from the prepared cache, "${named.getAttribute(i, k)}" from the synthetic receiver`);
        }
      }
    }
  }
  probe.release(); // not left for the run's memory figures
}
await traceMemory('input generated');

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
  tracedWorkers = threads;
  // Idle piscina workers are unref'd, and a pending Worker.cpuUsage() does not
  // keep the process alive: without a ref'd handle it would just exit.
  const keepAlive = setInterval(() => undefined, 1000);
  await traceMemory('pipeline started');
  let annotateMs = 0;
  let consumeMs = 0;
  let exportMs = 0;
  let exports = 0;
  const step = async (i: number) => {
    const { batch: b, done } = inputOf(i);
    let t = threadCpuMs();
    // As k8s_attributes does: only the names flow_aggregate reads (its group_by).
    annotateBatch(b, names, attributesReadBy(agg));
    annotateMs += threadCpuMs() - t;
    t = threadCpuMs();
    await agg.consume(b);
    consumeMs += threadCpuMs() - t;
    done();
    // An agent's intervals come a second apart and this one is folded in
    // ~20 ms: the next finds it gone. Back to back, the next interval would
    // be made while the worker still holds this one, which no agent at this
    // load does.
    if (live) await agg.settled();
    if ((i + 1) % EXPORT_EVERY === 0) {
      // The interval ends: flow_aggregate emits its groups (waiting for the
      // workers costs this thread no CPU), the exporter encodes and sends them.
      t = threadCpuMs();
      await agg.flush();
      await exporter.flush();
      await delivered(exporter);
      exportMs += threadCpuMs() - t;
      exports++;
      await traceMemory(`export after ${i + 1}`);
    }
  };
  for (let i = 0; i < WARMUP_INTERVALS; i++) await step(i);
  await agg.settled();
  [annotateMs, consumeMs, exportMs, exports, fedRows, inputCopyMs] = [0, 0, 0, 0, 0, 0];
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
  const mainBeforeShutdown = threadCpuMs() - m0 - inputCopyMs;
  // Points of the measured exports only: the exporter's shutdown sends one
  // more cumulative collection, and whether its count had landed when read
  // after shutdown varied from run to run (38144 or 57216 for one input).
  const sent = telemetry.counter('podflow_exporter_sent_metric_points_total', '').get({ exporter: 'otlp_http' }) - sent0;
  clearInterval(keepAlive);
  await agg.shutdown();
  await exporter.shutdown();
  const wallMs = performance.now() - t0 - inputCopyMs;
  const cpuMs = cpuMsSince(c0) - inputCopyMs;
  const mainCpuMs = threadCpuMs() - m0 - inputCopyMs;
  tracedWorkers = [];
  await traceMemory('shut down');
  // Groups of the measured part (and shutdown's last flush); failures and drops over the whole run.
  const failed = telemetry.counter('podflow_exporter_send_failed_metric_points_total', '').get({ exporter: 'otlp_http' });
  const dropped = telemetry.counter('podflow_processor_dropped_flows_total', '').series().reduce((n, s) => n + s.value, 0);
  const groups = telemetry.counter('podflow_processor_outgoing_flows_total', '').get({ processor: 'flow_aggregate' }) - groups0;
  return {
    wallMs, cpuMs, mainCpuMs, mainCpuBeforeShutdownMs: mainBeforeShutdown, workerCpuMs: Math.max(0, ...workerCpuMs),
    workerCpuTotalMs: workerCpuMs.reduce((a, b) => a + b, 0), annotateCpuMs: annotateMs, consumeCpuMs: consumeMs,
    exportCpuMs: exportMs, exports, inputCopyCpuMs: inputCopyMs,
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
  const recorded = new Set(attrNames);
  let annotateMs = 0;
  let exportMs = 0;
  let exports = 0;
  const step = async (i: number) => {
    const { batch: b, done } = inputOf(i);
    const t = threadCpuMs();
    // Only the names it records, as podflow's naming writes only what flow_aggregate reads.
    annotateBatch(b, names, recorded);
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
    done();
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
  [annotateMs, exportMs, exports, fedRows, inputCopyMs] = [0, 0, 0, 0, 0];
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const m0 = threadCpuMs();
  for (let i = WARMUP_INTERVALS; i < WARMUP_INTERVALS + intervals; i++) await step(i);
  await provider.shutdown();
  const wallMs = performance.now() - t0 - inputCopyMs;
  const cpuMs = cpuMsSince(c0) - inputCopyMs;
  const mainCpuMs = threadCpuMs() - m0 - inputCopyMs;
  return { wallMs, cpuMs, mainCpuMs, annotateCpuMs: annotateMs, exportCpuMs: exportMs, exports, inputCopyCpuMs: inputCopyMs };
}

const result = mode === 'sdk' ? await runSdk() : await runPodflow();
gc();
const mem = process.memoryUsage();
process.stdout.write(JSON.stringify({
  mode, workers, input: inputArg, flows: fedRows, flowsPerInterval, ...result,
  maxRssMiB: process.resourceUsage().maxRSS / 1024, rssMiB: mem.rss / 2 ** 20, heapMiB: mem.heapUsed / 2 ** 20,
}) + '\n');
process.exit(0);
