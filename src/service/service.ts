// The running service: builds the pipeline graph from a resolved config, starts
// it in dependency order (exporters before the receivers that feed them), serves
// self-telemetry, and shuts everything down in reverse so in-flight data is
// flushed by the exporters last.

import { hostname } from 'node:os';
import type { CreateSettings, ResourceInfo, ServiceHost, ServiceStatus, Signal } from '../component/component.ts';
import type { ResolvedConfig } from '../config/resolve.ts';
import { PodflowError } from '../errors/podflow-error.ts';
import type { Logger } from './logger.ts';
import { buildGraph, startOrder, type GraphNode, type PipelineGraph } from './pipeline-graph.ts';
import { SelfTelemetry } from './telemetry/self-telemetry.ts';
import { TelemetryServer } from './telemetry/telemetry-server.ts';
import { VERSION } from './version.ts';

export interface ServiceOptions {
  logger: Logger;
  telemetry?: SelfTelemetry;
  resource?: Partial<ResourceInfo>;
}

export class Service implements ServiceHost {
  readonly telemetry: SelfTelemetry;
  readonly resource: ResourceInfo;
  #status: ServiceStatus = 'starting';
  readonly #graph: PipelineGraph;
  readonly #logger: Logger;
  readonly #telemetryServer: TelemetryServer | undefined;
  #started: GraphNode[] = [];
  #running: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(cfg: ResolvedConfig, opts: ServiceOptions) {
    this.#logger = opts.logger;
    this.telemetry = opts.telemetry ?? new SelfTelemetry();
    this.resource = {
      hostName: opts.resource?.hostName ?? hostname(),
      nodeName: opts.resource?.nodeName ?? process.env.K8S_NODE_NAME,
      serviceVersion: opts.resource?.serviceVersion ?? VERSION,
    };
    const settingsFor = (id: string, signal: Signal): CreateSettings => ({
      id,
      signal,
      logger: this.#logger.child({ component: id }),
      telemetry: this.telemetry,
      resource: this.resource,
      host: this,
    });
    this.#graph = buildGraph(cfg, settingsFor);
    const m = cfg.service.telemetry.metrics;
    this.#telemetryServer = m.level === 'none' ? undefined : new TelemetryServer(this.telemetry, m.address);
    this.telemetry.gauge('podflow_process_uptime_seconds', 'Seconds since podflow started.')
      .observe({}, () => Math.round(process.uptime()));
    this.telemetry.gauge('podflow_process_memory_rss_bytes', 'Resident set size of the podflow process.')
      .observe({}, () => process.memoryUsage.rss());
    this.telemetry.gauge('podflow_process_heap_used_bytes', 'V8 heap in use.')
      .observe({}, () => process.memoryUsage().heapUsed);
  }

  get status(): ServiceStatus {
    return this.#status;
  }

  get telemetryPort(): number {
    return this.#telemetryServer?.port ?? 0;
  }

  /** Starts every component; on a failure, stops what had started and rethrows. */
  start(): Promise<void> {
    this.#running ??= this.#start();
    return this.#running;
  }

  async #start(): Promise<void> {
    try {
      await this.#telemetryServer?.start();
      for (const node of startOrder(this.#graph)) {
        this.#logger.debug('starting', { component: node.label });
        try {
          await node.component.start();
        } catch (e) {
          throw e instanceof PodflowError
            ? e
            : new PodflowError('PODFLOW_COMPONENT_START', `${node.label} failed to start: ${(e as Error).message}`, { cause: e });
        }
        this.#started.push(node);
      }
      this.#status = 'ready';
      this.#logger.info('Everything is ready. Begin running and processing data.');
    } catch (e) {
      this.#status = 'failed';
      await this.#stopStarted();
      throw e;
    }
  }

  /** Stops receivers first and exporters last so their final export carries everything. */
  shutdown(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#status !== 'failed') this.#status = 'stopping';
      await this.#running?.catch(() => undefined);
      await this.#stopStarted();
      this.#status = 'stopped';
    })();
    return this.#stopping;
  }

  async #stopStarted(): Promise<void> {
    const started = new Set(this.#started);
    const g = this.#graph;
    const stop = async (node: GraphNode) => {
      if (!started.has(node)) return;
      try {
        await node.component.shutdown();
      } catch (e) {
        this.#logger.error('shutdown failed', { component: node.label, error: e });
      }
    };
    // Receivers first, so nothing new enters; processors one by one, upstream
    // first, so each flushes into a successor that is still running; then the
    // exporters together, so their queue drains (each bounded by its
    // shutdown_timeout) overlap instead of adding up past a pod's grace period.
    await Promise.all(g.receivers.map(stop));
    for (const node of [...g.processors].reverse()) await stop(node);
    await Promise.all(g.exporters.map(stop));
    await Promise.all(g.extensions.map(stop));
    this.#started = [];
    await this.#telemetryServer?.shutdown();
  }
}
