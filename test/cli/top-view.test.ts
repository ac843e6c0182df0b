// podflow top without a terminal: the endpoint and --sort checks, the screen it
// draws from an /api/edges answer (the console's table, cut to the terminal),
// and the plain blocks it prints to a pipe from a live flows_ui.

import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import t from 'tap';
import { endpointUrl, parseSort } from '../../src/cli/top-command.ts';
import { KEYS_HELP, renderTop, type EdgesAnswer } from '../../src/cli/top-view.ts';
import type { EdgeDetail } from '../../src/exporter/console/top-flows.ts';
import { publishFlows } from '../../src/extension/flows_api/flow-hub.ts';
import { flowsUiFactory } from '../../src/extension/flows_ui/factory.ts';
import type { FlowsUi } from '../../src/extension/flows_ui/flows-ui.ts';
import { FlowBatch } from '../../src/pdata/flow-batch.ts';
import { appendFlow } from '../../src/pdata/flow-record.ts';
import { testSettings } from '../support/test-settings.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

t.test('endpoint and sort', async (t) => {
  t.equal(endpointUrl('127.0.0.1:13190'), 'http://127.0.0.1:13190');
  t.equal(endpointUrl('https://agent.example:8443/ui/'), 'https://agent.example:8443/ui');
  t.throws(() => endpointUrl('ftp://x'), { code: 'PODFLOW_USAGE', message: /--endpoint: "ftp:\/\/x" must be http/ });
  t.throws(() => endpointUrl('http://'), { code: 'PODFLOW_USAGE', message: /--endpoint: "http:\/\/" is not a URL/ });
  t.equal(parseSort(undefined), 'bytes');
  t.equal(parseSort('failed'), 'failed');
  t.throws(() => parseSort('size'), { code: 'PODFLOW_USAGE', message: '--sort: "size" is not one of bytes, packets, retransmits, failed, drops' });
});

const edge = (source: string, bytes: number, retransmits: number): EdgeDetail => ({
  source, destination: 'shop/cart', sourceNamespace: 'shop', destinationNamespace: 'shop', port: 8080, transport: 'tcp', reply: false,
  bytes, packets: 10, retransmits, opened: 1, failed: 0, drops: 0, resets: 0, rttSumUs: 500, rttSamples: 2,
});
const answer: EdgesAnswer = {
  windowSeconds: 2, rows: 40, namespace: null, namespaces: ['shop'], sort: 'bytes', totalEdges: 7,
  edges: [edge('shop/a-rather-long-workload-name', 4000, 0), edge('shop/web', 2000, 3)],
};

t.test('the screen: header, keys, the console table cut to the terminal', async (t) => {
  const lines = renderTop(answer, { endpoint: '127.0.0.1:13190', sort: 'bytes', namespace: null, columns: 100, rows: 4, now: 0 });
  t.equal(lines[0], 'podflow top 127.0.0.1:13190  1970-01-01T00:00:00.000Z  window 2.0s  7 edges  top 2 by bytes  all namespaces'.slice(0, 100));
  t.equal(lines[1], KEYS_HELP);
  t.match(lines[2], /^SOURCE +DESTINATION +PORT +BYTES\/S/);
  t.match(lines[3], /^shop\/a-rather-long-~ +shop\/cart +8080\/tcp +2.00kB\/s +5 +0 +1 +0 +0 +250us$/);
  t.equal(lines.length, 4, 'cut to the terminal\'s rows');
  t.ok(lines.every((l) => l.length <= 100));
  const plain = renderTop(answer, { endpoint: 'x', sort: 'retransmits', namespace: 'shop', now: 0 });
  t.match(plain[0], /top 2 by retransmits {2}namespace shop$/);
  t.notOk(plain.includes(KEYS_HELP), 'no key help without a terminal');
  t.match(plain[2], /^shop\/a-rather-long-workload-name {2}/, 'names are not cut without a terminal');
  t.same(renderTop({ ...answer, edges: [], totalEdges: 0 }, { endpoint: 'x', sort: 'bytes', namespace: 'nope', now: 0 }).slice(1),
    ['(no flows in namespace nope; namespaces in the window: shop)']);
  t.same(renderTop(answer, { endpoint: 'x', sort: 'bytes', namespace: null, error: 'cannot reach x', now: 0 })[1], '! cannot reach x');
});

t.test('plain blocks to a pipe, from a live flows_ui, until SIGTERM', async (t) => {
  const config = flowsUiFactory.configSchema.decodeOrDefault({ endpoint: '127.0.0.1:0', window: '5m' }, [], [])!; // outlasts a slow CLI start
  const ui = flowsUiFactory.create(testSettings('flows_ui'), config) as FlowsUi;
  await ui.start();
  t.teardown(() => ui.shutdown());
  const b = new FlowBatch();
  // One clock reading: two could straddle a millisecond, and a 1001 ms window
  // turns 5 packets into 4.995 per second ("5.00" instead of "5").
  const now = Date.now();
  b.startTimeMs = now - 1000;
  b.endTimeMs = now;
  appendFlow(b, { transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 40000, destinationAddress: '10.0.0.2', destinationPort: 80,
    sourceIsClient: true, counters: { bytes: 5000, packets: 5, retransmits: 1 },
    attributes: { 'source.k8s.namespace.name': 'shop', 'source.k8s.workload.name': 'web', 'destination.k8s.namespace.name': 'shop', 'destination.k8s.workload.name': 'cart' } });
  publishFlows('synthetic', b);
  const child = spawn(`${ROOT}bin/podflow`, ['top', '--endpoint', `127.0.0.1:${ui.port}`, '--namespace', 'shop', '--sort', 'retransmits'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const deadline = Date.now() + 60_000;
  while (out.split('\n\n').length < 3 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM ends it cleanly');
  const blocks = out.split('\n\n').filter((x) => x);
  t.ok(blocks.length >= 2, `one block per refresh (${blocks.length})`);
  const lines = blocks[0]!.split('\n');
  t.match(lines[0], /^podflow top 127\.0\.0\.1:\d+ +\S+ +window 1\.0s +1 edges +top 1 by retransmits +namespace shop$/);
  t.same(lines[2]!.split(/\s{2,}/), ['shop/web', 'shop/cart', '80/tcp', '5.00kB/s', '5', '1', '0', '0', '0', '-']);
  t.notMatch(out, /\x1b\[/, 'no escape sequences in plain output');
});

t.test('an endpoint with nothing listening is PODFLOW_TOP_UNREACHABLE, exit 1', async (t) => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r())); // now nothing listens there
  const child = spawn(`${ROOT}bin/podflow`, ['top', '--endpoint', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  t.equal(code, 1);
  t.match(err, /^Error: cannot reach http:\/\/127\.0\.0\.1:\d+\/api\/edges\?sort=bytes&top=15: ECONNREFUSED; is the flows_ui extension enabled/);
});
