import t from 'tap';
import { formatTable } from '../../../src/exporter/console/flow-table.ts';
import { EdgeAggregator, topEdges } from '../../../src/exporter/console/top-flows.ts';
import { bytesRate, rtt, si } from '../../../src/exporter/console/units.ts';
import { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { appendFlow, type FlowRecord } from '../../../src/pdata/flow-record.ts';

const names = (ns: string, wl: string, side: 'source' | 'destination') => ({
  [`${side}.k8s.namespace.name`]: ns, [`${side}.k8s.workload.name`]: wl, [`${side}.k8s.pod.name`]: `${wl}-0`,
});

function batch(records: FlowRecord[], start = 1000, end = 2000): FlowBatch {
  const b = new FlowBatch(2);
  b.startTimeMs = start;
  b.endTimeMs = end;
  for (const r of records) appendFlow(b, r);
  return b;
}

const req = (port: number, bytes: number, rttUs: number, pod: string): FlowRecord => ({
  transport: 'tcp', sourceAddress: '10.244.0.2', sourcePort: 40000 + port, destinationAddress: '10.244.1.3', destinationPort: 6379,
  sourceIsClient: true, counters: { bytes, packets: 2, opened: 1, rttUs, retransmits: 1 },
  attributes: { ...names('shop', 'cart', 'source'), ...names('shop', 'redis', 'destination'), 'source.k8s.pod.name': pod },
});

t.test('rows roll up by workload pair, server port and transport; RTT is averaged over samples', async (t) => {
  const agg = new EdgeAggregator();
  agg.add(batch([req(1, 1000, 100, 'cart-a'), req(2, 3000, 300, 'cart-b'), req(3, 500, 0, 'cart-a')]));
  agg.add(batch([
    { // the reply: server port is the source port
      transport: 'tcp', sourceAddress: '10.244.1.3', sourcePort: 6379, destinationAddress: '10.244.0.2', destinationPort: 40001,
      counters: { bytes: 9000, packets: 7 }, attributes: { ...names('shop', 'redis', 'source'), ...names('shop', 'cart', 'destination') },
    },
    { // no names at all: addresses
      transport: 'udp', sourceAddress: 'fd00::1', sourcePort: 5353, destinationAddress: '10.0.0.53', destinationPort: 53,
      counters: { bytes: 80, packets: 1, failed: 1 },
    },
    { // only a Service on the destination
      transport: 'tcp', sourceAddress: '10.244.0.2', sourcePort: 40100, destinationAddress: '10.244.9.9', destinationPort: 443,
      sourceIsClient: true, counters: { bytes: 10, packets: 1 }, attributes: { 'destination.k8s.service.name': 'api' },
    },
  ], 2000, 3000));
  t.equal(agg.pendingRows, 6);
  const w = agg.drain();
  t.same([w.rows, w.startTimeMs, w.endTimeMs], [6, 1000, 3000], 'the window spans both batches');
  const byKey = Object.fromEntries(w.edges.map((e) => [`${e.source}>${e.destination}:${e.reply ? '<' : ''}${e.port}/${e.transport}`, e]));
  t.match(byKey['shop/cart>shop/redis:6379/tcp'], { bytes: 4500, packets: 6, opened: 3, retransmits: 3, rttSumUs: 400, rttSamples: 2 });
  t.match(byKey['shop/redis>shop/cart:<6379/tcp'], { bytes: 9000, packets: 7, reply: true });
  t.match(byKey['fd00::1>10.0.0.53:53/udp'], { bytes: 80, failed: 1 });
  t.match(byKey['10.244.0.2>api:443/tcp'], { bytes: 10 });
  t.equal(w.edges.length, 4);
  t.same(agg.drain(), { edges: [], rows: 0, startTimeMs: 0, endTimeMs: 0 }, 'drain starts a new window');
});

t.test('ranking by each sort key, stable on ties', async (t) => {
  const e = (source: string, bytes: number, packets: number, retransmits: number, failed: number, drops = 0) => ({
    source, destination: 'd', port: 80, transport: 'tcp' as const, reply: false, bytes, packets, retransmits, opened: 0, failed,
    drops, rttSumUs: 0, rttSamples: 0,
  });
  const edges = [e('a', 10, 5, 0, 2), e('b', 30, 1, 1, 0, 7), e('c', 20, 9, 5, 0), e('d', 20, 9, 5, 0)];
  t.same(topEdges(edges, 'bytes', 2).map((x) => x.source), ['b', 'c']);
  t.same(topEdges(edges, 'packets', 4).map((x) => x.source), ['c', 'd', 'a', 'b']);
  t.same(topEdges(edges, 'retransmits', 1).map((x) => x.source), ['c']);
  t.same(topEdges(edges, 'failed', 1).map((x) => x.source), ['a']);
  t.same(topEdges(edges, 'drops', 1).map((x) => x.source), ['b']);
});

t.test('units', async (t) => {
  t.same([si(0), si(7), si(999), si(1000), si(1234), si(45_600_000), si(0.5)], ['0', '7', '999', '1.00k', '1.23k', '45.6M', '0.50']);
  t.same([bytesRate(1_130_000), bytesRate(60)], ['1.13MB/s', '60B/s']);
  t.same([rtt(0), rtt(283.4), rtt(1500), rtt(25_000), rtt(2_000_000)], ['-', '283us', '1.50ms', '25.0ms', '2.00s']);
});

t.test('the table fits a width by shrinking the name columns', async (t) => {
  const agg = new EdgeAggregator();
  agg.add(batch([{ ...req(1, 1000, 100, 'x'), attributes: { ...names('a-very-long-namespace', 'a-very-long-workload-name', 'source') } }]));
  const edges = agg.drain().edges;
  const wide = formatTable(edges, 1);
  t.equal(wide.length, 2);
  t.match(wide[1], /^a-very-long-namespace\/a-very-long-workload-name {2}10\.244\.1\.3 +6379\/tcp {2}/);
  const narrow = formatTable(edges, 1, 100);
  t.ok(narrow.every((l) => l.length <= 100), narrow.join('\n'));
  t.match(narrow[1], /^a-very-long-namespa~ {2}10\.244\.1\.3 /, 'the long name is cut with ~, the short one kept');
  t.ok(formatTable(edges, 1, 40).every((l) => l.length <= 40), 'lines are cut when even short names do not fit');
  t.match(narrow[1], /1\.00kB\/s {2}\s*2 {2}\s*1 {2}\s*1 {2}\s*0 {2}\s*0 {2}\s*100us$/, 'numbers are intact');
});
