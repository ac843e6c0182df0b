import t from 'tap';
import { FLAG_OBSERVER_DESTINATION, FLAG_SOURCE_IS_CLIENT } from '../../../src/pdata/flow-batch.ts';
import { readFlow } from '../../../src/pdata/flow-record.ts';
import { MetricsToFlows } from '../../../src/receiver/otlp/metrics-to-flows.ts';
import type { MetricsRequestObj } from '../../../src/receiver/otlp/otlp-schema.ts';

const S = (v: string) => ({ stringValue: v });
const I = (v: number) => ({ intValue: v });
const ATTRS = [
  { key: 'network.transport', value: S('tcp') }, { key: 'network.type', value: S('ipv4') },
  { key: 'source.address', value: S('10.0.0.1') }, { key: 'destination.address', value: S('10.0.0.2') },
  { key: 'destination.port', value: I(8080) }, { key: 'flow.observer', value: S('destination') },
  { key: 'source.k8s.namespace.name', value: S('shop') },
];
const MS = 1e6;

function req(bytes: number, startMs: number, timeMs: number, temporality = 2, attrs = ATTRS): MetricsRequestObj {
  return { resourceMetrics: [{ resource: { attributes: [{ key: 'host.name', value: S('agent-1') }] }, scopeMetrics: [{ metrics: [
    { name: 'network.flow.bytes', sum: { aggregationTemporality: temporality, isMonotonic: true, dataPoints: [{ attributes: attrs, startTimeUnixNano: startMs * MS, timeUnixNano: timeMs * MS, asInt: bytes }] } },
    { name: 'network.flow.packets', sum: { aggregationTemporality: temporality, isMonotonic: true, dataPoints: [{ attributes: attrs, startTimeUnixNano: startMs * MS, timeUnixNano: timeMs * MS, asInt: bytes / 100 }] } },
    { name: 'network.flow.tcp.rtt', unit: 's' },
  ] }] }] };
}

t.test('a row per attribute set with the built-ins back in their columns', async (t) => {
  const c = new MetricsToFlows(1_000);
  const { batch, notConvertible } = c.convert(req(500, 2_000, 3_000), 3_000);
  t.equal(batch.length, 1);
  t.equal(notConvertible, 1, 'the histogram has no column');
  t.equal(batch.flags[0]! & (FLAG_SOURCE_IS_CLIENT | FLAG_OBSERVER_DESTINATION), FLAG_SOURCE_IS_CLIENT | FLAG_OBSERVER_DESTINATION);
  t.match(readFlow(batch, 0), {
    transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 0, destinationAddress: '10.0.0.2', destinationPort: 8080,
    counters: { bytes: 500, packets: 5 }, attributes: { 'source.k8s.namespace.name': 'shop' },
  });
  t.same([batch.startTimeMs, batch.endTimeMs], [2_000, 3_000]);
});

t.test('cumulative to delta: baseline, increase, reset', async (t) => {
  const c = new MetricsToFlows(10_000);
  const bytes = (r: MetricsRequestObj) => c.convert(r, 20_000).batch.counters.bytes[0];
  t.equal(bytes(req(900, 5_000, 11_000)), 0, 'a series older than the receiver is only a baseline');
  t.equal(bytes(req(1_000, 5_000, 12_000)), 100);
  t.equal(bytes(req(300, 13_000, 14_000)), 300, 'a new start time is a reset: counts in full');
  t.equal(bytes(req(200, 13_000, 15_000)), 200, 'a smaller value is a reset too');
  const fresh = new MetricsToFlows(10_000);
  t.equal(fresh.convert(req(700, 10_500, 11_000), 11_000).batch.counters.bytes[0], 700, 'a series started after the receiver counts in full');
  t.equal(new MetricsToFlows(0).convert(req(50, 0, 1_000, 1), 1_000).batch.counters.bytes[0], 50, 'delta points are taken as they are');
});

t.test('reply rows, UDP and attribute sets that are no flow', async (t) => {
  const c = new MetricsToFlows(0);
  const reply = [{ key: 'network.transport', value: S('udp') }, { key: 'source.address', value: S('10.0.0.53') },
    { key: 'destination.address', value: S('10.0.0.3') }, { key: 'source.port', value: I(53) }];
  const r = c.convert(req(10, 0, 1, 1, reply), 1).batch;
  t.match(readFlow(r, 0), { transport: 'udp', sourcePort: 53, destinationPort: 65535, sourceIsClient: false });
  const bad = c.convert(req(10, 0, 1, 1, [{ key: 'network.transport', value: S('tcp') }, { key: 'source.address', value: S('nope') }]), 1);
  t.equal(bad.batch.length, 0);
  t.equal(bad.invalid, 2);
  t.equal(c.convert(req(10, 0, 1, 1, []), 1).invalid, 2, 'no transport: not a flow');
});
