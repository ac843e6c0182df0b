// Flow-log attributes of the event rows the ebpf receiver writes beside a
// connection's edges (a DNS lookup, dropped packets): each is a record of its
// own with the lookup's or the drop's facts, and a gateway that rebuilds rows
// from those records (the otlp receiver) gets the same records back.

import t from 'tap';
import { readConnection } from '../../../../src/exporter/internal/flow-connections/connection-facts.ts';
import { joinConnections } from '../../../../src/exporter/internal/flow-connections/connection-join.ts';
import { flowLogAttributes } from '../../../../src/exporter/internal/flow-logs/flow-log-records.ts';
import { FlowBatch } from '../../../../src/pdata/flow-batch.ts';
import { appendFlow } from '../../../../src/pdata/flow-record.ts';
import type { KeyValueObj } from '../../../../src/receiver/otlp/otlp-schema.ts';
import { recordsToFlows } from '../../../../src/receiver/otlp/records-to-flows.ts';

type Attrs = Record<string, string | number>;

function logsOf(b: FlowBatch): Attrs[] {
  return joinConnections(b).map((v) => flowLogAttributes(readConnection(b, v), b) as Attrs);
}

function toKeyValues(a: Attrs): KeyValueObj[] {
  return Object.entries(a).map(([key, v]) => ({ key, value: typeof v === 'number' ? { intValue: v } : { stringValue: v } }));
}

const ends = { sourceAddress: '10.0.0.1', sourcePort: 40000, destinationAddress: '10.0.0.2', destinationPort: 53 };
const back = { sourceAddress: '10.0.0.2', sourcePort: 53, destinationAddress: '10.0.0.1', destinationPort: 40000 };

t.test('a lookup and a drop beside the traffic of the same pair', async (t) => {
  const b = new FlowBatch();
  b.startTimeMs = 1000;
  b.endTimeMs = 2000;
  appendFlow(b, { transport: 'udp', ...ends, sourceIsClient: true, counters: { bytes: 80, packets: 2 } });
  appendFlow(b, { transport: 'udp', ...back, counters: { bytes: 300, packets: 2 } });
  appendFlow(b, { transport: 'udp', ...ends, sourceIsClient: true, counters: { dnsRequests: 1, dnsDurationUs: 830 },
    attributes: { 'dns.question.name': 'cart.shop.svc.cluster.local', 'dns.question.type': 'A', 'dns.response_code': 'NXDOMAIN' } });
  appendFlow(b, { transport: 'udp', ...ends, sourceIsClient: true, counters: { drops: 3, dropBytes: 240 }, attributes: { 'drop.reason': 'netfilter_drop' } });
  const logs = logsOf(b);
  t.equal(logs.length, 3, 'the traffic, the lookup and the drop');
  t.match(logs[0], { 'flow.bytes.client_to_server': 80, 'flow.bytes.server_to_client': 300 });
  t.notOk('flow.dns.requests' in logs[0]! || 'flow.drops.client_to_server' in logs[0]!, 'plain traffic has no event attributes');
  t.match(logs[1], {
    'flow.dns.requests': 1, 'flow.dns.duration_us': 830, 'dns.question.name': 'cart.shop.svc.cluster.local',
    'dns.question.type': 'A', 'dns.response_code': 'NXDOMAIN', 'flow.bytes.client_to_server': 0,
  });
  t.match(logs[2], { 'flow.drops.client_to_server': 3, 'flow.drop_bytes.client_to_server': 240, 'drop.reason': 'netfilter_drop' });

  const rebuilt = recordsToFlows(logs.map((a) => ({ attributes: toKeyValues(a), timeMs: 2000 })));
  t.equal(rebuilt.invalid, 0);
  t.equal(rebuilt.batches.length, 1);
  const again = logsOf(rebuilt.batches[0]!);
  const sorted = (x: Attrs[]) => x.map((a) => JSON.stringify(Object.entries(a).sort())).sort();
  t.same(sorted(again), sorted(logs), 'a gateway rebuilds exactly the same records');
});

