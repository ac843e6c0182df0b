import t from 'tap';
import type { Problem } from '../../../src/config/schema.ts';
import { consoleConfigSchema, type ConsoleConfig } from '../../../src/exporter/console/config.ts';
import { ConsoleExporter, type ConsoleOutput } from '../../../src/exporter/console/console-exporter.ts';
import { consoleExporterFactory } from '../../../src/exporter/console/factory.ts';
import { FLAG_SOURCE_IS_CLIENT, FlowBatch, PROTO_TCP } from '../../../src/pdata/flow-batch.ts';
import { appendFlow } from '../../../src/pdata/flow-record.ts';
import { syntheticConfigSchema } from '../../../src/receiver/synthetic/config.ts';
import { generateInterval } from '../../../src/receiver/synthetic/generate.ts';
import { testSettings } from '../../support/test-settings.ts';

function config(value: unknown): ConsoleConfig {
  const problems: Problem[] = [];
  const c = consoleConfigSchema.decodeOrDefault(value, ['exporters', 'console'], problems);
  if (!c) throw new Error(JSON.stringify(problems));
  return c;
}

class Capture implements ConsoleOutput {
  chunks: string[] = [];
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  constructor(tty?: { columns: number; rows: number }) {
    if (tty) Object.assign(this, { isTTY: true, ...tty });
  }
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
}

const synthetic = syntheticConfigSchema.decodeOrDefault({ seed: 7 }, [], [])!;
const HEADER = /^podflow top flows (\d{4}-\d\d-\d\dT[\d:.]+Z) {2}window ([\d.]+)s {2}(\d+) rows {2}(\d+) edges {2}top (\d+) by (\w+)$/;

/** Parses SI strings back ("1.13MB/s", "4.5k", "999") to numbers. */
function unsi(s: string): number {
  const m = /^([\d.]+)([kMGT]?)/.exec(s);
  if (!m) throw new Error(`not a number: ${s}`);
  return Number(m[1]) * 1000 ** ' kMGT'.indexOf(m[2] || ' ');
}

/** What the table should show first: client→server and reply edges by workload pair, computed from the rows independently. */
function heaviestEdge(b: FlowBatch): { source: string; destination: string; port: string; bytes: number } {
  const sums = new Map<string, number>();
  for (let r = 0; r < b.length; r++) {
    const name = (side: string) => `${b.getAttribute(r, `${side}.k8s.namespace.name`)}/${b.getAttribute(r, `${side}.k8s.workload.name`)}`;
    const client = (b.flags[r]! & FLAG_SOURCE_IS_CLIENT) !== 0;
    const port = `${client ? '' : '<'}${client ? b.dstPort[r] : b.srcPort[r]}/${b.protocol[r] === PROTO_TCP ? 'tcp' : 'udp'}`;
    const key = `${name('source')}|${name('destination')}|${port}`;
    sums.set(key, (sums.get(key) ?? 0) + b.counters.bytes[r]!);
  }
  const [key, bytes] = [...sums].sort((a, b) => b[1] - a[1])[0]!;
  const [source, destination, port] = key.split('|') as [string, string, string];
  return { source, destination, port, bytes };
}

t.test('config defaults and errors', async (t) => {
  t.same(config(null), { refresh: 1000, top: 15, sort_by: 'bytes' });
  const problems: Problem[] = [];
  consoleConfigSchema.decodeOrDefault({ sort_by: 'latency', top: 0 }, ['exporters', 'console'], problems);
  t.same(problems.map((p) => p.path.join('::')).sort(), ['exporters::console::sort_by', 'exporters::console::top']);
  t.match(problems.find((p) => p.path.at(-1) === 'sort_by')?.message, /valid values: \[bytes, packets, retransmits, failed, drops\]/);
});

t.test('not a TTY: one plain block per refresh, header with a timestamp, parseable rows', async (t) => {
  const out = new Capture();
  const now = Date.parse('2026-11-26T06:00:00Z');
  const e = new ConsoleExporter(testSettings('console'), config({ top: 5 }), { out, now: () => now });
  const batch = generateInterval(synthetic, 3, 0);
  await e.consume(batch);
  e.refresh();
  t.equal(out.chunks.length, 1);
  t.notMatch(out.chunks[0]!, /\x1b/, 'no escape codes in a log');
  const lines = out.chunks[0]!.trimEnd().split('\n');
  const h = HEADER.exec(lines[0]!);
  t.ok(h, lines[0]);
  t.same(h?.slice(1), ['2026-11-26T06:00:00.000Z', '1.0', String(batch.length), h?.[4], '5', 'bytes']);
  t.same(lines[1]!.split(/\s{2,}/), ['SOURCE', 'DESTINATION', 'PORT', 'BYTES/S', 'PKTS/S', 'RETRANS', 'OPENED', 'FAILED', 'DROPS', 'RTT']);
  const rows = lines.slice(2).map((l) => l.split(/\s{2,}/));
  t.equal(rows.length, 5);
  t.ok(rows.every((r) => r.length === 10), 'ten cells a row');
  const top = heaviestEdge(batch);
  t.same(rows[0]!.slice(0, 3), [top.source, top.destination, top.port], 'the heaviest edge comes first');
  t.ok(Math.abs(unsi(rows[0]![3]!) - top.bytes) / top.bytes < 0.01, `${rows[0]![3]} ≈ ${top.bytes} B over a 1s window`);
  const rates = rows.map((r) => unsi(r[3]!));
  t.same(rates, [...rates].sort((a, b) => b - a), 'sorted by bytes/s');

  e.refresh();
  t.equal(out.chunks.length, 1, 'an idle window prints nothing to a log');
  await e.consume(generateInterval(synthetic, 4, 0));
  await e.consume(generateInterval(synthetic, 5, 0));
  e.refresh();
  t.match(out.chunks[1]!, /window 2\.0s/, 'rates span both batches');
});

