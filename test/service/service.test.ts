// The service builds the graph from pipelines, starts exporters before the
// receivers that feed them, stops in reverse, fans one receiver out to several
// pipelines, and undoes a partial start.

import t from 'tap';
import type {
  ConsumerComponent, ExporterFactory, ProcessorFactory, ReceiverFactory, Signal,
} from '../../src/component/component.ts';
import type { ResolvedComponent, ResolvedConfig, ResolvedPipeline } from '../../src/config/resolve.ts';
import { object, string, defaultsOf } from '../../src/config/schema.ts';
import type { FlowConsumer } from '../../src/consumer/consumer.ts';
import { FlowBatch } from '../../src/pdata/flow-batch.ts';
import { appendFlow } from '../../src/pdata/flow-record.ts';
import { silentLogger } from '../../src/service/logger.ts';
import { Service } from '../../src/service/service.ts';

const schema = object({ tag: string({ default: '' }) });
type Cfg = ReturnType<typeof defaultsOf<{ tag: string }>>;

function recorder() {
  const events: string[] = [];
  const received: Record<string, number> = {};
  const emitters: Array<(b: FlowBatch) => Promise<void>> = [];
  let failStart = '';

  const receiver: ReceiverFactory<Cfg> = {
    kind: 'receiver', type: 'rx', stability: 'development', description: 'test', signals: ['metrics', 'logs'],
    configSchema: schema,
    create: (s, _c, next: FlowConsumer) => {
      emitters.push((b) => next.consume(b));
      return {
        start: async () => { if (failStart === s.id) throw new Error('boom'); events.push(`start ${s.id}`); },
        shutdown: async () => { events.push(`stop ${s.id}`); },
      };
    },
  };
  const processor: ProcessorFactory<Cfg> = {
    kind: 'processor', type: 'px', stability: 'development', description: 'test', signals: ['metrics', 'logs'],
    configSchema: schema, mutatesData: true,
    create: (s, c, next): ConsumerComponent => ({
      mutatesData: true,
      start: async () => { events.push(`start ${s.id}/${s.signal}`); },
      shutdown: async () => { events.push(`stop ${s.id}/${s.signal}`); },
      consume: async (b) => { b.setAttribute(0, 'tag', c.tag); await next.consume(b); },
    }),
  };
  const exporter: ExporterFactory<Cfg> = {
    kind: 'exporter', type: 'ex', stability: 'development', description: 'test', signals: ['metrics', 'logs'],
    configSchema: schema,
    create: (s): ConsumerComponent => ({
      mutatesData: false,
      start: async () => { if (failStart === s.id) throw new Error('exporter boom'); events.push(`start ${s.id}/${s.signal}`); },
      shutdown: async () => { events.push(`stop ${s.id}/${s.signal}`); },
      consume: async (b) => {
        const key = `${s.id}/${s.signal}:${b.getAttribute(0, 'tag') ?? '-'}`;
        received[key] = (received[key] ?? 0) + b.length;
      },
    }),
  };
  const rc = (kind: string, id: string, f: ReceiverFactory<Cfg> | ProcessorFactory<Cfg> | ExporterFactory<Cfg>, tag = ''): [string, ResolvedComponent] =>
    [id, { id, type: f.type, factory: f, config: { tag }, path: [kind, id] }];
  const pipe = (id: string, signal: Signal, receivers: string[], processors: string[], exporters: string[]): ResolvedPipeline =>
    ({ id, signal, receivers, processors, exporters });
  const cfg: ResolvedConfig = {
    receivers: new Map([rc('receivers', 'rx', receiver)]),
    processors: new Map([rc('processors', 'px/a', processor, 'A'), rc('processors', 'px/b', processor, 'B')]),
    exporters: new Map([rc('exporters', 'ex/1', exporter), rc('exporters', 'ex/2', exporter)]),
    extensions: new Map(),
    service: {
      extensions: [],
      pipelines: [
        pipe('metrics', 'metrics', ['rx'], ['px/a'], ['ex/1', 'ex/2']),
        pipe('logs', 'logs', ['rx'], ['px/b'], ['ex/1']),
      ],
      telemetry: { metrics: { level: 'none', address: '127.0.0.1:0' }, logs: { level: 'error', encoding: 'json' } },
    },
  };
  return { events, received, emitters, cfg, failOn: (id: string) => { failStart = id; } };
}

t.test('start order, one receiver fanned out to two pipelines, shutdown order', async (t) => {
  const r = recorder();
  const svc = new Service(r.cfg, { logger: silentLogger });
  await svc.start();
  t.equal(svc.status, 'ready');
  t.equal(r.emitters.length, 1, 'one receiver instance shared by both pipelines');
  const b = new FlowBatch(2);
  appendFlow(b, { transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 1, destinationAddress: '10.0.0.2', destinationPort: 2 });
  await r.emitters[0]!(b);
  t.same(r.received, { 'ex/1/metrics:A': 1, 'ex/2/metrics:A': 1, 'ex/1/logs:B': 1 }, 'each pipeline saw its own processor');
  await svc.shutdown();
  await svc.shutdown();
  const starts = r.events.filter((e) => e.startsWith('start'));
  t.same(starts.slice(0, 3).sort(), ['start ex/1/logs', 'start ex/1/metrics', 'start ex/2/metrics'], 'exporters first');
  t.equal(starts.at(-1), 'start rx', 'receiver last');
  const stops = r.events.filter((e) => e.startsWith('stop'));
  t.equal(stops[0], 'stop rx', 'receiver stops first');
  t.ok(stops.slice(-3).every((e) => e.startsWith('stop ex/')), 'exporters stop last');
  t.equal(svc.status, 'stopped');
});

