import { createServer } from 'node:net';
import t from 'tap';
import type { ServiceStatus } from '../../../src/component/component.ts';
import type { Problem } from '../../../src/config/schema.ts';
import { isPodflowError } from '../../../src/errors/podflow-error.ts';
import { healthCheckConfigSchema, type HealthCheckConfig } from '../../../src/extension/health_check/config.ts';
import { healthCheckExtensionFactory } from '../../../src/extension/health_check/factory.ts';
import { goDuration } from '../../../src/extension/health_check/go-duration.ts';
import { HealthCheckExtension } from '../../../src/extension/health_check/health-check.ts';
import { testSettings } from '../../support/test-settings.ts';

function decode(value: unknown): { config?: HealthCheckConfig; problems: Problem[] } {
  const problems: Problem[] = [];
  const config = healthCheckConfigSchema.decodeOrDefault(value, ['extensions', 'health_check'], problems);
  return { config, problems };
}

/** A settings object whose status the test changes. */
function mutableHost(initial: ServiceStatus) {
  const host = { status: initial };
  return { host, settings: { ...testSettings('health_check'), host } };
}

t.test('defaults are the Collector\'s; bad values are reported with their paths', async (t) => {
  t.same(decode(undefined).config, { endpoint: 'localhost:13133', path: '/', response_body: { healthy: '', unhealthy: '' } });
  const bad = decode({ endpoint: 'localhost', path: 'health' });
  t.same(bad.problems.map((p) => p.path.join('::')), ['extensions::health_check::endpoint', 'extensions::health_check::path']);
  t.same(healthCheckExtensionFactory.resources?.(decode({ endpoint: '0.0.0.0:13134' }).config!),
    [{ kind: 'listen', host: '0.0.0.0', port: 13134, path: ['endpoint'] }]);
});

t.test('200 "Server available" while ready, 503 otherwise, 404 off the path', async (t) => {
  const { host, settings } = mutableHost('starting');
  const ext = new HealthCheckExtension(settings, decode({ endpoint: '127.0.0.1:0', path: '/health/status' }).config!);
  await ext.start();
  t.teardown(() => ext.shutdown());
  const url = `http://127.0.0.1:${ext.port}/health/status`;

  let res = await fetch(url);
  t.equal(res.status, 503, 'starting: not available');
  t.same(await res.json(), { status: 'Server not available', upSince: '0001-01-01T00:00:00Z', uptime: '' });

  host.status = 'ready';
  res = await fetch(`${url}?verbose`);
  t.equal(res.status, 200);
  t.equal(res.headers.get('content-type'), 'application/json');
  const body = await res.json() as { status: string; upSince: string; uptime: string };
  t.equal(body.status, 'Server available');
  t.ok(Date.now() - Date.parse(body.upSince) < 60_000, `upSince ${body.upSince}`);
  t.match(body.uptime, /^[\d.]+(ms|s)$/);

  for (const s of ['stopping', 'failed', 'stopped'] as const) {
    host.status = s;
    t.equal((await fetch(url)).status, 503, s);
  }
  t.equal((await fetch(`http://127.0.0.1:${ext.port}/`)).status, 404, 'only the configured path answers');
});

t.test('response_body replaces the JSON', async (t) => {
  const { host, settings } = mutableHost('ready');
  const ext = healthCheckExtensionFactory.create(settings,
    decode({ endpoint: '127.0.0.1:0', response_body: { healthy: 'I am OK', unhealthy: 'I am not well' } }).config!);
  await ext.start();
  t.teardown(() => ext.shutdown());
  const url = `http://127.0.0.1:${(ext as HealthCheckExtension).port}/`;
  t.equal(await (await fetch(url)).text(), 'I am OK');
  host.status = 'failed';
  const res = await fetch(url);
  t.equal(res.status, 503);
  t.equal(await res.text(), 'I am not well');
});

t.test('a port in use is PODFLOW_PORT_IN_USE naming the setting', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const port = (blocker.address() as { port: number }).port;
  const settings = { ...testSettings('health_check/probe') };
  const ext = new HealthCheckExtension(settings, decode({ endpoint: `127.0.0.1:${port}` }).config!);
  const err = await ext.start().then(() => undefined, (e: unknown) => e);
  t.ok(isPodflowError(err) && err.code === 'PODFLOW_PORT_IN_USE', 'coded error');
  t.equal((err as Error).message, `extensions::health_check/probe::endpoint: 127.0.0.1:${port} is already in use`);
  await ext.shutdown();
  await ext.shutdown();
});

t.test('start and shutdown are idempotent and free the port', async (t) => {
  const ext = new HealthCheckExtension(testSettings('health_check'), decode({ endpoint: '127.0.0.1:0' }).config!);
  await ext.start();
  await ext.start();
  const port = ext.port;
  t.equal((await fetch(`http://127.0.0.1:${port}/`)).status, 200);
  await ext.shutdown();
  await ext.shutdown();
  await t.rejects(fetch(`http://127.0.0.1:${port}/`), 'nothing listens after shutdown');
});

t.test('uptime prints as a Go duration', async (t) => {
  t.equal(goDuration(0), '0s');
  t.equal(goDuration(250), '250ms');
  t.equal(goDuration(27_460), '27.46s');
  t.equal(goDuration(16 * 60_000 + 24_684), '16m24.684s');
  t.equal(goDuration(3_600_000 + 2_000), '1h0m2s');
});
