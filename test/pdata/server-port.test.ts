import t from 'tap';
import { FLAG_SOURCE_IS_CLIENT, PROTO_TCP, PROTO_UDP } from '../../src/pdata/flow-batch.ts';
import { serverPortIsDestination } from '../../src/pdata/server-port.ts';
import { FlowAttributeReader } from '../../src/exporter/internal/flow-metrics/flow-attributes.ts';
import { FlowBatch } from '../../src/pdata/flow-batch.ts';
import { appendFlow } from '../../src/pdata/flow-record.ts';

t.test('which end holds the server port', async (t) => {
  t.equal(serverPortIsDestination(PROTO_TCP, FLAG_SOURCE_IS_CLIENT, 41822, 443), true, 'TCP client → server');
  t.equal(serverPortIsDestination(PROTO_TCP, 0, 443, 41822), false, 'TCP reply edge');
  t.equal(serverPortIsDestination(PROTO_UDP, 0, 53, 40000), false, 'UDP reply, no flag: lower port');
  t.equal(serverPortIsDestination(PROTO_UDP, 0, 40000, 53), true, 'UDP query, no flag: lower port');
  t.equal(serverPortIsDestination(PROTO_UDP, FLAG_SOURCE_IS_CLIENT, 40000, 60000), true, 'the flag wins');
});

t.test('the exported attributes carry the server port on both edges, never the client port', async (t) => {
  const b = new FlowBatch(8);
  for (const clientPort of [41000, 41001]) {
    appendFlow(b, { transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: clientPort, destinationAddress: '10.0.0.2', destinationPort: 443, sourceIsClient: true, counters: { bytes: 1 } });
    appendFlow(b, { transport: 'tcp', sourceAddress: '10.0.0.2', sourcePort: 443, destinationAddress: '10.0.0.1', destinationPort: clientPort, counters: { bytes: 1 } });
  }
  const r = new FlowAttributeReader();
  r.bind(b);
  t.equal(r.attributes(0)['destination.port'], 443);
  t.equal(r.attributes(1)['source.port'], 443);
  t.notOk('destination.port' in r.attributes(1), 'no ephemeral destination port on the reply edge');
  t.equal(r.key(0), r.key(2), 'two connections of one pair share the request series');
  t.equal(r.key(1), r.key(3), 'and the reply series');
  t.not(r.key(0), r.key(1));
});
