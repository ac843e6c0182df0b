// The object form of one FlowBatch row, for slow paths (tests, debug output,
// the console view). Hot paths read the columns directly.

import {
  COUNTER_COLUMNS, FLAG_CONNECTION_ENDED, FLAG_HAS_ORIGINAL_DST, FLAG_HAS_ORIGINAL_SRC,
  FLAG_OBSERVER_DESTINATION, FLAG_SOURCE_IS_CLIENT, NO_STRING,
  type CounterColumn, type FlowBatch,
} from './flow-batch.ts';
import { protocolOf, transportValue } from './flow-attribute-keys.ts';
import { formatAddress, writeAddress } from './ip-address.ts';

export interface FlowRecord {
  transport: 'tcp' | 'udp' | 'icmp';
  sourceAddress: string;
  sourcePort: number;
  destinationAddress: string;
  destinationPort: number;
  /** NAT: where the source really sent it (a Service VIP), when translated. */
  originalDestinationAddress?: string;
  originalDestinationPort?: number;
  originalSourceAddress?: string;
  originalSourcePort?: number;
  sourceIsClient?: boolean;
  observer?: 'source' | 'destination';
  connectionEnded?: boolean;
  counters?: Partial<Record<CounterColumn, number>>;
  attributes?: Record<string, string>;
}

export function transportName(protocol: number): 'tcp' | 'udp' | 'icmp' | 'unknown' {
  const t = transportValue(protocol);
  return t === 'tcp' || t === 'udp' || t === 'icmp' ? t : 'unknown';
}

/** A FlowRecord's transport; protocols it has no name for read as udp, as they always did. */
function readTransport(protocol: number): FlowRecord['transport'] {
  const t = transportName(protocol);
  return t === 'unknown' ? 'udp' : t;
}

/** Appends `r` as a new row and returns its index. */
export function appendFlow(batch: FlowBatch, r: FlowRecord): number {
  const i = batch.addRow();
  const fs = writeAddress(batch.srcAddr, i * 16, r.sourceAddress);
  const fd = writeAddress(batch.dstAddr, i * 16, r.destinationAddress);
  batch.family[i] = fs === 6 || fd === 6 ? 6 : 4;
  batch.protocol[i] = protocolOf(r.transport, batch.family[i] as 4 | 6);
  batch.srcPort[i] = r.sourcePort;
  batch.dstPort[i] = r.destinationPort;
  let flags = 0;
  if (r.sourceIsClient) flags |= FLAG_SOURCE_IS_CLIENT;
  if (r.observer === 'destination') flags |= FLAG_OBSERVER_DESTINATION;
  if (r.connectionEnded) flags |= FLAG_CONNECTION_ENDED;
  if (r.originalDestinationAddress !== undefined) {
    flags |= FLAG_HAS_ORIGINAL_DST;
    writeAddress(batch.origDstAddr, i * 16, r.originalDestinationAddress);
    batch.origDstPort[i] = r.originalDestinationPort ?? r.destinationPort;
  }
  if (r.originalSourceAddress !== undefined) {
    flags |= FLAG_HAS_ORIGINAL_SRC;
    writeAddress(batch.origSrcAddr, i * 16, r.originalSourceAddress);
    batch.origSrcPort[i] = r.originalSourcePort ?? r.sourcePort;
  }
  batch.flags[i] = flags;
  for (const [k, v] of Object.entries(r.counters ?? {})) batch.counters[k as CounterColumn][i] = v;
  for (const [k, v] of Object.entries(r.attributes ?? {})) batch.setAttribute(i, k, v);
  return i;
}

/** Reads row `i` back as a FlowRecord. */
export function readFlow(batch: FlowBatch, i: number): FlowRecord {
  const flags = batch.flags[i]!;
  const counters: Partial<Record<CounterColumn, number>> = {};
  for (const c of COUNTER_COLUMNS) {
    const v = batch.counters[c][i]!;
    if (v !== 0) counters[c] = v;
  }
  const attributes: Record<string, string> = {};
  for (const [k, col] of batch.attributes) {
    if (col[i] !== NO_STRING) attributes[k] = batch.strings.get(col[i]!);
  }
  const r: FlowRecord = {
    transport: readTransport(batch.protocol[i]!),
    sourceAddress: formatAddress(batch.srcAddr, i * 16),
    sourcePort: batch.srcPort[i]!,
    destinationAddress: formatAddress(batch.dstAddr, i * 16),
    destinationPort: batch.dstPort[i]!,
    sourceIsClient: (flags & FLAG_SOURCE_IS_CLIENT) !== 0,
    observer: flags & FLAG_OBSERVER_DESTINATION ? 'destination' : 'source',
    connectionEnded: (flags & FLAG_CONNECTION_ENDED) !== 0,
    counters,
    attributes,
  };
  if (flags & FLAG_HAS_ORIGINAL_DST) {
    r.originalDestinationAddress = formatAddress(batch.origDstAddr, i * 16);
    r.originalDestinationPort = batch.origDstPort[i]!;
  }
  if (flags & FLAG_HAS_ORIGINAL_SRC) {
    r.originalSourceAddress = formatAddress(batch.origSrcAddr, i * 16);
    r.originalSourcePort = batch.origSrcPort[i]!;
  }
  return r;
}
