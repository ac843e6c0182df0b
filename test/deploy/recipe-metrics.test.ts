// Every metric and label the Grafana dashboard queries, and every metric or
// attribute a recipe (deploy/ and examples/ READMEs) names, exists in what
// podflow really emits; and every dashboard query runs in a real Prometheus
// and returns series.
//
// podflow runs as bin/podflow with the deployed pipeline (deploy/base's
// processors and their settings), except that the synthetic receiver stands
// in for ebpf + k8s_attributes (no kernel privilege or API server in CI: it
// emits the Kubernetes names k8s_attributes would add). It exports to the
// prometheus exporter, which a real Prometheus scrapes, and with otlp_http
// (JSON) to a sink here, which gives the OTel names Datadog and OTLP users see.
// A traces pipeline built from deploy/overlays/tempo (its exporter and its
// traces settings) sends connection spans over OTLP/gRPC to a sink that
// decodes them with the official protos; the traces recipe
// (examples/tempo/README.md) is checked against those spans.

import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { DEPLOY, REPO } from './helpers/kustomize.ts';
import { freePort, promQuery, startPodflow, startPrometheus, until, type Child } from './helpers/processes.ts';
import { promqlRefs } from './helpers/promql.ts';
import { OtlpSignalSink, type SpanOut } from '../e2e/support/otlp-signal-sink.ts';

interface PipelineConfig {
  processors?: Record<string, Record<string, unknown> | null>;
  exporters?: Record<string, Record<string, unknown> | null>;
  service: { pipelines: Record<string, { receivers?: string[]; processors?: string[]; exporters?: string[] }> };
}
interface Dashboard {
  panels: Array<{ title: string; type: string; targets?: Array<{ refId: string; expr: string; format?: string; instant?: boolean }> }>;
  templating: { list: Array<{ name: string; type: string; definition?: string }> };
}

const typeOf = (id: string) => id.split('/')[0]!;
// Stands in for the API server: the synthetic receiver already names both ends.
const NEEDS_CLUSTER = new Set(['k8s_attributes']);

const tmp = mkdtempSync(join(tmpdir(), 'pf-deploy-recipes-'));
const children: Child[] = [];
t.teardown(async () => {
  await Promise.all(children.map((c) => c.stop()));
  rmSync(tmp, { recursive: true, force: true });
});

