// Resolution: a valid config becomes the exact ResolvedConfig the service uses;
// every invalid one gives PODFLOW_CONFIG_INVALID with each problem's path and
// Collector wording, all problems of a file together.

import t from 'tap';
import { resolveConfig } from '../../src/config/resolve.ts';
import { hcFactory, promFactory, pxFactory, rxFactory, sinkFactory, fakeRegistry } from './fake-factories.ts';
import { load, problemsOf } from './helpers.ts';

t.test('a valid config resolves completely', async (t) => {
  const cfg = await load(['valid.yaml']);
  t.same([...cfg.receivers.values()], [
    { id: 'rx', type: 'rx', factory: rxFactory, path: ['receivers', 'rx'],
      config: { protocols: { grpc: { endpoint: '0.0.0.0:4317' }, http: { endpoint: '0.0.0.0:4318' } }, rate: 10 } },
    { id: 'rxold/legacy', type: 'rx', factory: rxFactory, path: ['receivers', 'rxold/legacy'], deprecatedAlias: 'rxold',
      config: { protocols: { grpc: {}, http: {} }, rate: 5 } },
  ]);
  t.same(cfg.processors.get('px'), { id: 'px', type: 'px', factory: pxFactory, path: ['processors', 'px'],
    config: { timeout: 1000, send_batch_size: 8192, send_batch_max_size: 0 } });
  t.same([...cfg.exporters.keys()], ['prom', 'sink/verbose', 'sink/unused'], 'unused components are fine');
  t.equal(cfg.exporters.get('prom')?.factory, promFactory);
  t.same(cfg.exporters.get('sink/unused')?.config, { verbosity: 'basic' }, 'an empty block takes the defaults');
  t.equal(cfg.exporters.get('sink/verbose')?.factory, sinkFactory);
  t.same(cfg.extensions.get('hc')?.config, { endpoint: '0.0.0.0:13133' });
  t.equal(cfg.extensions.get('hc')?.factory, hcFactory);
  t.same(cfg.service, {
    extensions: ['hc'],
    pipelines: [
      { id: 'metrics', signal: 'metrics', receivers: ['rx'], processors: ['px'], exporters: ['prom', 'sink/verbose'] },
      { id: 'logs/flows', signal: 'logs', receivers: ['rx', 'rxold/legacy'], processors: [], exporters: ['sink/verbose'] },
    ],
    telemetry: { metrics: { level: 'detailed', address: '127.0.0.1:9999' }, logs: { level: 'debug', encoding: 'json' } },
  });
});

t.test('telemetry defaults as in the Collector', async (t) => {
  const cfg = await load(['yaml:{receivers: {rx: }, exporters: {sink: }, service: {pipelines: {metrics: {receivers: [rx], exporters: [sink]}}}}']);
  t.same(cfg.service.telemetry, { metrics: { level: 'normal', address: '127.0.0.1:8888' }, logs: { level: 'info', encoding: 'console' } });
  t.same(cfg.service.extensions, []);
});

const cases: Array<[string, string[]]> = [
  ['invalid-many.yaml', [
    'receivers::rx::protocols::grpc::endpoint: invalid endpoint "not-an-endpoint": expected host:port',
    'receivers::rx::rate: value 0 is below the minimum 1',
    'receivers: unknown type: "foo" for id: "foo" (valid values: [rx])',
    'processors::px: has invalid keys: colour (valid keys: timeout, send_batch_size, send_batch_max_size)',
    'processors::px::timeout: expected a duration such as "5s" or "250ms", got "forever"',
    'service::pipelines::metrics: references receiver "nope" which is not configured',
    'service::pipelines::metrics: references exporter "gone" which is not configured',
  ]],
  ['invalid-top-level.yaml', [
    'has invalid keys: connectors, foo (valid keys: receivers, processors, exporters, extensions, service)',
    'receivers: expected a map, got a list',
    'service::pipelines::metrics: references receiver "rx" which is not configured',
  ]],
  ['invalid-ids.yaml', [
    'receivers::rx/: name part must be specified after / in type/name',
    'receivers::r-x: invalid character(s) in type "r-x"',
    'exporters::sink/a b: invalid character(s) in name "a b"',
    'service::pipelines::metrics: must have at least one receiver',
  ]],
  ['invalid-pipelines.yaml', [
    'service::extensions: references extension "zpages" which is not configured',
    'service::pipelines::metrics: must have at least one exporter',
    'service::pipelines::metrics: references processor "px" multiple times',
    'service::pipelines::logs: exporter "prom" does not support logs',
    'service::pipelines: unknown signal "foo" for pipeline "foo" (valid values: [logs metrics traces])',
    'service::pipelines::traces/x: has invalid keys: extra (valid keys: receivers, processors, exporters)',
  ]],
  ['no-pipelines.yaml', [
    'service::telemetry::metrics::level: invalid value "verbose" (valid values: [none, basic, normal, detailed])',
    'service::telemetry::logs: has invalid keys: format (valid keys: level, encoding)',
    'service::telemetry::logs::encoding: invalid value "xml" (valid values: [json, console])',
    'service: must have at least one pipeline',
  ]],
  ['empty.yaml', ['service: must have at least one pipeline']],
  ['minimal.yaml', ['service::pipelines::traces: receiver "rx" does not support traces']],
  ['invalid-validate.yaml', ['processors::px/big::send_batch_max_size: must be greater or equal to send_batch_size']],
  ['port-conflict.yaml', [
    'exporters::prom::endpoint: port 8889 is also used by receivers::rx::protocols::http::endpoint',
    'service::telemetry::metrics::address: port 8888 is also used by exporters::prom/self::endpoint',
  ]],
];

