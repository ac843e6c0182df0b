// flows_ui in a real browser: `bin/podflow run` with the synthetic receiver and
// the flows_ui extension on free loopback ports, the page opened in Debian's
// headless Chromium (/usr/bin/chromium, driven by playwright-core; no browser is
// downloaded). Checks that the graph the page draws (read from its cytoscape
// instance) is the JSON endpoint's, that the JSON holds what the receiver
// generated, that a click on an edge shows its counters, that the namespace
// filter redraws the graph, and saves a screenshot (PF_UI_SCREENSHOT=path keeps
// a copy, e.g. for docs/flows-ui.png). No root needed.

import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import t from 'tap';
import type { GraphEdge, GraphNode, ServiceGraph } from '../../src/extension/flows_ui/service-graph.ts';
import { syntheticConfigSchema } from '../../src/receiver/synthetic/config.ts';
import { generateInterval } from '../../src/receiver/synthetic/generate.ts';
import { freePort, startPodflow, until } from './support/podflow-process.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// A short burst of synthetic flows, then silence: the window (10 minutes) keeps
// them, so the graph stands still while the page and the JSON are compared.
const SYNTHETIC = { seed: 7, namespaces: 4, interval: '250ms', stop_after: 12 };
const HEALTH_RGB = { ok: 'rgb(58,157,93)', warn: 'rgb(217,152,0)', bad: 'rgb(214,69,69)' };

/** What the page exposes as window.podflowUI (app.js). */
interface CyElement { id(): string; data(): Record<string, unknown>; style(name: string): string; renderedMidpoint(): { x: number; y: number }; selected(): boolean }
interface PodflowUi { cy: { nodes(): CyElement[]; edges(sel?: string): CyElement[] }; graph: ServiceGraph | null; version: number }
declare global { interface Window { podflowUI: PodflowUi } }

/** The nodes and edges the page has drawn, with the data it drew them from. */
function drawn(page: Page): Promise<{ nodes: GraphNode[]; edges: Array<GraphEdge & { colour: string; width: number }> }> {
  return page.evaluate(() => {
    const { cy } = window.podflowUI;
    const pick = (d: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, d[k]]));
    const nodeKeys = ['id', 'name', 'namespace', 'bytesSent', 'bytesReceived'];
    const edgeKeys = ['id', 'source', 'target', 'port', 'transport', 'bytes', 'requestBytes', 'responseBytes', 'packets', 'retransmits',
      'opened', 'failed', 'resets', 'rttUs', 'bytesPerSecond', 'packetsPerSecond', 'retransmitRatio', 'failureRatio', 'health'];
    return {
      nodes: cy.nodes().map((n) => pick(n.data(), nodeKeys)).sort((a, b) => String(a.id).localeCompare(String(b.id))),
      edges: cy.edges().map((e): Record<string, unknown> => ({ ...pick(e.data(), edgeKeys), colour: e.style('line-color').replace(/\s/g, ''), width: parseFloat(e.style('width')) }))
        .sort((a, b) => String(a.id).localeCompare(String(b.id))),
    } as never;
  });
}

const strip = (edges: Array<GraphEdge & { colour?: string; width?: number }>) => edges.map(({ colour: _c, width: _w, ...e }) => e);

