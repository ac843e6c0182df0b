// The flows_ui extension: a live service-map page served by podflow itself.
//   GET /                     the page (page/index.html, app.js, style.css)
//   GET /vendor/cytoscape.mjs the graph library, from node_modules (no CDN)
//   GET /api/graph            the service graph of the last window (nodes, edges, rates)
//   GET /api/edges            the top directed edges of the window (what `podflow top` shows)
// Data comes from the flow hub that feeds flows_api (flow-hub.ts); batches are
// rolled into workload edges as they arrive and none is kept.

import { readFile } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from '../../service/node-builtins.ts';
import { fileURLToPath } from 'node:url';
import type { CreateSettings } from '../../component/component.ts';
import { LifecycleComponent } from '../../component/lifecycle.ts';
import { splitHostPort } from '../../config/host-port.ts';
import { PodflowError } from '../../errors/podflow-error.ts';
import { SORT_KEYS, topEdges, type SortKey } from '../../exporter/console/top-flows.ts';
import { subscribeFlows } from '../flows_api/flow-hub.ts';
import type { FlowsUiConfig } from './config.ts';
import { EdgeWindowStore } from './edge-window-store.ts';
import { buildServiceGraph, edgeInNamespace } from './service-graph.ts';
import { boundPort, listenHttp } from '../../service/listen-http.ts';

interface Asset {
  type: string;
  body: Buffer;
}

const PAGE_FILES: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};
const CYTOSCAPE_PATH = '/vendor/cytoscape.mjs';
const MAX_TOP = 10_000;

// The page loads nothing from elsewhere. cytoscape injects a <style> element for
// its container, hence 'unsafe-inline' for styles only (scripts stay 'self').
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

export class FlowsUi extends LifecycleComponent {
  readonly #settings: CreateSettings;
  readonly #config: FlowsUiConfig;
  readonly store: EdgeWindowStore;
  readonly #assets = new Map<string, Asset>();
  #server: Server | undefined;
  #unsubscribe: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #omitted = 0;

  constructor(settings: CreateSettings, config: FlowsUiConfig) {
    super();
    this.#settings = settings;
    this.#config = config;
    this.store = new EdgeWindowStore({ windowMs: config.window });
    const labels = { extension: settings.id };
    settings.telemetry.gauge('podflow_flows_ui_edges', 'Directed workload edges flows_ui holds for its window.')
      .observe(labels, () => this.store.edgeCount);
    settings.telemetry.gauge('podflow_flows_ui_omitted_edges', 'Graph edges the last /api/graph answer left out because of max_edges.')
      .observe(labels, () => this.#omitted);
  }

  /** The port actually bound (useful with port 0). */
  get port(): number {
    return boundPort(this.#server);
  }

  protected async doStart(): Promise<void> {
    await this.#loadAssets();
    const { host } = splitHostPort(this.#config.endpoint);
    const server = createServer((req, res) => this.#handle(req, res));
    await listenHttp(server, this.#config.endpoint, `extensions::${this.#settings.id}::endpoint`);
    this.#server = server;
    this.#unsubscribe = subscribeFlows((_id, batch) => this.store.add(batch));
    this.#timer = setInterval(() => this.store.rotate(), 1000);
    this.#timer.unref();
    this.#settings.logger.info('flows_ui serving the service map', { url: `http://${host.includes(':') ? `[${host}]` : host}:${this.port}/` });
  }

  protected async doShutdown(): Promise<void> {
    clearInterval(this.#timer);
    this.#unsubscribe?.();
    const s = this.#server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Read once at start: a broken install fails at start, naming the file, not on the first request. */
  async #loadAssets(): Promise<void> {
    const dir = new URL('./page/', import.meta.url);
    const files: Array<[string, string, string]> = Object.entries(PAGE_FILES)
      .map(([path, [file, type]]) => [path, fileURLToPath(new URL(file, dir)), type]);
    let cytoscape: string;
    try {
      cytoscape = fileURLToPath(import.meta.resolve('cytoscape/dist/cytoscape.esm.min.mjs'));
    } catch (e) {
      throw new PodflowError('PODFLOW_COMPONENT_START', `extensions::${this.#settings.id}: the cytoscape package is not installed (run npm ci): ${(e as Error).message}`);
    }
    files.push([CYTOSCAPE_PATH, cytoscape, 'text/javascript; charset=utf-8']);
    for (const [path, file, type] of files) {
      try {
        this.#assets.set(path, { type, body: await readFile(file) });
      } catch (e) {
        throw new PodflowError('PODFLOW_COMPONENT_START', `extensions::${this.#settings.id}: cannot read ${file}: ${(e as Error).message}`);
      }
    }
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'GET') return sendJson(res, 405, { error: 'only GET is supported' });
    const asset = this.#assets.get(url.pathname);
    if (asset) {
      res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, ...SECURITY_HEADERS });
      res.end(asset.body);
      return;
    }
    const namespace = url.searchParams.get('namespace') || null;
    switch (url.pathname) {
      case '/api/graph': {
        const graph = buildServiceGraph(this.store.view(), { namespace, maxEdges: this.#config.max_edges });
        this.#omitted = graph.omittedEdges;
        return sendJson(res, 200, graph);
      }
      case '/api/edges':
        return this.#edges(url.searchParams, namespace, res);
      default:
        return sendJson(res, 404, { error: `no such path: ${url.pathname}` });
    }
  }

  /** ?sort=bytes|packets|retransmits|failed&top=N&namespace=NS — the ranking is the console's. */
  #edges(q: URLSearchParams, namespace: string | null, res: ServerResponse): void {
    const sort = q.get('sort') ?? 'bytes';
    const top = Number(q.get('top') ?? 100);
    const problems: string[] = [];
    if (!(SORT_KEYS as readonly string[]).includes(sort)) problems.push(`sort: "${sort}" is not one of ${SORT_KEYS.join(', ')}`);
    if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) problems.push(`top: "${q.get('top')}" is not an integer from 1 to ${MAX_TOP}`);
    if (problems.length) return sendJson(res, 400, { error: problems.join('; ') });
    const view = this.store.view();
    const namespaces = new Set<string>();
    for (const e of view.edges) {
      if (e.sourceNamespace) namespaces.add(e.sourceNamespace);
      if (e.destinationNamespace) namespaces.add(e.destinationNamespace);
    }
    const matching = view.edges.filter((e) => edgeInNamespace(e, namespace));
    sendJson(res, 200, {
      windowSeconds: view.seconds, rows: view.rows, namespace, namespaces: [...namespaces].sort(), sort,
      totalEdges: matching.length, edges: topEdges(matching, sort as SortKey, top),
    });
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...SECURITY_HEADERS });
  res.end(text);
}
