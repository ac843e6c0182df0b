// What the aggregator records for flows_ui and `podflow top` beyond the console's
// columns (namespaces of both ends, resets), and merging consecutive windows.

import t from 'tap';
import { EdgeAggregator, mergeWindows } from '../../../src/exporter/console/top-flows.ts';
import { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { appendFlow, type FlowRecord } from '../../../src/pdata/flow-record.ts';

function batch(records: FlowRecord[], start: number, end: number): FlowBatch {
  const b = new FlowBatch(2);
  b.startTimeMs = start;
  b.endTimeMs = end;
  for (const r of records) appendFlow(b, r);
  return b;
}

const call = (bytes: number, resets: number, rttUs: number): FlowRecord => ({
  transport: 'tcp', sourceAddress: '10.244.0.2', sourcePort: 40000, destinationAddress: '10.244.1.3', destinationPort: 6379,
  sourceIsClient: true, counters: { bytes, packets: 2, opened: 1, resets, rttUs, retransmits: 1, failed: resets },
  attributes: {
    'source.k8s.namespace.name': 'shop', 'source.k8s.workload.name': 'cart',
    'destination.k8s.namespace.name': 'data', 'destination.k8s.workload.name': 'redis',
  },
});
const anonymous: FlowRecord = {
  transport: 'udp', sourceAddress: '10.0.0.9', sourcePort: 5353, destinationAddress: '10.0.0.53', destinationPort: 53,
  counters: { bytes: 80, packets: 1 }, attributes: { 'source.k8s.namespace.name': 'lost' }, // a namespace but no name: the address, no namespace
};

t.test('edges carry both namespaces and resets', async (t) => {
  const agg = new EdgeAggregator();
  agg.add(batch([call(100, 1, 200), call(50, 0, 0), anonymous], 0, 1000));
  const w = agg.drain();
  const redis = w.edges.find((e) => e.destination === 'data/redis')!;
  t.match(redis, { source: 'shop/cart', sourceNamespace: 'shop', destinationNamespace: 'data', bytes: 150, resets: 1, failed: 1, rttSamples: 1 });
  t.match(w.edges.find((e) => e.port === 53), { source: '10.0.0.9', sourceNamespace: '', destination: '10.0.0.53', destinationNamespace: '' });
});

t.test('mergeWindows sums matching edges and spans all windows', async (t) => {
  const agg = new EdgeAggregator();
  agg.add(batch([call(100, 1, 200)], 0, 1000));
  const a = agg.drain();
  agg.add(batch([call(300, 0, 400), anonymous], 1000, 2000));
  const b = agg.drain();
  const m = mergeWindows([a, b, { edges: [], rows: 0, startTimeMs: 0, endTimeMs: 0 }]);
  t.same([m.rows, m.startTimeMs, m.endTimeMs, m.edges.length], [3, 0, 2000, 2]);
  t.match(m.edges.find((e) => e.destination === 'data/redis'), { bytes: 400, packets: 4, opened: 2, resets: 1, retransmits: 2, rttSumUs: 600, rttSamples: 2 });
  t.equal(a.edges[0]!.bytes, 100, 'the windows merged are not modified');
  t.same(mergeWindows([]), { edges: [], rows: 0, startTimeMs: 0, endTimeMs: 0 });
});
