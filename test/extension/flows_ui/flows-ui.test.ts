// flows_ui: config defaults and errors with paths, the declared listen resource,
// the service graph built from published batches (nodes, merged request/reply
// edges, rates, health, namespace filter, max_edges and its self-metric), the
// top-edges JSON that `podflow top` reads, and the page's files.

import { createServer } from 'node:net';
import t, { type Test } from 'tap';
import { defaultsOf, formatProblem, type Problem } from '../../../src/config/schema.ts';
import { publishFlows } from '../../../src/extension/flows_api/flow-hub.ts';
import { DEFAULT_FLOWS_UI_ENDPOINT } from '../../../src/extension/flows_ui/config.ts';
import { EdgeWindowStore } from '../../../src/extension/flows_ui/edge-window-store.ts';
import { flowsUiFactory } from '../../../src/extension/flows_ui/factory.ts';
import type { FlowsUi } from '../../../src/extension/flows_ui/flows-ui.ts';
import { buildServiceGraph, edgeHealth, type ServiceGraph } from '../../../src/extension/flows_ui/service-graph.ts';
import { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { appendFlow, type FlowRecord } from '../../../src/pdata/flow-record.ts';
import { SelfTelemetry } from '../../../src/service/telemetry/self-telemetry.ts';
import { testSettings } from '../../support/test-settings.ts';

t.test('config: defaults, resources, errors with paths', async (t) => {
  const d = defaultsOf(flowsUiFactory.configSchema);
  t.same(d, { endpoint: DEFAULT_FLOWS_UI_ENDPOINT, window: 10_000, max_edges: 1000 });
  t.equal(DEFAULT_FLOWS_UI_ENDPOINT, '127.0.0.1:13190', 'loopback only by default');
  t.same(flowsUiFactory.resources!(d), [{ kind: 'listen', host: '127.0.0.1', port: 13190, path: ['endpoint'] }]);
  const problems: Problem[] = [];
  flowsUiFactory.configSchema.decode({ endpoint: 'nope', max_edges: 0, window: '10ms', colour: 'red' }, ['extensions', 'flows_ui'], problems);
  t.same(problems.map(formatProblem).sort(), [
    'extensions::flows_ui: has invalid keys: colour (valid keys: endpoint, window, max_edges)',
    'extensions::flows_ui::endpoint: invalid endpoint "nope": expected host:port',
    'extensions::flows_ui::max_edges: value 0 is below the minimum 1',
    'extensions::flows_ui::window: duration 10ms is below the minimum 1000ms',
  ].sort());
});

const side = (s: 'source' | 'destination', ns: string, wl: string) => ({ [`${s}.k8s.namespace.name`]: ns, [`${s}.k8s.workload.name`]: wl });

/** One TCP connection: the request edge with the connection's facts, and its reply. */
function call(b: FlowBatch, from: [string, string], to: [string, string], port: number, c: { up: number; down: number; retrans?: number; failed?: number; resets?: number; rttUs?: number }): void {
  const names = { ...side('source', ...from), ...side('destination', ...to) };
  const back = { ...side('source', ...to), ...side('destination', ...from) };
  const req: FlowRecord = {
    transport: 'tcp', sourceAddress: '10.244.0.2', sourcePort: 41000, destinationAddress: '10.244.1.3', destinationPort: port, sourceIsClient: true,
    counters: { bytes: c.up, packets: 10, retransmits: c.retrans ?? 0, opened: c.failed ? 0 : 1, failed: c.failed ?? 0, resets: c.resets ?? 0, rttUs: c.rttUs ?? 0 },
    attributes: names,
  };
  appendFlow(b, req);
  appendFlow(b, { transport: 'tcp', sourceAddress: '10.244.1.3', sourcePort: port, destinationAddress: '10.244.0.2', destinationPort: 41000,
    counters: { bytes: c.down, packets: 10 }, attributes: back });
}

function sampleBatch(start: number, end: number): FlowBatch {
  const b = new FlowBatch();
  b.startTimeMs = start;
  b.endTimeMs = end;
  call(b, ['shop', 'cart'], ['data', 'redis'], 6379, { up: 1000, down: 9000, rttUs: 200 });
  call(b, ['shop', 'cart'], ['data', 'redis'], 6379, { up: 1000, down: 9000, rttUs: 400, resets: 1 });
  call(b, ['shop', 'web'], ['shop', 'cart'], 8080, { up: 500, down: 500, retrans: 2 }); // 2 of 20 segments: bad
  call(b, ['shop', 'web'], ['shop', 'cart'], 8080, { up: 60, down: 40, failed: 1 }); // 1 failed of 2 attempts: bad too
  call(b, ['ads', 'server'], ['ads', 'db'], 5432, { up: 10, down: 10 });
  // No names: the addresses are the nodes.
  appendFlow(b, { transport: 'udp', sourceAddress: '10.0.0.9', sourcePort: 40999, destinationAddress: '10.0.0.53', destinationPort: 53, counters: { bytes: 80, packets: 1 } });
  return b;
}

t.test('the graph: workload nodes, one edge per client → server port, counters and rates', async (t) => {
  const store = new EdgeWindowStore({ windowMs: 10_000, now: () => 5000 });
  store.add(sampleBatch(0, 2000));
  const g = buildServiceGraph(store.view(), { namespace: null, maxEdges: 100, now: 7 });
  t.equal(g.windowSeconds, 2, 'rates divide by the batches\' span');
  t.same(g.namespaces, ['ads', 'data', 'shop']);
  t.same(g.nodes.map((n) => [n.id, n.name, n.namespace]), [
    ['10.0.0.53', '10.0.0.53', ''], ['10.0.0.9', '10.0.0.9', ''], ['ads/db', 'db', 'ads'], ['ads/server', 'server', 'ads'],
    ['data/redis', 'redis', 'data'], ['shop/cart', 'cart', 'shop'], ['shop/web', 'web', 'shop'],
  ]);
  t.equal(g.edges.length, 4, 'request and reply edges are one graph edge');
  const redis = g.edges.find((e) => e.id === 'shop/cart->data/redis:6379/tcp')!;
  t.same(redis, {
    id: 'shop/cart->data/redis:6379/tcp', source: 'shop/cart', target: 'data/redis', port: 6379, transport: 'tcp',
    bytes: 20_000, requestBytes: 2000, responseBytes: 18_000, packets: 40, retransmits: 0, opened: 2, failed: 0, resets: 1,
    rttUs: 300, bytesPerSecond: 10_000, packetsPerSecond: 20, retransmitRatio: 0, failureRatio: 0, health: 'ok',
  });
  const web = g.edges.find((e) => e.source === 'shop/web')!;
  t.match(web, { target: 'shop/cart', retransmits: 2, retransmitRatio: 0.05, opened: 1, failed: 1, failureRatio: 0.5, health: 'bad' });
  t.match(g.edges.find((e) => e.transport === 'udp'), { source: '10.0.0.9', target: '10.0.0.53', port: 53 });
  t.match(g.nodes.find((n) => n.id === 'shop/cart'), { bytesSent: 2000 + 540, bytesReceived: 18_000 + 560 });
});

t.test('health thresholds', async (t) => {
  t.same([edgeHealth(0, 0), edgeHealth(0.009, 0.009), edgeHealth(0.01, 0), edgeHealth(0, 0.01), edgeHealth(0.05, 0), edgeHealth(0, 0.1)],
    ['ok', 'ok', 'warn', 'warn', 'bad', 'bad']);
});

t.test('namespace filter keeps edges with an end in it, and their peers', async (t) => {
  const store = new EdgeWindowStore({ windowMs: 10_000 });
  store.add(sampleBatch(0, 1000));
  const g = buildServiceGraph(store.view(), { namespace: 'data', maxEdges: 100 });
  t.same(g.edges.map((e) => e.id), ['shop/cart->data/redis:6379/tcp']);
  t.same(g.nodes.map((n) => n.id), ['data/redis', 'shop/cart']);
  t.same(g.namespaces, ['ads', 'data', 'shop'], 'the list of namespaces is not filtered');
  t.same(buildServiceGraph(store.view(), { namespace: 'nope', maxEdges: 100 }).edges, []);
});

t.test('max_edges keeps the largest edges and says how many it left out', async (t) => {
  const store = new EdgeWindowStore({ windowMs: 10_000 });
  store.add(sampleBatch(0, 1000));
  const g = buildServiceGraph(store.view(), { namespace: null, maxEdges: 2 });
  t.same(g.edges.map((e) => e.id).sort(), ['shop/cart->data/redis:6379/tcp', 'shop/web->shop/cart:8080/tcp']);
  t.equal(g.omittedEdges, 2);
  t.same(g.nodes.map((n) => n.id), ['data/redis', 'shop/cart', 'shop/web'], 'no node without an edge');
});

t.test('the window slides: slices older than the window are forgotten', async (t) => {
  const clock = { t: 0 };
  const store = new EdgeWindowStore({ windowMs: 3000, now: () => clock.t });
  store.add(sampleBatch(0, 1000));
  clock.t = 1000;
  store.rotate();
  clock.t = 2000;
  store.add(sampleBatch(1000, 2000));
  store.rotate();
  t.equal(store.view().rows, 22);
  t.equal(store.view().seconds, 2);
  clock.t = 4000;
  t.equal(store.view().rows, 11, 'the first slice left the window');
  clock.t = 5000;
  const empty = store.view();
  t.same([empty.rows, empty.edges.length, empty.seconds], [0, 0, 3], 'an empty window divides by the wall-clock window');
});

async function startUi(t: Test, cfg: Record<string, unknown> = {}, telemetry = new SelfTelemetry()): Promise<FlowsUi> {
  const config = flowsUiFactory.configSchema.decodeOrDefault({ endpoint: '127.0.0.1:0', ...cfg }, [], [])!;
  const ui = flowsUiFactory.create(testSettings('flows_ui', { telemetry }), config) as FlowsUi;
  await ui.start();
  t.teardown(() => ui.shutdown());
  return ui;
}

t.test('HTTP: graph and edges from published batches, page files, errors', async (t) => {
  const telemetry = new SelfTelemetry();
  const ui = await startUi(t, { max_edges: 3 }, telemetry);
  const now = Date.now();
  publishFlows('synthetic', sampleBatch(now - 2000, now));
  const base = `http://127.0.0.1:${ui.port}`;
  const g = await (await fetch(`${base}/api/graph`)).json() as ServiceGraph;
  t.equal(g.edges.length, 3);
  t.equal(g.omittedEdges, 1);
  t.equal(telemetry.gauge('podflow_flows_ui_omitted_edges', '').get({ extension: 'flows_ui' }), 1, 'the self-metric says what was left out');
  t.equal(telemetry.gauge('podflow_flows_ui_edges', '').get({ extension: 'flows_ui' }), 7, 'directed edges held (both directions of 3 pairs + 1 UDP)');
  const filtered = await (await fetch(`${base}/api/graph?namespace=ads`)).json() as ServiceGraph;
  t.same(filtered.edges.map((e) => e.id), ['ads/server->ads/db:5432/tcp']);

  const r = await fetch(`${base}/api/edges?sort=failed&top=2&namespace=shop`);
  const edges = await r.json() as { windowSeconds: number; totalEdges: number; edges: Array<Record<string, unknown>>; namespaces: string[] };
  t.equal(edges.totalEdges, 4, 'directed edges touching shop (both directions of 2 pairs)');
  t.equal(edges.edges.length, 2);
  t.match(edges.edges[0], { source: 'shop/web', destination: 'shop/cart', failed: 1, sourceNamespace: 'shop', reply: false });
  t.same(edges.namespaces, ['ads', 'data', 'shop']);
  const bad = await fetch(`${base}/api/edges?sort=size&top=0`);
  t.equal(bad.status, 400);
  t.same(await bad.json(), { error: 'sort: "size" is not one of bytes, packets, retransmits, failed, drops; top: "0" is not an integer from 1 to 10000' });

  const page = await fetch(`${base}/`);
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /^text\/html/);
  t.match(page.headers.get('content-security-policy'), /default-src 'self'/);
  t.match(await page.text(), /<script type="module" src="app.js">/);
  const app = await fetch(`${base}/app.js`);
  t.match(await app.text(), /from '\.\/vendor\/cytoscape\.mjs'/);
  const lib = await fetch(`${base}/vendor/cytoscape.mjs`);
  t.equal(lib.status, 200);
  t.match(lib.headers.get('content-type'), /^text\/javascript/);
  t.ok((await lib.text()).length > 100_000, 'the library itself, from node_modules');
  t.equal((await fetch(`${base}/style.css`)).status, 200);
  t.equal((await fetch(`${base}/nope`)).status, 404);
  t.equal((await fetch(`${base}/api/graph`, { method: 'POST' })).status, 405);
});

t.test('a taken port is PODFLOW_PORT_IN_USE naming the setting; start and shutdown are idempotent', async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => blocker.close(() => r())));
  const port = (blocker.address() as { port: number }).port;
  const config = flowsUiFactory.configSchema.decodeOrDefault({ endpoint: `127.0.0.1:${port}` }, [], [])!;
  const ui = flowsUiFactory.create(testSettings('flows_ui/x'), config);
  await t.rejects(ui.start(), { code: 'PODFLOW_PORT_IN_USE', message: /extensions::flows_ui\/x::endpoint/ });
  await ui.shutdown();
  const ok = await startUi(t);
  await ok.start();
  const bound = ok.port;
  t.equal((await fetch(`http://127.0.0.1:${bound}/`)).status, 200);
  await ok.shutdown();
  await ok.shutdown();
  await t.rejects(fetch(`http://127.0.0.1:${bound}/`), 'closed after shutdown');
});
