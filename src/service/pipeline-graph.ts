// Builds the component graph from service.pipelines, as the Collector does:
//
//   receiver (one instance per ID, shared by every pipeline that lists it)
//     └─ fan-out ─▶ pipeline A: processor 1 ─▶ processor 2 ─▶ fan-out ─▶ exporters
//               └─▶ pipeline B: ...
//
// Processors get one instance per (pipeline, ID) because they hold per-pipeline
// state; exporters one per (ID, signal), shared by the pipelines of that signal.

import type {
  Component, ConsumerComponent, CreateSettings, ExporterFactory, ExtensionFactory,
  ProcessorFactory, ReceiverFactory, Signal,
} from '../component/component.ts';
import { SIGNALS } from '../component/component.ts';
import type { ResolvedComponent, ResolvedConfig } from '../config/resolve.ts';
import { withMutatesData, type FlowConsumer } from '../consumer/consumer.ts';
import { fanOut } from '../consumer/fan-out.ts';
import { FlowHubTap } from './flow-hub-tap.ts';

export interface GraphNode {
  /** "exporter otlp_grpc (metrics)", for logs and errors. */
  label: string;
  component: Component;
}

/** Nodes grouped in start order (processors are held downstream first); the service stops them in reverse. */
export interface PipelineGraph {
  extensions: GraphNode[];
  exporters: GraphNode[];
  processors: GraphNode[];
  receivers: GraphNode[];
}

export type SettingsFor = (id: string, signal: Signal) => CreateSettings;

export function buildGraph(cfg: ResolvedConfig, settingsFor: SettingsFor): PipelineGraph {
  const graph: PipelineGraph = { extensions: [], exporters: [], processors: [], receivers: [] };

  const exporters = new Map<string, ConsumerComponent>();
  const exporterFor = (id: string, signal: Signal): ConsumerComponent => {
    const key = `${id}\u0000${signal}`;
    let e = exporters.get(key);
    if (!e) {
      const rc = mustGet(cfg.exporters, id);
      e = (rc.factory as ExporterFactory).create(settingsFor(id, signal), rc.config);
      exporters.set(key, e);
      graph.exporters.push({ label: `exporter ${id} (${signal})`, component: e });
    }
    return e;
  };

  // The flow hub (flows_api, flows_ui) sees each receiver's batches once: in the
  // hub pipeline (the first metrics pipeline) after its leading enrich-only
  // processors, so the views carry Kubernetes names; receivers outside it are
  // tapped where they emit.
  const hubPipeline = cfg.service.pipelines.find((p) => p.signal === 'metrics') ?? cfg.service.pipelines[0];
  const tappedInPipeline = new Set(hubPipeline?.receivers ?? []);

  // The first consumer of each pipeline, which its receivers feed.
  const pipelineHeads = new Map<string, FlowConsumer>();
  for (const p of cfg.service.pipelines) {
    let next: FlowConsumer = fanOut(p.exporters.map((id) => exporterFor(id, p.signal)));
    const procs = p.processors.map((id) => ({ id, rc: mustGet(cfg.processors, id) }));
    // The fan-out that feeds this pipeline judges it by its first stage; a
    // later stage that writes to the batch (or moves it away) makes the whole
    // pipeline a writer, as the Collector's pipeline capabilities do.
    let mutates = false;
    let leadingEnrichers = 0;
    while (leadingEnrichers < procs.length && (procs[leadingEnrichers]!.rc.factory as ProcessorFactory).enrichesOnly) leadingEnrichers++;
    // Built back to front so each processor knows its successor.
    for (let i = procs.length; i >= 0; i--) {
      if (p === hubPipeline && i === leadingEnrichers) {
        next = new FlowHubTap(p.receivers.length === 1 ? p.receivers[0]! : `pipeline ${p.id}`, next);
      }
      if (i === 0) break;
      const { id, rc } = procs[i - 1]!;
      const proc = (rc.factory as ProcessorFactory).create(settingsFor(id, p.signal), rc.config, next);
      graph.processors.push({ label: `processor ${id} (pipeline ${p.id})`, component: proc });
      mutates ||= proc.mutatesData;
      next = proc;
    }
    pipelineHeads.set(p.id, withMutatesData(next, mutates || next.mutatesData));
  }

  const receiverIds = [...new Set(cfg.service.pipelines.flatMap((p) => p.receivers))];
  for (const id of receiverIds) {
    const pipelines = cfg.service.pipelines.filter((p) => p.receivers.includes(id));
    const rc = mustGet(cfg.receivers, id);
    const heads = fanOut(pipelines.map((p) => pipelineHeads.get(p.id)!));
    const next = tappedInPipeline.has(id) ? heads : new FlowHubTap(id, heads);
    // The same pipelines by signal, for receivers whose data differs by signal (otlp). Only
    // one signal's batches go to the flow hub (metrics when there is one), and none when the
    // receiver is tapped inside its pipeline, so each batch still reaches the hub once.
    const consumersBySignal: Partial<Record<Signal, FlowConsumer>> = {};
    const hubSignal = pipelines.some((p) => p.signal === 'metrics') ? 'metrics' : pipelines[0]!.signal;
    for (const s of SIGNALS) {
      const ps = pipelines.filter((p) => p.signal === s);
      if (!ps.length) continue;
      const fan = fanOut(ps.map((p) => pipelineHeads.get(p.id)!));
      consumersBySignal[s] = s === hubSignal && !tappedInPipeline.has(id) ? new FlowHubTap(id, fan) : fan;
    }
    const r = (rc.factory as ReceiverFactory).create({ ...settingsFor(id, pipelines[0]!.signal), consumersBySignal }, rc.config, next);
    graph.receivers.push({ label: `receiver ${id}`, component: r });
  }

  for (const id of cfg.service.extensions) {
    const rc = mustGet(cfg.extensions, id);
    const ext = (rc.factory as ExtensionFactory).create(settingsFor(id, 'metrics'), rc.config);
    graph.extensions.push({ label: `extension ${id}`, component: ext });
  }
  return graph;
}

function mustGet(m: Map<string, ResolvedComponent>, id: string): ResolvedComponent {
  const rc = m.get(id);
  // Validation guarantees every reference exists; reaching this is a podflow bug.
  if (!rc) throw new Error(`internal: component "${id}" referenced but not resolved`);
  return rc;
}

/** Start order: extensions, exporters, processors (downstream first), receivers. */
export function startOrder(g: PipelineGraph): GraphNode[] {
  return [...g.extensions, ...g.exporters, ...g.processors, ...g.receivers];
}
