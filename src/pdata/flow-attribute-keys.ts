// Attribute names a FlowBatch row answers from its fixed columns rather than
// from a string attribute column. Processors that select or group by attribute
// name (filter, flow_aggregate) resolve a name once, at config time, to one of
// these kinds, and then read the column directly for every row.

import { FLAG_OBSERVER_DESTINATION, PROTO_TCP, PROTO_UDP, type FlowBatch } from './flow-batch.ts';
import { formatAddress } from './ip-address.ts';

export type BuiltinKey =
  | 'source.address'
  | 'destination.address'
  | 'source.port'
  | 'destination.port'
  | 'network.transport'
  | 'network.type'
  | 'flow.observer';

export const BUILTIN_KEYS: readonly BuiltinKey[] = [
  'source.address', 'destination.address', 'source.port', 'destination.port',
  'network.transport', 'network.type', 'flow.observer',
];

export function isBuiltinKey(name: string): name is BuiltinKey {
  return (BUILTIN_KEYS as readonly string[]).includes(name);
}

/** The textual value of a built-in for row `i`, as exporters write it (slow path). */
export function builtinValue(batch: FlowBatch, i: number, key: BuiltinKey): string {
  switch (key) {
    case 'source.address': return formatAddress(batch.srcAddr, i * 16);
    case 'destination.address': return formatAddress(batch.dstAddr, i * 16);
    case 'source.port': return String(batch.srcPort[i]);
    case 'destination.port': return String(batch.dstPort[i]);
    case 'network.transport': return transportValue(batch.protocol[i]!);
    case 'network.type': return batch.family[i] === 6 ? 'ipv6' : 'ipv4';
    case 'flow.observer': return batch.flags[i]! & FLAG_OBSERVER_DESTINATION ? 'destination' : 'source';
  }
}

/** ICMP (1) and ICMPv6 (58): drop rows of echo requests and errors; network.type tells them apart. */
export const PROTO_ICMP = 1;
export const PROTO_ICMPV6 = 58;

/** The network.transport value of an IP protocol number; other protocols as their number. */
export function transportValue(protocol: number): string {
  switch (protocol) {
    case PROTO_TCP: return 'tcp';
    case PROTO_UDP: return 'udp';
    case PROTO_ICMP:
    case PROTO_ICMPV6: return 'icmp';
    default: return String(protocol);
  }
}

/** The IP protocol number of a network.transport value (the inverse of transportValue); -1 if unknown. */
export function protocolOf(transport: unknown, family: 4 | 6): number {
  switch (transport) {
    case 'tcp': return PROTO_TCP;
    case 'udp': return PROTO_UDP;
    case 'icmp': return family === 6 ? PROTO_ICMPV6 : PROTO_ICMP;
    default: return -1;
  }
}
