// The rows two node agents report for one TCP connection, as the ebpf receiver
// writes them (src/receiver/ebpf/connection-table.ts) after k8s_attributes has
// named both ends: the client's node reports client → server (observer source)
// and server → client (observer destination); the server's node reports
// client → server with FLAG_OBSERVER_DESTINATION and server → client as source.

import { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { appendFlow, type FlowRecord } from '../../../src/pdata/flow-record.ts';

export const CLIENT = { address: '10.1.0.5', port: 41000, workload: 'frontend', namespace: 'shop' };
export const SERVER = { address: '10.2.0.7', port: 8080, workload: 'cart', namespace: 'shop', service: 'cart-svc', vip: '10.96.0.20', vipPort: 80 };

export interface ConnectionOptions {
  clientPort?: number;
  bytesUp?: number;
  bytesDown?: number;
  ended?: boolean;
  failed?: boolean;
  resets?: number;
  durationMs?: number;
  endTimeMs?: number;
}

function names(): Record<string, string> {
  return {
    'source.k8s.namespace.name': CLIENT.namespace, 'source.k8s.workload.name': CLIENT.workload, 'source.k8s.pod.name': `${CLIENT.workload}-abc`,
    'destination.k8s.namespace.name': SERVER.namespace, 'destination.k8s.workload.name': SERVER.workload, 'destination.k8s.pod.name': `${SERVER.workload}-xyz`,
    'destination.k8s.service.name': SERVER.service,
  };
}

function reversed(a: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(a)) {
    if (k === 'destination.k8s.service.name') continue;
    out[k.startsWith('source.') ? 'destination.' + k.slice(7) : 'source.' + k.slice(12)] = v;
  }
  return out;
}

/** Appends the two rows one node reports for the connection. */
export function addConnection(batch: FlowBatch, node: 'client' | 'server', o: ConnectionOptions = {}): void {
  const ended = o.ended ?? true;
  const cport = o.clientPort ?? CLIENT.port;
  const counters: FlowRecord['counters'] = {
    bytes: o.bytesUp ?? 1200, packets: 10, opened: 1, rttUs: 250, retransmits: 1,
    ...(ended ? { closed: o.failed ? 0 : 1, failed: o.failed ? 1 : 0, durationMs: o.durationMs ?? 1500 } : {}),
    ...(o.resets ? { resets: o.resets } : {}),
  };
  appendFlow(batch, {
    transport: 'tcp', sourceAddress: CLIENT.address, sourcePort: cport, destinationAddress: SERVER.address, destinationPort: SERVER.port,
    // Only the client's node saw the Service VIP it dialled (NAT join).
    ...(node === 'client' ? { originalDestinationAddress: SERVER.vip, originalDestinationPort: SERVER.vipPort } : {}),
    sourceIsClient: true, observer: node === 'client' ? 'source' : 'destination', connectionEnded: ended,
    counters, attributes: names(),
  });
  appendFlow(batch, {
    transport: 'tcp', sourceAddress: SERVER.address, sourcePort: SERVER.port, destinationAddress: CLIENT.address, destinationPort: cport,
    observer: node === 'client' ? 'destination' : 'source', connectionEnded: ended,
    counters: { bytes: o.bytesDown ?? 48_000, packets: 40 }, attributes: reversed(names()),
  });
}

/** One node's batch for an interval ending at endTimeMs. */
export function nodeBatch(node: 'client' | 'server', endTimeMs: number, conns: ConnectionOptions[] = [{}]): FlowBatch {
  const b = new FlowBatch();
  b.startTimeMs = endTimeMs - 1000;
  b.endTimeMs = endTimeMs;
  for (const c of conns) addConnection(b, node, c);
  return b;
}
