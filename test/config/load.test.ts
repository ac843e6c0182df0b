// Loading: sources in order (files, file:, env:, yaml:), Collector-style merge,
// env expansion after the merge, and the read/YAML/env error codes.

import t from 'tap';
import { PodflowError } from '../../src/errors/podflow-error.ts';
import { loadRawConfig } from '../../src/config/load.ts';
import { mergeConfigs, unflattenKeys } from '../../src/config/merge.ts';
import { load, problemsOf, testdata } from './helpers.ts';

t.test('merge: maps deeply, later scalars, lists and nulls replace', async (t) => {
  t.same(mergeConfigs({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3], e: 2 }, d: null }), { a: { b: 1, c: [3], e: 2 }, d: null });
  t.same(mergeConfigs({ a: { b: 1 } }, { a: 'x' }), { a: 'x' });
  t.same(unflattenKeys({ 'a::b::c': 1, a: { d: 2 }, l: [{ 'x::y': 1 }] }), { a: { b: { c: 1 }, d: 2 }, l: [{ x: { y: 1 } }] });
});

t.test('several files merge in order', async (t) => {
  const cfg = await load(['base.yaml', 'override.yaml', 'yaml:exporters::sink::verbosity: normal']);
  t.same(cfg.receivers.get('rx')?.config, {
    protocols: { grpc: { endpoint: '0.0.0.0:4317' }, http: { endpoint: '0.0.0.0:4318' } },
    rate: 5,
  }, 'nested maps from both files are kept');
  t.same([...cfg.exporters.keys()], ['sink', 'sink/second']);
  t.same(cfg.exporters.get('sink')?.config, { verbosity: 'normal' }, 'a yaml: source with :: keys overrides one setting');
  t.same(cfg.service.pipelines, [{ id: 'metrics', signal: 'metrics', receivers: ['rx'], processors: [], exporters: ['sink/second'] }],
    'the later exporters list replaced the earlier one');
});

t.test('the later file decides, and an empty file changes nothing', async (t) => {
  const alone = await problemsOf(() => load(['override.yaml']));
  t.same(alone.lines, ['service::pipelines::metrics: must have at least one receiver'], 'the receivers came from base.yaml');
  const reversed = await load(['override.yaml', 'base.yaml']);
  t.same(reversed.service.pipelines[0]?.exporters, ['sink'], 'in the other order base.yaml\'s list wins');
  const cfg = await load(['base.yaml', 'empty.yaml']);
  t.same(cfg.service.pipelines.map((p) => p.id), ['metrics']);
});

t.test('YAML anchors and merge keys work as in the Collector', async (t) => {
  t.same(await loadRawConfig(['yaml:base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3'], {}), { base: { x: 1, y: 2 }, other: { x: 1, y: 3 } });
});

t.test('yaml:, file: and env: sources', async (t) => {
  const inline = 'yaml:{receivers: {rx: {rate: 3}}, exporters: {sink: {}}, service: {pipelines: {logs: {receivers: [rx], exporters: [sink]}}}}';
  const cfg = await load([inline]);
  t.equal((cfg.receivers.get('rx')?.config as { rate: number }).rate, 3);
  const viaEnv = await loadRawConfig([`file:${testdata('base.yaml')}`, 'env:PF_EXTRA'], { PF_EXTRA: 'receivers: {rx: {rate: 9}}' });
  t.match(viaEnv, { receivers: { rx: { rate: 9, protocols: { grpc: { endpoint: '0.0.0.0:4317' } } } } });
});

t.test('env expansion through loadConfig keeps YAML types', async (t) => {
  const cfg = await load(['env.yaml'], { PF_RATE: '7', PF_HOST: '10.0.0.1', PF_LEVEL: 'warn' });
  const rx = cfg.receivers.get('rx')?.config as { rate: number; protocols: { grpc: { endpoint: string } } };
  t.equal(rx.rate, 7);
  t.equal(rx.protocols.grpc.endpoint, '10.0.0.1:4317', 'embedded references and a default');
  t.same(cfg.exporters.get('sink')?.config, { verbosity: 'detailed' });
  t.equal(cfg.service.telemetry.logs.level, 'warn');
});

t.test('malformed env references: PODFLOW_CONFIG_ENV with every path', async (t) => {
  const r = await problemsOf(() => load(['env-bad.yaml']));
  t.equal(r.code, 'PODFLOW_CONFIG_ENV');
  t.same(r.lines, [
    'receivers::rx::protocols::grpc::endpoint: environment variable "PF HOST" has invalid name: must match regex ^[a-zA-Z_][a-zA-Z0-9_]*$',
    'receivers::rx::protocols::http::endpoint: scheme "file" is not supported for uri "file:/etc/x" (supported: env)',
    'exporters::sink::verbosity: invalid reference "${env:PF_LEVEL": missing closing "}"',
  ]);
  t.equal(r.message, r.lines.join('\n'));
});

t.test('malformed YAML names the file, line and column', async (t) => {
  const file = testdata('malformed.yaml');
  const err = await load(['malformed.yaml']).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof PodflowError);
  t.equal((err as PodflowError).code, 'PODFLOW_CONFIG_YAML');
  t.equal((err as Error).message.split('\n')[0], `${file}:4:1: All mapping items must start at the same column`);
  const dup = await load(['yaml:a: 1\na: 2']).then(() => undefined, (e: unknown) => e);
  t.match((dup as Error).message, /^"yaml:a: 1 a: 2":2:1: Map keys must be unique/);
  t.equal((dup as PodflowError).code, 'PODFLOW_CONFIG_YAML');
});

t.test('unreadable sources: PODFLOW_CONFIG_READ', async (t) => {
  const missing = testdata('does-not-exist.yaml');
  await t.rejects(load(['does-not-exist.yaml']), {
    code: 'PODFLOW_CONFIG_READ',
    message: `cannot read config file "${missing}": ENOENT: no such file or directory, open '${missing}'`,
  });
  await t.rejects(loadRawConfig([testdata('')], {}), { code: 'PODFLOW_CONFIG_READ', message: /EISDIR/ });
  await t.rejects(loadRawConfig(['env:PF_NOT_SET'], {}), { code: 'PODFLOW_CONFIG_READ', message: 'config source "env:PF_NOT_SET": environment variable PF_NOT_SET is not set' });
  await t.rejects(loadRawConfig(['https://example.invalid/c.yaml'], {}), { code: 'PODFLOW_CONFIG_READ', message: /unsupported scheme/ });
});
