// The facts of one joined connection, read once from its rows, that both the
// flow-log records and the connection spans are built from.
//
// How it ended is derived from the counters of the client → server row, the
// only ones receivers have: failed > 0 → "failed_connect" (no handshake
// completed: refused or timed out SYN), resets > 0 → "reset" (an RST was sent
// or received), else "fin" (an orderly close, or the end of a conntrack entry).
// A connection killed by a retransmission timeout without an RST cannot be told
// apart from an orderly close with these counters, so "timeout" is not
// reported. Still-open connections have no end reason.

import { FLAG_HAS_ORIGINAL_DST, NO_STRING, type FlowBatch } from '../../../pdata/flow-batch.ts';
import { transportValue } from '../../../pdata/flow-attribute-keys.ts';
import { formatAddress } from '../../../pdata/ip-address.ts';
import type { ConnectionView } from './connection-join.ts';

export type EndReason = 'fin' | 'reset' | 'failed_connect';

export interface ConnectionFacts {
  /** network.transport: tcp, udp, icmp (a drop row of an echo or error). */
  transport: string;
  family: 4 | 6;
  clientAddress: string;
  clientPort: number;
  serverAddress: string;
  serverPort: number;
  /** NAT: the address and port the client dialled (a Service VIP), when translated. */
  originalServerAddress?: string;
  originalServerPort?: number;
  serverSide: boolean;
  ended: boolean;
  endReason?: EndReason;
  bytesClientToServer: number;
  bytesServerToClient: number;
  packetsClientToServer: number;
  packetsServerToClient: number;
  retransmits: number;
  resets: number;
  rttUs: number;
  durationMs: number;
  /** TCP handshake time the client saw, µs (0: none in this interval). */
  connectUs: number;
  /** DNS lookups on this client → server pair in the row, and the response time of the one it describes (µs, 0: unanswered). */
  dnsRequests: number;
  dnsDurationUs: number;
  /** Packets and bytes the kernel dropped, per direction (the row's drop.reason says why). */
  dropsClientToServer: number;
  dropsServerToClient: number;
  dropBytesClientToServer: number;
  dropBytesServerToClient: number;
  /** Attribute columns of the client → server row as is (source.* = client, destination.* = server). */
  attributes: Record<string, string>;
}

export function readConnection(b: FlowBatch, v: ConnectionView): ConnectionFacts {
  const c2s = v.c2s;
  const s2c = v.s2c;
  // The row that names the ends: the request when present, else the reply reversed.
  const r = c2s !== -1 ? c2s : s2c;
  const fromC2s = c2s !== -1;
  const k = b.counters;
  const at = (col: Float64Array, row: number) => (row === -1 ? 0 : col[row]!);
  const f: ConnectionFacts = {
    transport: transportValue(b.protocol[r]!),
    family: b.family[r] === 6 ? 6 : 4,
    clientAddress: formatAddress(fromC2s ? b.srcAddr : b.dstAddr, r * 16),
    clientPort: fromC2s ? b.srcPort[r]! : b.dstPort[r]!,
    serverAddress: formatAddress(fromC2s ? b.dstAddr : b.srcAddr, r * 16),
    serverPort: fromC2s ? b.dstPort[r]! : b.srcPort[r]!,
    serverSide: v.serverSide,
    ended: v.ended,
    bytesClientToServer: at(k.bytes, c2s),
    bytesServerToClient: at(k.bytes, s2c),
    packetsClientToServer: at(k.packets, c2s),
    packetsServerToClient: at(k.packets, s2c),
    retransmits: at(k.retransmits, c2s) + at(k.retransmits, s2c),
    resets: at(k.resets, c2s),
    rttUs: at(k.rttUs, c2s),
    durationMs: at(k.durationMs, c2s),
    connectUs: at(k.connectUs, c2s),
    dnsRequests: at(k.dnsRequests, c2s),
    dnsDurationUs: at(k.dnsDurationUs, c2s),
    dropsClientToServer: at(k.drops, c2s),
    dropsServerToClient: at(k.drops, s2c),
    dropBytesClientToServer: at(k.dropBytes, c2s),
    dropBytesServerToClient: at(k.dropBytes, s2c),
    attributes: {},
  };
  if (fromC2s && b.flags[c2s]! & FLAG_HAS_ORIGINAL_DST) {
    f.originalServerAddress = formatAddress(b.origDstAddr, c2s * 16);
    f.originalServerPort = b.origDstPort[c2s]!;
  }
  if (v.ended) f.endReason = at(k.failed, c2s) > 0 ? 'failed_connect' : f.resets > 0 ? 'reset' : 'fin';
  for (const [name, col] of b.attributes) {
    const idx = col[r]!;
    if (idx === NO_STRING) continue;
    // A reply row names the server as source: swap so source.* is always the client.
    f.attributes[fromC2s ? name : swapSide(name)] = b.strings.get(idx);
  }
  return f;
}

/**
 * A record of an event rather than of traffic: a DNS lookup or dropped packets
 * the ebpf receiver reports beside the connection's own rows. Logs keep it
 * whatever include_active and min_bytes say (it moved no bytes, and it is not
 * an open connection); spans and their running totals leave it out.
 */
export function isEvent(f: ConnectionFacts): boolean {
  if (f.bytesClientToServer + f.bytesServerToClient + f.packetsClientToServer + f.packetsServerToClient > 0) return false;
  return f.dnsRequests > 0 || f.dropsClientToServer + f.dropsServerToClient > 0;
}

function swapSide(name: string): string {
  if (name.startsWith('source.')) return 'destination.' + name.slice(7);
  if (name.startsWith('destination.')) return 'source.' + name.slice(12);
  return name;
}

/** The workload name of one end: workload, else deployment, else pod; the server end may fall back to its Service. */
export function workloadName(f: ConnectionFacts, end: 'client' | 'server'): string | undefined {
  const p = end === 'client' ? 'source.k8s.' : 'destination.k8s.';
  const a = f.attributes;
  return a[p + 'workload.name'] ?? a[p + 'deployment.name'] ?? a[p + 'pod.name']
    ?? (end === 'server' ? a['destination.k8s.service.name'] : undefined);
}

export function namespaceOf(f: ConnectionFacts, end: 'client' | 'server'): string | undefined {
  return f.attributes[(end === 'client' ? 'source' : 'destination') + '.k8s.namespace.name'];
}