for (const [file, want] of cases) {
  t.test(`${file}: every problem, with its path`, async (t) => {
    const r = await problemsOf(() => load([file]));
    t.equal(r.code, 'PODFLOW_CONFIG_INVALID');
    t.same(r.lines, want);
    t.equal(r.message, want.join('\n'), 'the message is every problem, one per line');
  });
}

t.test('ports on distinct hosts, unused components and telemetry level none do not conflict', async (t) => {
  const cfg = await load(['port-ok.yaml']);
  t.equal(cfg.service.telemetry.metrics.level, 'none');
});

t.test('problem paths are structured, not only printed', async (t) => {
  const raw = { receivers: { rx: { rate: 'x' } }, service: 'oops' };
  const err = (() => { try { resolveConfig(raw, fakeRegistry()); } catch (e) { return e; } })() as { problems: unknown };
  t.same(err.problems, [
    { path: ['receivers', 'rx', 'rate'], message: 'expected an integer, got "x"' },
    { path: ['service'], message: 'expected a map, got "oops"' },
  ]);
});

t.test('non-map config roots and sections', async (t) => {
  const r = await problemsOf(() => resolveConfig(['a'], fakeRegistry()));
  t.same(r.lines, ['the config must be a map, got a list', 'service: must have at least one pipeline']);
  const s = await problemsOf(() => resolveConfig({ exporters: 3, service: { pipelines: [1], extensions: 'hc' } }, fakeRegistry()));
  t.same(s.lines, [
    'exporters: expected a map, got number 3',
    'service::extensions: expected a list, got "hc"',
    'service::pipelines: expected a map, got a list',
  ]);
});

t.test('a component whose type is unknown is still "configured" for references', async (t) => {
  const r = await problemsOf(() => resolveConfig({
    receivers: { rx: null }, exporters: { kafka: null },
    service: { pipelines: { metrics: { receivers: ['rx'], exporters: ['kafka'] } } },
  }, fakeRegistry()));
  t.same(r.lines, ['exporters: unknown type: "kafka" for id: "kafka" (valid values: [prom sink])']);
});

t.test('ports: a wildcard host overlaps every host; only enabled extensions count', async (t) => {
  const base = {
    receivers: { rx: { protocols: { grpc: { endpoint: '127.0.0.1:4317' } } } },
    exporters: { sink: null },
    extensions: { hc: { endpoint: '0.0.0.0:4317' }, 'hc/off': { endpoint: '127.0.0.1:4317' } },
    service: { extensions: ['hc'], pipelines: { metrics: { receivers: ['rx'], exporters: ['sink'] } } },
  };
  const r = await problemsOf(() => resolveConfig(base, fakeRegistry()));
  t.same(r.lines, ['extensions::hc::endpoint: port 4317 is also used by receivers::rx::protocols::grpc::endpoint']);
  const bad = await problemsOf(() => resolveConfig({ ...base, extensions: { hc: null }, service: { ...base.service, telemetry: { metrics: { address: 'nowhere' } } } }, fakeRegistry()));
  t.same(bad.lines, ['service::telemetry::metrics::address: invalid endpoint "nowhere": expected host:port']);
});

t.test('an exporter alias is recorded; references match the ID as written', async (t) => {
  const cfg = resolveConfig({
    receivers: { rx: null }, exporters: { 'oldsink/a': { verbosity: 'normal' } },
    service: { pipelines: { logs: { receivers: ['rx'], exporters: ['oldsink/a'] } } },
  }, fakeRegistry());
  t.same(cfg.exporters.get('oldsink/a'), {
    id: 'oldsink/a', type: 'sink', factory: sinkFactory, config: { verbosity: 'normal' },
    path: ['exporters', 'oldsink/a'], deprecatedAlias: 'oldsink',
  });
  const r = await problemsOf(() => resolveConfig({
    receivers: { rx: null }, exporters: { sink: null },
    service: { pipelines: { logs: { receivers: ['rxold'], exporters: ['sink'] } } },
  }, fakeRegistry()));
  t.same(r.lines, ['service::pipelines::logs: references receiver "rxold" which is not configured']);
});