t.test('batches without a time window: rates over the wall-clock time since the last view', async (t) => {
  const out = new Capture();
  let now = 10_000;
  const e = new ConsoleExporter(testSettings('console'), config({}), { out, now: () => now });
  const b = new FlowBatch(1);
  appendFlow(b, { transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 40000, destinationAddress: '10.0.0.2',
    destinationPort: 80, sourceIsClient: true, counters: { bytes: 5000, packets: 4 } });
  now += 2000;
  await e.consume(b);
  e.refresh();
  t.match(out.chunks[0], /window 2\.0s/);
  t.match(out.chunks[0], /\n10\.0\.0\.1 +10\.0\.0\.2 +80\/tcp +2\.50kB\/s +2 /, '5000 B and 4 packets over 2 s');
});

t.test('sort_by failed ranks failed connects first', async (t) => {
  const out = new Capture();
  const e = new ConsoleExporter(testSettings('console'), config({ sort_by: 'failed', top: 3 }), { out });
  await e.consume(generateInterval({ ...synthetic, connections_per_second: 2000 }, 0, 0));
  e.refresh();
  const rows = out.chunks[0]!.trimEnd().split('\n').slice(2).map((l) => l.split(/\s{2,}/));
  const failed = rows.map((r) => Number(r[7]));
  t.ok(failed[0]! > 0 && failed.every((f, i) => i === 0 || f <= failed[i - 1]!), `failed column ${failed}`);
});

t.test('TTY: redraws in place with ANSI, fits the terminal', async (t) => {
  const out = new Capture({ columns: 72, rows: 8 });
  const e = new ConsoleExporter(testSettings('console'), config({}), { out });
  await e.consume(generateInterval(synthetic, 0, 0));
  e.refresh();
  e.refresh();
  e.refresh();
  t.equal(out.chunks.length, 1, 'two idle refreshes keep the last view');
  e.refresh();
  t.equal(out.chunks.length, 2, 'the third idle refresh shows the empty view');
  for (const chunk of out.chunks) t.ok(chunk.startsWith('\x1b[2J\x1b[H'), 'clear screen and home');
  const lines = out.chunks[0]!.slice('\x1b[2J\x1b[H'.length).trimEnd().split('\n');
  t.ok(lines.every((l) => l.length <= 72), 'no line wider than the terminal');
  t.equal(lines.length, 7, 'no more lines than the terminal has rows (less one)');
  t.match(lines[1], /^SOURCE +DESTINAT +PORT +BYTES\/S/);
  t.match(out.chunks[1], /\(no flows in this window\)/);
});

t.test('TTY that reports no size (0 columns, 0 rows): the view is drawn 80 columns wide, not cut to nothing', async (t) => {
  const out = new Capture({ columns: 0, rows: 0 });
  const e = new ConsoleExporter(testSettings('console'), config({}), { out });
  await e.consume(generateInterval(synthetic, 0, 0));
  e.refresh();
  const lines = out.chunks[0]!.slice('\x1b[2J\x1b[H'.length).trimEnd().split('\n');
  t.match(lines[0], /^podflow top flows /, 'the header is there');
  t.match(lines[1], /^SOURCE +DESTINAT/, 'and the table');
  t.ok(lines.every((l) => l.length <= 80), 'cut at 80 columns');
  t.ok(lines.length > 7, 'every row, no row limit');
});

t.test('a closed output (EPIPE) stops the view instead of crashing', async (t) => {
  const { EventEmitter } = await import('node:events');
  const warnings: string[] = [];
  const settings = { ...testSettings('console'), logger: { ...testSettings('console').logger, warn: (m: string) => { warnings.push(m); } } };
  const stream = Object.assign(new EventEmitter(), { writes: 0, write(): boolean { this.writes++; return true; } });
  const e = new ConsoleExporter(settings, config({ refresh: '1h' }), { out: stream });
  await e.start();
  t.equal(stream.listenerCount('error'), 1, 'listens for write errors');
  await e.consume(generateInterval(synthetic, 0, 0));
  e.refresh();
  stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
  await e.consume(generateInterval(synthetic, 1, 0));
  e.refresh();
  await e.shutdown();
  t.equal(stream.writes, 1, 'nothing written after the error');
  t.same(warnings, ['console output failed; the view stops']);
  t.equal(stream.listenerCount('error'), 0, 'the listener is removed at shutdown');
});

t.test('lifecycle: the timer draws, shutdown flushes the last window, both idempotent', async (t) => {
  const out = new Capture();
  const e = new ConsoleExporter(testSettings('console'), config({ refresh: '50ms' }), { out });
  await e.start();
  await e.start();
  await e.consume(generateInterval(synthetic, 0, 0));
  const deadline = Date.now() + 5000;
  while (out.chunks.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.equal(out.chunks.length, 1, 'the refresh timer drew the table');
  await e.consume(generateInterval(synthetic, 1, 0));
  await e.shutdown();
  await e.shutdown();
  t.equal(out.chunks.length, 2, 'shutdown drew the pending window once');
  t.equal(consoleExporterFactory.create(testSettings('console'), config({})).mutatesData, false);
});
