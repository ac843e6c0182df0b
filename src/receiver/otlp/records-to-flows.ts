// Turns the flow log records and connection spans of podflow agents back into
// FlowBatch rows, so a gateway's logs and traces pipelines (k8s_attributes,
// filter, the exporters) treat them as if its own receiver had seen the
// connections. Both carry the same attributes (flow-log-records.ts): client and
// server ends, the per-direction counters, the end reason, the reporting side
// and the interval; each record becomes the connection's two edges again, in
// one batch per reporting interval (flow.interval.start_ms/end_ms), so the
// gateway's exporters rebuild the same records and, from the same 5-tuple,
// start and duration, spans with the same trace and span IDs.
//
// Lost on the way: the split of retransmits between the directions (all go
// to the client → server edge), the opened counter (not in a record), and
// the agent's Resource. Records and spans that are not podflow's (no
// client.address/server.address/network.transport) are counted as invalid.

import {
  FLAG_CONNECTION_ENDED, FLAG_HAS_ORIGINAL_DST, FLAG_OBSERVER_DESTINATION, FLAG_SOURCE_IS_CLIENT, FlowBatch,
  PROTO_UDP,
} from '../../pdata/flow-batch.ts';
import { protocolOf } from '../../pdata/flow-attribute-keys.ts';
import { writeAddress } from '../../pdata/ip-address.ts';
import { attributeMap, type AttributeValue, type KeyValueObj } from './otlp-schema.ts';

type Attr = AttributeValue;

/** Attributes rebuilt from columns and counters, not copied as string columns. */
const DERIVED = new Set([
  'network.transport', 'network.type', 'client.address', 'client.port', 'server.address', 'server.port',
  'flow.observer', 'flow.state', 'flow.end_reason', 'flow.bytes.client_to_server', 'flow.bytes.server_to_client',
  'flow.packets.client_to_server', 'flow.packets.server_to_client', 'flow.retransmits', 'flow.rtt_us',
  'flow.duration_ms', 'flow.interval.start_ms', 'flow.interval.end_ms', 'destination.original.address',
  'destination.original.port', 'peer.service', 'flow.connect_us', 'flow.dns.requests', 'flow.dns.duration_us',
  'flow.drops.client_to_server', 'flow.drops.server_to_client', 'flow.drop_bytes.client_to_server',
  'flow.drop_bytes.server_to_client',
]);

export interface RecordsResult {
  batches: FlowBatch[];
  invalid: number;
}


const num = (a: Map<string, Attr>, k: string) => {
  const v = Number(a.get(k) ?? 0);
  return Number.isFinite(v) && v > 0 ? v : 0;
};

function swap(name: string): string {
  if (name.startsWith('source.')) return 'destination.' + name.slice(7);
  if (name.startsWith('destination.')) return 'source.' + name.slice(12);
  return name;
}

/** `items` are the attribute lists of log records or spans, with their time as a fallback interval end. */
export function recordsToFlows(items: Array<{ attributes?: KeyValueObj[]; timeMs: number }>): RecordsResult {
  const batches = new Map<string, FlowBatch>();
  let invalid = 0;
  for (const item of items) {
    const a = attributeMap(item.attributes);
    const transport = a.get('network.transport');
    const protocol = protocolOf(transport, a.get('network.type') === 'ipv6' ? 6 : 4);
    const client = a.get('client.address');
    const server = a.get('server.address');
    if (protocol < 0 || typeof client !== 'string' || typeof server !== 'string') { invalid++; continue; }
    const endMs = num(a, 'flow.interval.end_ms') || item.timeMs;
    const startMs = num(a, 'flow.interval.start_ms') || endMs;
    const key = `${startMs}:${endMs}`;
    let b = batches.get(key);
    if (!b) {
      b = new FlowBatch(16);
      b.startTimeMs = startMs;
      b.endTimeMs = endMs;
      batches.set(key, b);
    }
    const before = b.length;
    try {
      const serverSide = a.get('flow.observer') === 'server';
      const ended = a.get('flow.state') === 'ended' ? FLAG_CONNECTION_ENDED : 0;
      const reason = a.get('flow.end_reason');
      const c2s = b.addRow();
      const s2c = b.addRow();
      for (const [row, src, dst, sp, dp] of [
        [c2s, client, server, num(a, 'client.port'), num(a, 'server.port')],
        [s2c, server, client, num(a, 'server.port'), num(a, 'client.port')],
      ] as const) {
        b.protocol[row] = protocol;
        const f1 = writeAddress(b.srcAddr, row * 16, src);
        const f2 = writeAddress(b.dstAddr, row * 16, dst);
        b.family[row] = f1 === 6 || f2 === 6 ? 6 : 4;
        b.srcPort[row] = sp;
        b.dstPort[row] = dp;
      }
      // The reporting socket: on the client → server edge the destination's when it is the server's.
      b.flags[c2s] = FLAG_SOURCE_IS_CLIENT | ended | (serverSide ? FLAG_OBSERVER_DESTINATION : 0);
      b.flags[s2c] = ended | (serverSide ? 0 : FLAG_OBSERVER_DESTINATION);
      const orig = a.get('destination.original.address');
      if (typeof orig === 'string') {
        writeAddress(b.origDstAddr, c2s * 16, orig);
        b.origDstPort[c2s] = num(a, 'destination.original.port');
        b.flags[c2s]! |= FLAG_HAS_ORIGINAL_DST;
      }
      const k = b.counters;
      k.bytes[c2s] = num(a, 'flow.bytes.client_to_server');
      k.bytes[s2c] = num(a, 'flow.bytes.server_to_client');
      k.packets[c2s] = num(a, 'flow.packets.client_to_server');
      k.packets[s2c] = num(a, 'flow.packets.server_to_client');
      k.retransmits[c2s] = num(a, 'flow.retransmits');
      k.rttUs[c2s] = num(a, 'flow.rtt_us');
      k.connectUs[c2s] = num(a, 'flow.connect_us');
      k.dnsRequests[c2s] = num(a, 'flow.dns.requests');
      k.dnsDurationUs[c2s] = num(a, 'flow.dns.duration_us');
      k.drops[c2s] = num(a, 'flow.drops.client_to_server');
      k.drops[s2c] = num(a, 'flow.drops.server_to_client');
      k.dropBytes[c2s] = num(a, 'flow.drop_bytes.client_to_server');
      k.dropBytes[s2c] = num(a, 'flow.drop_bytes.server_to_client');
      if (ended) {
        k.durationMs[c2s] = num(a, 'flow.duration_ms');
        k.failed[c2s] = reason === 'failed_connect' ? 1 : 0;
        k.closed[c2s] = reason === 'failed_connect' ? 0 : 1;
        k.resets[c2s] = reason === 'reset' ? 1 : 0;
      }
      for (const [name, v] of a) {
        if (DERIVED.has(name)) continue;
        b.setAttribute(c2s, name, String(v));
        if (name !== 'destination.k8s.service.name') b.setAttribute(s2c, swap(name), String(v));
      }
      // An event record (DNS lookups, drops) stands for the one row the agent
      // had: a reply row with nothing in it would join the connection's own
      // request and make a second record downstream.
      const event = k.dnsRequests[c2s]! > 0 || k.drops[c2s]! > 0 || k.drops[s2c]! > 0;
      if (event && k.bytes[s2c] === 0 && k.packets[s2c] === 0 && k.drops[s2c] === 0) b.length = s2c;
    } catch {
      // An address that is no IP address: forget the rows.
      b.length = before;
      invalid++;
    }
  }
  return { batches: [...batches.values()].filter((b) => b.length > 0), invalid };
}