t.test('a pipeline with a writing stage past its first gets a batch of its own from the fan-out', async (t) => {
  // The fan-out judges a pipeline by the stage it feeds; a pass-through reader
  // first and a writer second make a writing pipeline all the same (as the
  // Collector's pipeline capabilities do), or the writer would write into the
  // batch the other pipeline reads.
  const r = recorder();
  const passThrough: ProcessorFactory<Cfg> = {
    kind: 'processor', type: 'pr', stability: 'development', description: 'test', signals: ['metrics'],
    configSchema: schema, mutatesData: false,
    create: (_s, _c, next): ConsumerComponent => ({
      mutatesData: false, start: async () => {}, shutdown: async () => {}, consume: (b) => next.consume(b),
    }),
  };
  r.cfg.processors.set('pr', { id: 'pr', type: 'pr', factory: passThrough, config: { tag: '' }, path: ['processors', 'pr'] });
  r.cfg.service.pipelines = [
    { id: 'metrics/w', signal: 'metrics', receivers: ['rx'], processors: ['pr', 'px/a'], exporters: ['ex/1'] },
    { id: 'metrics/r', signal: 'metrics', receivers: ['rx'], processors: [], exporters: ['ex/2'] },
  ];
  const svc = new Service(r.cfg, { logger: silentLogger });
  await svc.start();
  t.teardown(() => svc.shutdown());
  const b = new FlowBatch(2);
  appendFlow(b, { transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 1, destinationAddress: '10.0.0.2', destinationPort: 2 });
  await r.emitters[0]!(b);
  t.same(r.received, { 'ex/1/metrics:A': 1, 'ex/2/metrics:-': 1 }, 'the reading pipeline did not see the writer\'s tag');
  t.equal(b.getAttribute(0, 'tag'), undefined, 'the receiver\'s batch was not written');
});

t.test('a failed start stops what had started and reports the component', async (t) => {
  const r = recorder();
  r.failOn('ex/2');
  const svc = new Service(r.cfg, { logger: silentLogger });
  await t.rejects(svc.start(), { code: 'PODFLOW_COMPONENT_START', message: /exporter ex\/2 \(metrics\) failed to start: exporter boom/ });
  t.equal(svc.status, 'failed');
  const started = r.events.filter((e) => e.startsWith('start')).map((e) => e.slice(6));
  const stopped = r.events.filter((e) => e.startsWith('stop')).map((e) => e.slice(5));
  t.same([...stopped].sort(), [...started].sort(), 'everything started was stopped');
  t.notOk(started.includes('rx'), 'the receiver never started');
});

t.test('the flow hub sees each batch once, after the enrich-only processors of the first metrics pipeline', async (t) => {
  const { subscribeFlows } = await import('../../src/extension/flows_api/flow-hub.ts');
  const r = recorder();
  // Make px (which tags rows) an enrich-only processor for this test.
  const px = r.cfg.processors.get('px/a')!;
  const enricher = { ...(px.factory as ProcessorFactory<Cfg>), enrichesOnly: true };
  r.cfg.processors.set('px/a', { ...px, factory: enricher });
  const seen: Array<{ id: string; tag: string | undefined }> = [];
  const unsubscribe = subscribeFlows((id, b) => seen.push({ id, tag: b.getAttribute(0, 'tag') }));
  t.teardown(unsubscribe);
  const svc = new Service(r.cfg, { logger: silentLogger });
  await svc.start();
  const b = new FlowBatch(2);
  appendFlow(b, { transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 1, destinationAddress: '10.0.0.2', destinationPort: 2 });
  await r.emitters[0]!(b);
  await svc.shutdown();
  t.same(seen, [{ id: 'rx', tag: 'A' }], 'once, labelled with the receiver, carrying what the enricher added');
});

t.test('a processor learns through the built graph what the stages after it read', async (t) => {
  const r = recorder();
  const { attributesReadBy } = await import('../../src/consumer/consumer.ts');
  const nexts: Record<string, FlowConsumer> = {};
  for (const id of ['px/a', 'px/b']) {
    const px = r.cfg.processors.get(id)!;
    const f = px.factory as ProcessorFactory<Cfg>;
    const create = (s: Parameters<typeof f.create>[0], c: Cfg, next: FlowConsumer) => { nexts[id] = next; return f.create(s, c, next); };
    r.cfg.processors.set(id, { ...px, factory: { ...f, create } as ProcessorFactory<Cfg> });
  }
  for (const [id, reads] of [['ex/1', ['x']], ['ex/2', ['y', 'x']]] as const) {
    const ex = r.cfg.exporters.get(id)!;
    const f = ex.factory as ExporterFactory<Cfg>;
    const create = (s: Parameters<typeof f.create>[0], c: Cfg): ConsumerComponent => ({ ...f.create(s, c), attributesRead: () => new Set<string>(reads) });
    r.cfg.exporters.set(id, { ...ex, factory: { ...f, create } as ExporterFactory<Cfg> });
  }
  const svc = new Service(r.cfg, { logger: silentLogger });
  await svc.start();
  t.teardown(() => svc.shutdown());
  t.same([...attributesReadBy(nexts['px/a']!)!].sort(), ['x', 'y'], 'metrics: both exporters, through the fan-out');
  t.same([...attributesReadBy(nexts['px/b']!)!], ['x'], 'logs: its one exporter');
});
