// The flows_api extension: what k8sconntrack served, as HTTP JSON.
//   GET /flows        current flows between endpoints with their counters
//   GET /connections  live connections per destination endpoint (+ opened/closed/failed)
// Data comes from the flow hub (flow-hub.ts): receivers publish every batch they
// emit; connection sources (the conntrack receiver) report live connections.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from '../../service/node-builtins.ts';
import type { CreateSettings } from '../../component/component.ts';
import { LifecycleComponent } from '../../component/lifecycle.ts';
import { transportName } from '../../pdata/flow-record.ts';
import type { FlowsApiConfig } from './config.ts';
import { connectionSources, subscribeFlows } from './flow-hub.ts';
import { FlowTable } from './flow-table.ts';
import { boundPort, listenHttp } from '../../service/listen-http.ts';

interface EndpointCount {
  transport: string;
  address: string;
  port: number;
  originalAddress?: string;
  originalPort?: number;
  connections: number;
  states: Record<string, number>;
  opened: number;
  closed: number;
  failed: number;
}

export class FlowsApi extends LifecycleComponent {
  readonly #settings: CreateSettings;
  readonly #config: FlowsApiConfig;
  readonly table: FlowTable;
  #server: Server | undefined;
  #unsubscribe: (() => void) | undefined;
  #lastDropped = 0;

  constructor(settings: CreateSettings, config: FlowsApiConfig) {
    super();
    this.#settings = settings;
    this.#config = config;
    this.table = new FlowTable({ maxFlows: config.max_flows, ttlMs: config.flow_ttl });
    settings.telemetry.gauge('podflow_flows_api_flows', 'Flows the flows_api table holds.')
      .observe({ extension: settings.id }, () => this.table.size);
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return boundPort(this.#server);
  }

  protected async doStart(): Promise<void> {
    const server = createServer((req, res) => this.#handle(req, res));
    await listenHttp(server, this.#config.endpoint, `extensions::${this.#settings.id}::endpoint`);
    this.#server = server;
    this.#unsubscribe = subscribeFlows((id, batch) => {
      this.table.add(id, batch);
      const dropped = this.table.dropped - this.#lastDropped;
      if (dropped > 0) {
        this.#settings.telemetry.counter('podflow_flows_api_dropped_total', 'Flows flows_api did not keep because its table was full.')
          .add(dropped, { extension: this.#settings.id });
        this.#lastDropped = this.table.dropped;
      }
    });
  }

  protected async doShutdown(): Promise<void> {
    this.#unsubscribe?.();
    const s = this.#server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'GET') return send(res, 405, { error: 'only GET is supported' });
    switch (url.pathname) {
      case '/flows':
        return send(res, 200, { flows: this.table.flows() });
      case '/connections':
        return send(res, 200, { endpoints: this.#connections() });
      case '/':
        return send(res, 200, { endpoints: ['/flows', '/connections'] });
      default:
        return send(res, 404, { error: `no such path: ${url.pathname}` });
    }
  }

  /** Live connections per destination endpoint, plus the opened/closed/failed totals the flows carry. */
  #connections(): EndpointCount[] {
    const out = new Map<string, EndpointCount>();
    const get = (transport: string, address: string, port: number, oa?: string, op?: number): EndpointCount => {
      const key = `${transport}|${address}|${port}|${oa ?? ''}|${op ?? ''}`;
      let e = out.get(key);
      if (!e) {
        e = { transport, address, port, ...(oa !== undefined ? { originalAddress: oa, originalPort: op! } : {}), connections: 0, states: {}, opened: 0, closed: 0, failed: 0 };
        out.set(key, e);
      }
      return e;
    };
    for (const source of connectionSources().values()) {
      for (const c of source()) {
        const e = get(transportName(c.protocol), c.destination, c.destinationPort, c.originalDestination, c.originalDestinationPort);
        e.connections++;
        if (c.state) e.states[c.state] = (e.states[c.state] ?? 0) + 1;
      }
    }
    for (const f of this.table.flows()) {
      if (!f.sourceIsClient) continue;
      const e = get(f.transport, f.destinationAddress, f.destinationPort, f.originalDestinationAddress, f.originalDestinationPort);
      e.opened += f.counters.opened;
      e.closed += f.counters.closed;
      e.failed += f.counters.failed;
    }
    return [...out.values()];
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