t.test('a handshake time goes on the connection\'s own record', async (t) => {
  const b = new FlowBatch();
  appendFlow(b, { transport: 'tcp', ...ends, destinationPort: 443, sourceIsClient: true, counters: { bytes: 500, packets: 4, opened: 1, rttUs: 90, connectUs: 120 } });
  const [log] = logsOf(b);
  t.match(log, { 'flow.connect_us': 120, 'flow.rtt_us': 90 });
});

t.test('an ICMP drop row is icmp, not udp, on both IP versions and through a gateway', async (t) => {
  const b = new FlowBatch();
  appendFlow(b, { transport: 'icmp', sourceAddress: '10.0.0.1', sourcePort: 0, destinationAddress: '10.0.0.2', destinationPort: 0,
    counters: { drops: 2, dropBytes: 168 }, attributes: { 'drop.reason': 'netfilter_drop' } });
  appendFlow(b, { transport: 'icmp', sourceAddress: 'fd00::1', sourcePort: 0, destinationAddress: 'fd00::2', destinationPort: 0,
    counters: { drops: 1, dropBytes: 104 }, attributes: { 'drop.reason': 'netfilter_drop' } });
  t.same([b.protocol[0], b.protocol[1]], [1, 58], 'ICMP and ICMPv6');
  const logs = logsOf(b);
  t.same(logs.map((l) => [l['network.transport'], l['network.type']]), [['icmp', 'ipv4'], ['icmp', 'ipv6']]);
  const rebuilt = recordsToFlows(logs.map((a) => ({ attributes: toKeyValues(a), timeMs: 1 })));
  t.equal(rebuilt.invalid, 0, 'a gateway takes them');
  t.same([...rebuilt.batches[0]!.protocol.subarray(0, 2)], [1, 58]);
});

t.test('lookups and drops are logged whatever include_active and min_bytes say, as warnings when they went wrong', async (t) => {
  const { FlowLogBuilder } = await import('../../../../src/exporter/internal/flow-logs/flow-log-records.ts');
  const { logsSchema } = await import('../../../../src/exporter/internal/flow-connections/signal-config.ts');
  const { defaultsOf } = await import('../../../../src/config/schema.ts');
  const b = new FlowBatch();
  b.endTimeMs = 5000;
  appendFlow(b, { transport: 'udp', ...ends, sourceIsClient: true, counters: { bytes: 80, packets: 2 } });
  appendFlow(b, { transport: 'udp', ...ends, sourceIsClient: true, counters: { dnsRequests: 1, dnsDurationUs: 830 },
    attributes: { 'dns.question.name': 'cart.shop.svc.cluster.local', 'dns.question.type': 'A', 'dns.response_code': 'NXDOMAIN' } });
  appendFlow(b, { transport: 'udp', ...ends, sourceIsClient: true, counters: { dnsRequests: 1, dnsDurationUs: 400 },
    attributes: { 'dns.question.type': 'AAAA', 'dns.response_code': 'NOERROR' } });
  appendFlow(b, { transport: 'udp', ...ends, sourceIsClient: true, counters: { drops: 3, dropBytes: 240 }, attributes: { 'drop.reason': 'netfilter_drop' } });
  const config = { ...defaultsOf(logsSchema), include_active: false, min_bytes: 1000 };
  const skipped: string[] = [];
  const builder = new FlowLogBuilder(config, { serviceVersion: 't', hostName: 'h' } as never);
  const records = builder.build(b, (r) => skipped.push(r));
  t.same(skipped, ['active'], 'the open traffic record is left out, as configured');
  t.same(records.map((r) => [r.body, r.severityText]), [
    ['udp 10.0.0.1:40000 -> 10.0.0.2:53 dns A cart.shop.svc.cluster.local NXDOMAIN in 0.83 ms', 'WARN'],
    ['udp 10.0.0.1:40000 -> 10.0.0.2:53 dns AAAA NOERROR in 0.40 ms', 'INFO'],
    ['udp 10.0.0.1:40000 -> 10.0.0.2:53 3/0 packets dropped (client\'s/server\'s), netfilter_drop', 'WARN'],
  ]);
});