t.test('the service map in headless Chromium matches the JSON endpoint', async (t) => {
  const [uiPort, metricsPort] = [await freePort(), await freePort()];
  const podflow = startPodflow(t, 'pf-ui-browser-', [
    'receivers:',
    '  synthetic:',
    ...Object.entries(SYNTHETIC).map(([k, v]) => `    ${k}: ${v}`),
    'exporters:',
    '  debug: {}',
    'extensions:',
    '  flows_ui:',
    `    endpoint: 127.0.0.1:${uiPort}`,
    '    window: 10m',
    'service:',
    '  extensions: [flows_ui]',
    '  telemetry:',
    '    metrics:',
    `      address: 127.0.0.1:${metricsPort}`,
    '  pipelines:',
    '    metrics:',
    '      receivers: [synthetic]',
    '      exporters: [debug]',
    '',
  ].join('\n'));
  const base = `http://127.0.0.1:${uiPort}`;
  const getGraph = async (ns?: string) => {
    const r = await fetch(`${base}/api/graph${ns ? `?namespace=${encodeURIComponent(ns)}` : ''}`);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return await r.json() as ServiceGraph;
  };

  // What the receiver emits is a pure function of its config: every row it will publish.
  const config = syntheticConfigSchema.decodeOrDefault(SYNTHETIC, [], [])!;
  const batches = Array.from({ length: SYNTHETIC.stop_after }, (_, i) => generateInterval(config, i, 0));
  const totalBytes = batches.reduce((n, b) => n + b.counters.bytes.reduce((a, x) => a + x, 0), 0);
  const workloads = new Set<string>();
  for (const b of batches) {
    for (let r = 0; r < b.length; r++) {
      for (const side of ['source', 'destination']) {
        workloads.add(`${b.getAttribute(r, `${side}.k8s.namespace.name`)}/${b.getAttribute(r, `${side}.k8s.workload.name`)}`);
      }
    }
  }

  // All intervals in: the bytes of the graph are every byte generated.
  const full = await until('all synthetic intervals in the graph', podflow, async () => {
    const g = await getGraph();
    return g.edges.reduce((n, e) => n + e.bytes, 0) === totalBytes ? g : undefined;
  });
  t.same(full.nodes.map((n) => n.id).sort(), [...workloads].sort(), 'one node per workload the receiver named');
  t.ok(full.edges.length > 20, `${full.edges.length} edges`);
  t.equal(full.windowSeconds, SYNTHETIC.stop_after * 0.25, 'rates over the span of the batches');
  t.ok(full.edges.some((e) => e.health !== 'ok') && full.edges.some((e) => e.health === 'ok'), 'healthy and unhealthy edges both present');

  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('request', (r) => { if (!r.url().startsWith(base)) problems.push(`request outside podflow: ${r.url()}`); });
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.podflowUI?.version >= 1 && window.podflowUI.cy.edges().length > 0, undefined, { timeout: 60_000 });

  // What is drawn is what the endpoint answers.
  const json = await getGraph();
  const shown = await drawn(page);
  t.same(shown.nodes, json.nodes, 'the nodes drawn are the JSON\'s, with their data');
  t.same(strip(shown.edges), json.edges, 'the edges drawn are the JSON\'s, with their counters');
  t.same(json.edges.map((e) => e.id), full.edges.map((e) => e.id), 'the graph stands still once the receiver stopped');
  for (const e of shown.edges) t.equal(e.colour, HEALTH_RGB[e.health], `${e.id}: coloured ${e.health}`);
  const byRate = [...shown.edges].sort((a, b) => a.bytesPerSecond - b.bytesPerSecond);
  t.ok(byRate.every((e, i) => i === 0 || e.width >= byRate[i - 1]!.width), 'edge width grows with bytes/s');
  t.ok(byRate.at(-1)!.width > byRate[0]!.width, 'and differs between the smallest and the largest');
  t.match(await page.locator('#status').innerText(), new RegExp(`${json.nodes.length} workloads · ${json.edges.length} edges`));

  // A click on an edge shows its counters. Edges can cross; try the widest few until the click lands on the one aimed at.
  const box = (await page.locator('#graph').boundingBox())!;
  let clicked: GraphEdge | undefined;
  for (const target of [...json.edges].sort((a, b) => b.bytes - a.bytes).slice(0, 10)) {
    const mid = await page.evaluate((id) => window.podflowUI.cy.edges().find((e) => e.id() === id)!.renderedMidpoint(), target.id);
    await page.mouse.click(box.x + mid.x, box.y + mid.y);
    const selected = await page.evaluate(() => window.podflowUI.cy.edges(':selected').map((e) => e.id()));
    if (selected.length === 1 && selected[0] === target.id && await page.locator('#panel').isVisible()) {
      clicked = target;
      break;
    }
  }
  t.ok(clicked, 'a click on an edge selects it and opens the panel');
  if (clicked) {
    t.equal(await page.locator('#panel-title').innerText(), `${clicked.source} → ${clicked.target}`);
    t.match(await page.locator('#panel-subtitle').innerText(), `port ${clicked.port}/${clicked.transport}`);
    const cells = await page.locator('#counters tr').evaluateAll((rows) => rows.map((r) => [
      (r as HTMLElement).dataset.field, r.querySelector('td')!.dataset.value, r.querySelector('td')!.textContent,
    ]));
    const panel = Object.fromEntries(cells.map(([f, v, text]) => [f, { v, text }]));
    for (const f of ['bytes', 'requestBytes', 'responseBytes', 'packets', 'retransmits', 'opened', 'failed', 'resets', 'rttUs'] as const) {
      t.equal(panel[f]?.v, String(clicked[f]), `panel ${f} = ${clicked[f]}`);
    }
    t.equal(panel.health?.v, clicked.health);
    t.match(panel.bytes?.text, clicked.bytes.toLocaleString('en-US'), 'the bytes as text');
    t.match(panel.retransmits?.text, `${clicked.retransmits.toLocaleString('en-US')} (${(clicked.retransmitRatio * 100).toFixed(2)}%)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'pf-ui-shot-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const shot = join(dir, 'flows-ui.png');
  await page.screenshot({ path: shot });
  const png = readFileSync(shot);
  t.same([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG', 'a PNG screenshot');
  t.equal(png.readUInt32BE(16), 1400, 'of the whole viewport');
  if (process.env.PF_UI_SCREENSHOT) copyFileSync(shot, process.env.PF_UI_SCREENSHOT);

  // The namespace filter: the graph is redrawn with the edges that touch the namespace.
  const ns = json.namespaces.find((n) => n !== 'kube-system')!;
  t.same(await page.locator('#namespace option').evaluateAll((o) => o.map((x) => (x as HTMLOptionElement).value)), ['', ...json.namespaces]);
  await page.selectOption('#namespace', ns);
  await page.waitForFunction((want) => document.body.dataset.namespace === want, ns, { timeout: 30_000 });
  const filteredJson = await getGraph(ns);
  const filtered = await drawn(page);
  t.same(filtered.nodes, filteredJson.nodes, `nodes drawn for namespace ${ns} are the JSON's`);
  t.same(strip(filtered.edges), filteredJson.edges, `edges drawn for namespace ${ns} are the JSON's`);
  t.ok(filtered.edges.length > 0 && filtered.edges.length < shown.edges.length, `fewer edges (${filtered.edges.length} of ${shown.edges.length})`);
  const inNs = new Set(filtered.nodes.filter((n) => n.namespace === ns).map((n) => n.id));
  t.ok(filtered.edges.every((e) => inNs.has(e.source) || inNs.has(e.target)), `every edge has an end in ${ns}`);
  t.notOk(await page.locator('#panel').isVisible(), 'the panel closes when the filter changes');
  await page.selectOption('#namespace', '');
  await page.waitForFunction(() => document.body.dataset.namespace === '' && window.podflowUI.cy.edges().length > 0);
  t.equal((await drawn(page)).edges.length, json.edges.length, 'all namespaces again');

  // The self-metric, from podflow's own telemetry endpoint.
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const held = /^podflow_flows_ui_edges\{[^}]*extension="flows_ui"[^}]*\} (\d+)$/m.exec(metrics);
  t.ok(held && Number(held[1]) > 0, `podflow_flows_ui_edges is served (${held?.[1]})`);
  t.same(problems, [], 'no page errors, no failed or outside requests');
});
