// The service-map page: polls api/graph every second and keeps a cytoscape
// graph in step with it (nodes and edges added, updated or removed by id, the
// layout re-run only when the set of nodes changes so the picture stays put).
// window.podflowUI exposes the graph and the last answer drawn, for tests.

import cytoscape from './vendor/cytoscape.mjs';

const POLL_MS = 1000;
const HEALTH_COLOURS = { ok: '#3a9d5d', warn: '#d99800', bad: '#d64545' };
const $ = (id) => document.getElementById(id);

const cy = cytoscape({
  container: $('graph'),
  maxZoom: 2.5,
  minZoom: 0.1,
  style: [
    { selector: 'node', style: {
      'background-color': 'data(colour)', width: 'data(size)', height: 'data(size)',
      label: 'data(label)', 'text-wrap': 'wrap', 'text-valign': 'bottom', 'text-margin-y': 4,
      'font-size': 10, color: '#1d2330', 'text-outline-color': '#f6f7f9', 'text-outline-width': 2,
      'border-width': 1, 'border-color': '#ffffff',
    } },
    { selector: 'edge', style: {
      width: 'data(width)', 'line-color': 'data(colour)', 'target-arrow-color': 'data(colour)',
      'target-arrow-shape': 'triangle', 'arrow-scale': 0.7, 'curve-style': 'bezier', opacity: 0.75,
    } },
    { selector: 'edge:selected', style: {
      label: 'data(portLabel)', 'font-size': 11, 'text-background-color': '#fff', 'text-background-opacity': 1,
      'text-background-padding': 2, opacity: 1, 'underlay-color': '#4b6bfb', 'underlay-padding': 4, 'underlay-opacity': 0.25,
    } },
  ],
});

const state = { namespace: '', selected: null, graph: null, version: 0, inFlight: false };
window.podflowUI = { cy, get graph() { return state.graph; }, get version() { return state.version; } };

/** A stable colour per namespace (hash → hue), grey for bare addresses. */
function namespaceColour(ns) {
  if (!ns) return '#8a93a3';
  let h = 0;
  for (const c of ns) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${h % 360}, 55%, 52%)`;
}

const scale = (v, max, lo, hi) => (max > 0 && v > 0 ? lo + (hi - lo) * (Math.log1p(v) / Math.log1p(max)) : lo);

function draw(graph) {
  const maxRate = Math.max(0, ...graph.edges.map((e) => e.bytesPerSecond));
  const maxNode = Math.max(0, ...graph.nodes.map((n) => n.bytesSent + n.bytesReceived));
  const wantNodes = new Map(graph.nodes.map((n) => [n.id, n]));
  const wantEdges = new Map(graph.edges.map((e) => [e.id, e]));
  let nodesChanged = false;
  cy.batch(() => {
    cy.edges().filter((e) => !wantEdges.has(e.id())).remove();
    cy.nodes().filter((n) => !wantNodes.has(n.id())).forEach((n) => { n.remove(); nodesChanged = true; });
    for (const n of graph.nodes) {
      const data = { ...n, label: n.namespace ? `${n.name}\n${n.namespace}` : n.name, colour: namespaceColour(n.namespace),
        size: scale(n.bytesSent + n.bytesReceived, maxNode, 18, 42) };
      const el = cy.getElementById(n.id);
      if (el.nonempty()) el.data(data);
      else { cy.add({ group: 'nodes', data }); nodesChanged = true; }
    }
    for (const e of graph.edges) {
      const data = { ...e, colour: HEALTH_COLOURS[e.health], width: scale(e.bytesPerSecond, maxRate, 1, 8), portLabel: `${e.port}/${e.transport}` };
      const el = cy.getElementById(e.id);
      if (el.nonempty()) el.data(data);
      else cy.add({ group: 'edges', data });
    }
  });
  if (nodesChanged) {
    cy.layout({ name: 'cose', animate: false, randomize: false, nodeRepulsion: () => 400000, idealEdgeLength: () => 160,
      edgeElasticity: () => 400, nodeOverlap: 40, gravity: 0.2, numIter: 1500, padding: 40 }).run();
    cy.fit(undefined, 40);
    // A handful of nodes would otherwise be blown up to fill the screen.
    if (cy.zoom() > 1.3) {
      cy.zoom(1.3);
      cy.center();
    }
  }
  if (state.selected && !wantEdges.has(state.selected)) select(null);
  else if (state.selected) showPanel(wantEdges.get(state.selected));
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const pct = (r) => `${(r * 100).toFixed(r > 0 && r < 0.001 ? 3 : 2)}%`;
function human(bytesPerSecond) {
  const units = ['B/s', 'kB/s', 'MB/s', 'GB/s'];
  let v = bytesPerSecond;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${v.toFixed(v >= 100 || i === 0 ? 0 : 1)} ${units[i]}`;
}
const rtt = (us) => (us > 0 ? (us < 1000 ? `${us} µs` : `${(us / 1000).toFixed(2)} ms`) : '–');

