// flows_api: config defaults and errors with paths, the declared listen
// resource, and the HTTP JSON it serves from published batches and connection
// sources (aggregated per endpoint pair, ephemeral ports dropped).

import { createServer } from 'node:net';
import t, { type Test } from 'tap';
import { flowsApiFactory } from '../../../src/extension/flows_api/factory.ts';
import { DEFAULT_FLOWS_API_ENDPOINT } from '../../../src/extension/flows_api/config.ts';
import { publishFlows, registerConnectionSource } from '../../../src/extension/flows_api/flow-hub.ts';
import type { FlowsApi } from '../../../src/extension/flows_api/flows-api.ts';
import { FlowTable } from '../../../src/extension/flows_api/flow-table.ts';
import { defaultsOf, formatProblem, type Problem } from '../../../src/config/schema.ts';
import { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { appendFlow } from '../../../src/pdata/flow-record.ts';
import { testSettings } from '../../support/test-settings.ts';

t.test('config: defaults, resources, errors with paths', async (t) => {
  const d = defaultsOf(flowsApiFactory.configSchema);
  t.same(d, { endpoint: DEFAULT_FLOWS_API_ENDPOINT, flow_ttl: 300_000, max_flows: 100_000 });
  t.match(DEFAULT_FLOWS_API_ENDPOINT, /^127\.0\.0\.1:/, 'loopback only by default');
  t.same(flowsApiFactory.resources!(d), [{ kind: 'listen', host: '127.0.0.1', port: 13180, path: ['endpoint'] }]);
  const problems: Problem[] = [];
  flowsApiFactory.configSchema.decode({ endpoint: 'nope', max_flows: 0, flow_ttl: 'soon', extra: 1 }, ['extensions', 'flows_api'], problems);
  t.same(problems.map(formatProblem).sort(), [
    'extensions::flows_api: has invalid keys: extra (valid keys: endpoint, flow_ttl, max_flows)',
    'extensions::flows_api::endpoint: invalid endpoint "nope": expected host:port',
    'extensions::flows_api::flow_ttl: expected a duration such as "5s" or "250ms", got "soon"',
    'extensions::flows_api::max_flows: value 0 is below the minimum 1',
  ]);
});

async function startApi(t: Test, cfg: Record<string, unknown> = {}): Promise<FlowsApi> {
  const config = flowsApiFactory.configSchema.decodeOrDefault({ endpoint: '127.0.0.1:0', ...cfg }, [], [])!;
  const api = flowsApiFactory.create(testSettings('flows_api'), config) as FlowsApi;
  await api.start();
  t.teardown(() => api.shutdown());
  return api;
}

t.test('serves flows and connections', async (t) => {
  const api = await startApi(t);
  const b = new FlowBatch();
  for (const sport of [40000, 40001]) {
    appendFlow(b, { transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: sport, destinationAddress: '10.1.0.5', destinationPort: 8080,
      originalDestinationAddress: '10.96.0.10', originalDestinationPort: 80, sourceIsClient: true, counters: { bytes: 100, opened: 1 } });
    appendFlow(b, { transport: 'tcp', sourceAddress: '10.1.0.5', sourcePort: 8080, destinationAddress: '10.0.0.1', destinationPort: sport,
      originalSourceAddress: '10.96.0.10', originalSourcePort: 80, counters: { bytes: 1000 } });
  }
  publishFlows('conntrack', b);
  const unregister = registerConnectionSource('conntrack', () => [
    { protocol: 6, destination: '10.1.0.5', destinationPort: 8080, originalDestination: '10.96.0.10', originalDestinationPort: 80, state: 'ESTABLISHED' },
    { protocol: 6, destination: '10.1.0.5', destinationPort: 8080, originalDestination: '10.96.0.10', originalDestinationPort: 80, state: 'TIME_WAIT' },
  ]);
  t.teardown(unregister);
  const base = `http://127.0.0.1:${api.port}`;
  const flows = (await (await fetch(`${base}/flows`)).json() as { flows: Array<Record<string, any>> }).flows;
  t.equal(flows.length, 2, 'two connections collapse into one flow per direction');
  const fwd = flows.find((f) => f.sourceIsClient)!;
  t.match(fwd, { transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 0, destinationAddress: '10.1.0.5', destinationPort: 8080,
    originalDestinationAddress: '10.96.0.10', originalDestinationPort: 80, counters: { bytes: 200, opened: 2 } });
  const rev = flows.find((f) => !f.sourceIsClient)!;
  t.match(rev, { sourceAddress: '10.1.0.5', sourcePort: 8080, destinationPort: 0, counters: { bytes: 2000 } });
  const conns = (await (await fetch(`${base}/connections`)).json() as { endpoints: Array<Record<string, any>> }).endpoints;
  t.same(conns, [{ transport: 'tcp', address: '10.1.0.5', port: 8080, originalAddress: '10.96.0.10', originalPort: 80,
    connections: 2, states: { ESTABLISHED: 1, TIME_WAIT: 1 }, opened: 2, closed: 0, failed: 0 }]);
  t.equal((await fetch(`${base}/nope`)).status, 404);
  t.equal((await fetch(`${base}/flows`, { method: 'POST' })).status, 405);
});

t.test('the table is bounded and counts what it drops', async (t) => {
  const api = await startApi(t, { max_flows: 1, flow_ttl: '1s' });
  const b = new FlowBatch();
  appendFlow(b, { transport: 'udp', sourceAddress: '10.0.0.1', sourcePort: 1, destinationAddress: '10.0.0.2', destinationPort: 53, counters: { bytes: 1 } });
  appendFlow(b, { transport: 'udp', sourceAddress: '10.0.0.1', sourcePort: 2, destinationAddress: '10.0.0.2', destinationPort: 53, counters: { bytes: 1 } });
  publishFlows('x', b);
  t.equal(api.table.size, 1);
  t.equal(api.table.dropped, 1);
});

t.test('a taken port is PODFLOW_PORT_IN_USE naming the setting', async (t) => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => blocker.close(() => r())));
  const port = (blocker.address() as { port: number }).port;
  const config = flowsApiFactory.configSchema.decodeOrDefault({ endpoint: `127.0.0.1:${port}` }, [], [])!;
  const api = flowsApiFactory.create(testSettings('flows_api'), config);
  await t.rejects(api.start(), { code: 'PODFLOW_PORT_IN_USE', message: /extensions::flows_api::endpoint/ });
  await api.shutdown();
});

t.test('idle flows expire after flow_ttl', async (t) => {
  const clock = { t: 0 };
  const table = new FlowTable({ maxFlows: 10, ttlMs: 1000, now: () => clock.t });
  const b = new FlowBatch();
  appendFlow(b, { transport: 'udp', sourceAddress: '10.0.0.1', sourcePort: 1, destinationAddress: '10.0.0.2', destinationPort: 53, counters: { bytes: 1 } });
  table.add('x', b);
  clock.t = 900;
  t.equal(table.flows().length, 1);
  clock.t = 1901;
  t.equal(table.flows().length, 0);
});