/** An OTLP/HTTP JSON sink: the metric names and data point attribute keys it received. */
async function otlpSink(port: number) {
  const names = new Set<string>();
  const attributes = new Set<string>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (d: Buffer) => { body += d.toString(); });
    req.on('end', () => {
      type Point = { attributes?: Array<{ key: string }> };
      type Metric = { name: string; sum?: { dataPoints: Point[] }; histogram?: { dataPoints: Point[] }; gauge?: { dataPoints: Point[] } };
      const msg = JSON.parse(body) as { resourceMetrics?: Array<{ scopeMetrics?: Array<{ metrics?: Metric[] }> }> };
      for (const rm of msg.resourceMetrics ?? []) {
        for (const sm of rm.scopeMetrics ?? []) {
          for (const m of sm.metrics ?? []) {
            names.add(m.name);
            for (const p of (m.sum ?? m.histogram ?? m.gauge)?.dataPoints ?? []) for (const a of p.attributes ?? []) attributes.add(a.key);
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => { server.closeAllConnections(); server.close(); });
  return { names, attributes };
}

/** Prometheus text format → sample names and label names. */
function parseExposition(text: string): { names: Set<string>; labels: Set<string> } {
  const names = new Set<string>();
  const labels = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!m) continue;
    names.add(m[1]!);
    for (const l of (m[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="/g)) labels.add(l[1]!);
  }
  return { names, labels };
}

/** The recipes about connection spans: their attributes are checked against spans, not metrics. */
const TRACES_RECIPES = new Set([join(REPO, 'examples/tempo/README.md')]);

/**
 * Span attribute and resource attribute names a traces recipe writes in
 * backticks: dotted lower-case names under the namespaces the spans use
 * (config keys such as traces.min_duration are under none of them).
 */
function spanAttributeNames(text: string): Set<string> {
  const re = /`((?:service|peer|server|client|network|flow|host|k8s|source|destination)\.[a-z0-9_.]*[a-z0-9_])`/g;
  return new Set([...text.matchAll(re)].map((m) => m[1]!));
}

/** READMEs of the recipes: deploy/README.md and examples/<recipe>/README.md. */
function recipeFiles(): string[] {
  const out = [join(DEPLOY, 'README.md')];
  for (const d of readdirSync(join(REPO, 'examples'), { withFileTypes: true })) {
    const f = join(REPO, 'examples', d.name, 'README.md');
    if (d.isDirectory() && existsSync(f)) out.push(f);
  }
  return out;
}

t.test('what the dashboard and the recipes name is what podflow emits', async (t) => {
  const [promExporter, telemetry, health, sinkPort, promPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const sink = await otlpSink(sinkPort);
  const spanSink = new OtlpSignalSink();
  await spanSink.start();
  t.teardown(() => spanSink.stop());

  const base = parse(readFileSync(join(DEPLOY, 'base/config.yaml'), 'utf8')) as PipelineConfig;
  const [pipelineId, pipeline] = Object.entries(base.service.pipelines).find(([id]) => typeOf(id) === 'metrics')!;
  const processors = (pipeline.processors ?? []).filter((id) => !NEEDS_CLUSTER.has(typeOf(id)));
  const config = {
    receivers: { synthetic: { seed: 7, interval: '250ms' } },
    processors: Object.fromEntries(processors.map((id) => {
      const c = { ...(base.processors?.[id] ?? {}) };
      // The deployed interval, shortened so the test sees several exports.
      if ('interval' in c) c.interval = '500ms';
      return [id, c];
    })),
    exporters: {
      prometheus: { endpoint: `127.0.0.1:${promExporter}` },
      otlp_http: { endpoint: `http://127.0.0.1:${sinkPort}`, encoding: 'json', compression: 'none', export_interval: '500ms' },
    },
    extensions: { health_check: { endpoint: `127.0.0.1:${health}` } },
    service: {
      extensions: ['health_check'],
      telemetry: { metrics: { address: `127.0.0.1:${telemetry}` }, logs: { level: 'warn' } },
      pipelines: { [pipelineId]: { receivers: ['synthetic'], processors, exporters: ['prometheus', 'otlp_http'] } },
    },
  };
  // The tempo overlay's traces pipeline, its exporters pointed at the span sink.
  const tempo = parse(readFileSync(join(DEPLOY, 'overlays/tempo/config.yaml'), 'utf8')) as PipelineConfig;
  const [tracesId, traces] = Object.entries(tempo.service.pipelines).find(([id]) => typeOf(id) === 'traces')!;
  const tracesExporters = traces.exporters ?? [];
  for (const id of tracesExporters) {
    if (id in config.exporters) throw new Error(`exporter ${id} of the tempo overlay collides with the test's`);
    (config.exporters as Record<string, unknown>)[id] = { ...(tempo.exporters?.[id] ?? {}), endpoint: `http://127.0.0.1:${spanSink.grpcPort}` };
  }
  const tracesProcessors = (traces.processors ?? []).filter((id) => !NEEDS_CLUSTER.has(typeOf(id)));
  for (const id of tracesProcessors) (config.processors as Record<string, unknown>)[id] ??= tempo.processors?.[id] ?? {};
  (config.service.pipelines as Record<string, unknown>)[tracesId] = { receivers: ['synthetic'], processors: tracesProcessors, exporters: tracesExporters };
  const configFile = join(tmp, 'podflow.yaml');
  writeFileSync(configFile, stringify(config));
  const podflow = startPodflow(configFile);
  children.push(podflow);

  const promConfig = join(tmp, 'prometheus.yml');
  writeFileSync(promConfig, stringify({
    // Generous for a loaded CI machine: a scrape that times out counts as down.
    global: { scrape_interval: '2s', scrape_timeout: '2s', evaluation_interval: '2s' },
    scrape_configs: [{ job_name: 'podflow', static_configs: [{ targets: [`127.0.0.1:${promExporter}`, `127.0.0.1:${telemetry}`] }] }],
  }));
  const prometheus = startPrometheus(tmp, promConfig, promPort);
  children.push(prometheus);

  try {
    // Every flow metric in the exposition, and in the OTLP sink.
    const scrape = await until('podflow /metrics with every flow metric', async () => {
      const r = await fetch(`http://127.0.0.1:${promExporter}/metrics`);
      const e = parseExposition(await r.text());
      return ['network_flow_connections_failed_total', 'network_flow_tcp_resets_total', 'network_flow_tcp_rtt_seconds_bucket']
        .every((n) => e.names.has(n)) ? e : undefined;
    });
    // The traces pipeline's self-metrics too (its first export may still be in flight).
    const self = await until('self-metrics with podflow_exporter_sent_spans_total', async () => {
      const e = parseExposition(await (await fetch(`http://127.0.0.1:${telemetry}/metrics`)).text());
      return e.names.has('podflow_exporter_sent_spans_total') ? e : undefined;
    });
    const promNames = new Set([...scrape.names, ...self.names]);
    const promLabels = new Set([...scrape.labels, ...self.labels]);
    // The same metric families over OTLP (rare ones, resets and failures, can
    // reach the exposition a push interval before they reach the sink).
    const families = new Set([...scrape.names].filter((n) => n.startsWith('network_flow_')).map((n) => n.replace(/_(bucket|sum|count)$/, '')));
    await until(`OTLP export of all ${families.size} flow metric families`, async () =>
      ([...sink.names].filter((n) => n.startsWith('network.flow.')).length >= families.size ? true : undefined));
    t.comment(`emitted: ${[...promNames].sort().join(' ')}; OTLP: ${[...sink.names].sort().join(' ')}`);

    const dashboard = JSON.parse(readFileSync(join(REPO, 'examples/grafana/dashboard.json'), 'utf8')) as Dashboard;
    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((q) => ({ where: `${p.title} (${q.refId})`, expr: q.expr })));
    const grafanaVars = (expr: string) => expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1m').replaceAll('$namespace', '.*');
    t.ok(queries.length >= 8, `${queries.length} dashboard queries`);

    t.test('every metric and label in the dashboard is emitted', async (t) => {
      for (const q of queries) {
        const refs = promqlRefs(q.expr);
        t.ok(refs.metrics.size > 0, `${q.where}: reads a metric`);
        for (const m of refs.metrics) t.ok(promNames.has(m), `${q.where}: ${m} is emitted`);
        for (const l of refs.labels) t.ok(promLabels.has(l), `${q.where}: label ${l} is emitted`);
      }
      for (const v of dashboard.templating.list.filter((v) => v.type === 'query')) {
        const m = /^label_values\(\s*([A-Za-z_:][\w:]*)\s*,\s*(\w+)\s*\)$/.exec(v.definition ?? '');
        t.ok(m, `variable ${v.name}: label_values(metric, label)`);
        if (!m) continue;
        t.ok(promNames.has(m[1]!), `variable ${v.name}: ${m[1]} is emitted`);
        t.ok(promLabels.has(m[2]!), `variable ${v.name}: label ${m[2]} is emitted`);
      }
    });

    t.test('every dashboard query runs in Prometheus and returns series', async (t) => {
      // Enough successful scrapes of both targets for rate() over the windows below.
      await until('three successful scrapes of podflow', async () => {
        const r = await promQuery(promPort, 'sum_over_time(up{job="podflow"}[1m])');
        return r.length === 2 && r.every((s) => Number(s.value[1]) >= 3) ? true : undefined;
      }, 90_000);
      for (const q of queries) {
        // Grafana's variables, as Grafana would fill them for a short range.
        const expr = grafanaVars(q.expr);
        const result = await until(`${q.where} to return series`, async () => {
          const r = await promQuery(promPort, expr);
          return r.length > 0 ? r : undefined;
        }, 10_000).catch((e: Error) => e);
        t.ok(Array.isArray(result), `${q.where}: ${Array.isArray(result) ? `${result.length} series` : result.message}`);
      }
    });

    t.test('the service graph is a node graph whose edges join its nodes', async (t) => {
      const graph = dashboard.panels.find((p) => p.type === 'nodeGraph');
      t.ok(graph, 'a nodeGraph panel');
      // Grafana's node graph takes the frames of refId "nodes" / "edges" and
      // reads their fields by name: id and title; id, source and target.
      const target = (refId: string) => graph?.targets?.find((q) => q.refId === refId);
      for (const refId of ['nodes', 'edges']) {
        t.match(target(refId), { format: 'table', instant: true }, `${refId}: an instant table query`);
      }
      const nodes = await promQuery(promPort, grafanaVars(target('nodes')?.expr ?? ''));
      const edges = await promQuery(promPort, grafanaVars(target('edges')?.expr ?? ''));
      t.ok(nodes.length > 1 && edges.length > 0, `${nodes.length} nodes, ${edges.length} edges`);
      t.ok(nodes.every((n) => n.metric.id && n.metric.title), 'every node has id and title');
      const ids = new Set(nodes.map((n) => n.metric.id));
      t.equal(ids.size, nodes.length, 'node ids are unique');
      const dangling = edges.filter((e) => !e.metric.id || !ids.has(e.metric.source!) || !ids.has(e.metric.target!));
      t.same(dangling.map((e) => e.metric), [], 'every edge has an id and joins two nodes');
    });

    t.test('every metric and attribute a recipe names is emitted', async (t) => {
      const otelNames = sink.names;
      const otelAttributes = sink.attributes;
      for (const file of recipeFiles()) {
        const where = file.slice(REPO.length + 1);
        const text = readFileSync(file, 'utf8');
        for (const m of new Set(text.match(/\b(?:network_flow_[a-z0-9_]*[a-z0-9]|podflow_[a-z0-9_]*[a-z0-9])\b/g) ?? [])) {
          t.ok(promNames.has(m), `${where}: ${m} is emitted (Prometheus)`);
        }
        for (const m of new Set(text.match(/\bnetwork\.flow\.[a-z0-9_.]*[a-z0-9]\b/g) ?? [])) {
          t.ok(otelNames.has(m), `${where}: ${m} is emitted (OTLP)`);
        }
        if (!TRACES_RECIPES.has(file)) {
          for (const a of new Set(text.match(/\b(?:source|destination)\.k8s\.[a-z0-9_.]*[a-z0-9]\b/g) ?? [])) {
            t.ok(otelAttributes.has(a), `${where}: attribute ${a} is emitted (OTLP)`);
          }
        }
        for (const l of new Set(text.match(/\b(?:source|destination)_k8s_[a-z0-9_]*[a-z0-9]\b/g) ?? [])) {
          t.ok(promLabels.has(l), `${where}: label ${l} is emitted (Prometheus)`);
        }
      }
    });

    t.test('the connection spans the traces recipe describes are what podflow exports', async (t) => {
      // The synthetic receiver ends connections every interval, 2% refused and
      // 2% reset, so ERROR spans come within seconds. It reports both rows of
      // a connection from one table (no socket), so every span is a CLIENT
      // span; recipe-spans-join.test.ts covers the SERVER half and the join.
      const spans: SpanOut[] = await until('connection spans, some with status ERROR', async () => {
        const s = spanSink.spans;
        return s.length >= 20 && s.some((x) => x.status === 'STATUS_CODE_ERROR') ? s : undefined;
      });
      t.comment(`${spans.length} spans`);
      const problems: string[] = [];
      for (const s of spans) {
        const a = s.attributes;
        const say = (what: string) => problems.push(`${s.name} ${s.spanId}: ${what}`);
        if (s.kind !== 'SPAN_KIND_CLIENT') say(`kind ${s.kind}`);
        const server = a['destination.k8s.workload.name'] ?? a['server.address'];
        if (s.name !== `tcp ${server}:${a['server.port']}`) say(`name is not "tcp ${server}:${a['server.port']}"`);
        if (s.resource['service.name'] !== a['source.k8s.workload.name']) say(`resource service.name ${s.resource['service.name']} is not the client workload`);
        if (s.resource['service.namespace'] !== a['source.k8s.namespace.name']) say('resource service.namespace is not the client namespace');
        if (!s.resource['host.name']) say('no resource host.name');
        if (a['peer.service'] !== a['destination.k8s.workload.name']) say(`peer.service ${a['peer.service']} is not the server workload`);
        if (a['flow.observer'] !== 'client') say(`flow.observer ${a['flow.observer']}`);
        const bad = a['flow.end_reason'] === 'reset' || a['flow.end_reason'] === 'failed_connect';
        if ((s.status === 'STATUS_CODE_ERROR') !== bad) say(`status ${s.status} with end reason ${a['flow.end_reason']}`);
        // Nanoseconds since 1970 exceed 2^53 as a Number: compare whole milliseconds.
        if (Math.round((s.endNs - s.startNs) / 1e6) !== Number(a['flow.duration_ms'])) say('span length is not flow.duration_ms');
        if (!/^[0-9a-f]{32}$/.test(s.traceId) || /^0+$/.test(s.traceId) || !/^[0-9a-f]{16}$/.test(s.spanId)) say('bad trace or span ID');
      }
      t.same(problems.slice(0, 10), [], `every span is as the recipe describes (${problems.length} problems)`);
      const reasons = new Set(spans.map((s) => s.attributes['flow.end_reason']));
      t.ok(reasons.has('fin') && (reasons.has('reset') || reasons.has('failed_connect')), `end reasons seen: ${[...reasons].join(', ')}`);

      const emitted = new Set(spans.flatMap((s) => [...Object.keys(s.attributes), ...Object.keys(s.resource)]));
      for (const file of TRACES_RECIPES) {
        const names = spanAttributeNames(readFileSync(file, 'utf8'));
        t.ok(names.size >= 10, `${file.slice(REPO.length + 1)} names ${names.size} span attributes`);
        for (const n of names) t.ok(emitted.has(n), `${file.slice(REPO.length + 1)}: span attribute ${n} is exported`);
      }
    });
  } catch (e) {
    t.comment(`podflow output:\n${podflow.output()}\nprometheus output:\n${prometheus.output()}`);
    throw e;
  }
});