function showPanel(e) {
  $('panel').hidden = false;
  $('panel-title').textContent = `${e.source} → ${e.target}`;
  $('panel-subtitle').textContent = `port ${e.port}/${e.transport} · last ${state.graph.windowSeconds.toFixed(1)} s`;
  const rows = [
    ['bytes', 'Bytes', e.bytes, `${fmt(e.bytes)} (${human(e.bytesPerSecond)})`],
    ['requestBytes', 'Bytes client → server', e.requestBytes, fmt(e.requestBytes)],
    ['responseBytes', 'Bytes server → client', e.responseBytes, fmt(e.responseBytes)],
    ['packets', 'Packets', e.packets, `${fmt(e.packets)} (${e.packetsPerSecond.toFixed(1)}/s)`],
    ['retransmits', 'Retransmits', e.retransmits, `${fmt(e.retransmits)} (${pct(e.retransmitRatio)})`],
    ['opened', 'Connections opened', e.opened, fmt(e.opened)],
    ['failed', 'Connections failed', e.failed, `${fmt(e.failed)} (${pct(e.failureRatio)})`],
    ['resets', 'Resets', e.resets, fmt(e.resets)],
    ['rttUs', 'RTT (mean)', e.rttUs, rtt(e.rttUs)],
  ];
  const body = $('counters').tBodies[0];
  body.replaceChildren(...rows.map(([field, name, value, text]) => {
    const tr = document.createElement('tr');
    tr.dataset.field = field;
    const th = document.createElement('th');
    th.textContent = name;
    const td = document.createElement('td');
    td.dataset.value = String(value);
    td.textContent = text;
    tr.append(th, td);
    return tr;
  }));
  const health = document.createElement('tr');
  health.dataset.field = 'health';
  health.innerHTML = '<th>Health</th><td></td>';
  health.lastChild.textContent = e.health;
  health.lastChild.dataset.value = e.health;
  health.lastChild.className = `health-${e.health}`;
  body.append(health);
}

function select(id) {
  state.selected = id;
  if (!id) {
    $('panel').hidden = true;
    cy.edges().unselect();
    return;
  }
  const e = state.graph?.edges.find((x) => x.id === id);
  if (e) showPanel(e);
}

cy.on('tap', 'edge', (evt) => select(evt.target.id()));
cy.on('tap', (evt) => { if (evt.target === cy) select(null); });

function updateNamespaces(namespaces) {
  const sel = $('namespace');
  const have = [...sel.options].slice(1).map((o) => o.value);
  const want = [...new Set([...namespaces, ...(state.namespace ? [state.namespace] : [])])].sort();
  if (have.join('\n') === want.join('\n')) return;
  sel.replaceChildren(sel.options[0], ...want.map((ns) => new Option(ns, ns)));
  sel.value = state.namespace;
}

function legend(t) {
  $('legend-warn').textContent = `≥ ${t.warn.retransmitRatio * 100}% retransmitted or ≥ ${t.warn.failureRatio * 100}% failed`;
  $('legend-bad').textContent = `≥ ${t.bad.retransmitRatio * 100}% retransmitted or ≥ ${t.bad.failureRatio * 100}% failed`;
}

async function poll() {
  if (state.inFlight) return;
  state.inFlight = true;
  const ns = state.namespace;
  try {
    const res = await fetch(`api/graph${ns ? `?namespace=${encodeURIComponent(ns)}` : ''}`, { cache: 'no-store' });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const graph = await res.json();
    if (ns !== state.namespace) return; // the filter changed while this answer was on its way
    state.graph = graph;
    draw(graph);
    updateNamespaces(graph.namespaces);
    legend(graph.healthThresholds);
    const omitted = graph.omittedEdges ? ` · ${graph.omittedEdges} smaller edges not shown (max_edges)` : '';
    $('status').className = '';
    $('status').textContent = `last ${graph.windowSeconds.toFixed(1)} s · ${graph.nodes.length} workloads · ${graph.edges.length} edges${omitted}`
      + ` · updated ${new Date(graph.generatedAtMs).toLocaleTimeString()}`;
    state.version++;
    document.body.dataset.version = String(state.version);
    document.body.dataset.namespace = ns;
  } catch (e) {
    $('status').className = 'error';
    $('status').textContent = `cannot reach podflow (${e.message}); retrying`;
  } finally {
    state.inFlight = false;
  }
}

$('namespace').addEventListener('change', (evt) => {
  state.namespace = evt.target.value;
  select(null);
  void poll();
});

void poll();
setInterval(() => void poll(), POLL_MS);
