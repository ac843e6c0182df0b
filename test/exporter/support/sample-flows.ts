// Known FlowBatches for the exporter tests, with the totals they must produce.

import { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { appendFlow } from '../../../src/pdata/flow-record.ts';

export const SHOP = { 'source.k8s.namespace.name': 'shop', 'destination.k8s.service.name': 'cart' };

/** Two TCP connections of one series (source ports differ), one UDP flow, one NATed flow. */
export function sampleBatch(): FlowBatch {
  const b = new FlowBatch(8);
  appendFlow(b, {
    transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 40001, destinationAddress: '10.0.0.2', destinationPort: 8080,
    sourceIsClient: true, attributes: SHOP, counters: { bytes: 1000, packets: 10, retransmits: 2, opened: 1, rttUs: 1500 },
  });
  appendFlow(b, {
    transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 40002, destinationAddress: '10.0.0.2', destinationPort: 8080,
    sourceIsClient: true, attributes: SHOP, counters: { bytes: 500, packets: 5, opened: 1, closed: 1, rttUs: 2500, durationMs: 2000 },
  });
  appendFlow(b, {
    transport: 'udp', sourceAddress: '10.0.0.3', sourcePort: 5353, destinationAddress: '10.0.0.53', destinationPort: 53,
    observer: 'destination', counters: { bytes: 100, packets: 1 },
  });
  appendFlow(b, {
    transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 40003, destinationAddress: '10.0.0.9', destinationPort: 8443,
    originalDestinationAddress: '10.96.0.10', originalDestinationPort: 443, sourceIsClient: true, counters: { bytes: 42, packets: 1 },
  });
  b.startTimeMs = 1_700_000_000_000;
  b.endTimeMs = 1_700_000_010_000;
  return b;
}

/** The attributes each series of sampleBatch() must carry. */
export const SERIES = {
  shop: {
    'network.transport': 'tcp', 'network.type': 'ipv4', 'source.address': '10.0.0.1', 'destination.address': '10.0.0.2',
    'destination.port': 8080, 'flow.observer': 'source', ...SHOP,
  },
  dns: {
    'network.transport': 'udp', 'network.type': 'ipv4', 'source.address': '10.0.0.3', 'destination.address': '10.0.0.53',
    'destination.port': 53, 'flow.observer': 'destination',
  },
  nat: {
    'network.transport': 'tcp', 'network.type': 'ipv4', 'source.address': '10.0.0.1', 'destination.address': '10.0.0.9',
    'destination.port': 8443, 'flow.observer': 'source', 'destination.original.address': '10.96.0.10', 'destination.original.port': 443,
  },
} as const;

/** Bytes over all rows of one sampleBatch(). */
export const SAMPLE_BYTES = 1642;
