// Turns the network.flow.* sums a podflow agent exports back into FlowBatch
// rows, so a gateway podflow can name (k8s_attributes) and aggregate
// (flow_aggregate) centrally and export as if it had seen the flows itself.
//
// One row per (resource, attribute set) of a request; each sum
// metrics fills its counter column (network.flow.bytes → bytes, ...). The
// built-in attributes go back to the fixed columns (network.transport →
// protocol, network.type → family, source/destination.address,
// flow.observer → FLAG_OBSERVER_DESTINATION, destination.original.* → NAT
// columns); destination.port marks a client → server row (FLAG_SOURCE_IS_CLIENT,
// source port 0), source.port a server → client row (destination port 0; a
// UDP reply row gets destination port 65535 so server-port.ts still finds the
// server on the source side). Every other attribute becomes a string column.
//
// Temporality: delta points are taken as they are. Cumulative points are
// turned into deltas per series (metric, resource, attributes): the first
// point of a series counts in full when the series started (start_time) after
// this receiver did, else it is only the baseline (the gateway counts from its
// own start); a point with a new start time or a smaller value is a reset and
// counts in full. Series unseen for SERIES_EXPIRY_MS are forgotten.
//
// What does not round-trip: histograms (network.flow.tcp.rtt,
// network.flow.connection.duration) carry no per-flow values to rebuild the
// rttUs/durationMs columns, and gauges or foreign metrics have no column: their
// points are counted as dropped (reason "not_convertible"). The source port
// of client → server rows and the agent's resource (host.name, k8s.node.name)
// are not in the rows either: the exporters never send the former, and a
// FlowBatch has no resource.

import {
  COUNTER_COLUMNS, FLAG_HAS_ORIGINAL_DST, FLAG_OBSERVER_DESTINATION, FLAG_SOURCE_IS_CLIENT, FlowBatch,
  PROTO_UDP, type CounterColumn,
} from '../../pdata/flow-batch.ts';
import { protocolOf } from '../../pdata/flow-attribute-keys.ts';
import { writeAddress } from '../../pdata/ip-address.ts';
import { attributeMap, type AttributeValue, type KeyValueObj, type MetricsRequestObj, type NumberPointObj } from './otlp-schema.ts';

const COLUMN_OF: Record<string, CounterColumn> = {
  'network.flow.bytes': 'bytes',
  'network.flow.packets': 'packets',
  'network.flow.tcp.retransmits': 'retransmits',
  'network.flow.tcp.resets': 'resets',
  'network.flow.connections.opened': 'opened',
  'network.flow.connections.failed': 'failed',
  'network.flow.connections.closed': 'closed',
  'network.flow.drops': 'drops',
  'network.flow.drop.bytes': 'dropBytes',
  'network.flow.dns.requests': 'dnsRequests',
};
const CUMULATIVE = 2;
export const SERIES_EXPIRY_MS = 15 * 60_000;

type Attr = AttributeValue;

interface SeriesState { startNs: number; last: number; seenMs: number }

export interface ConvertResult {
  batch: FlowBatch;
  /** Points with no FlowBatch column (histograms, gauges, other metrics). */
  notConvertible: number;
  /** Points whose attributes could not be a flow (bad address, transport). */
  invalid: number;
}

export class MetricsToFlows {
  readonly #series = new Map<string, SeriesState>();
  readonly #startNs: number;
  #lastSweepMs = Date.now();

  constructor(startMs = Date.now()) {
    this.#startNs = startMs * 1e6;
  }

  get trackedSeries(): number {
    return this.#series.size;
  }

  convert(req: MetricsRequestObj, nowMs = Date.now()): ConvertResult {
    const batch = new FlowBatch(64);
    const rows = new Map<string, number>();
    let notConvertible = 0;
    let invalid = 0;
    let minNs = Infinity;
    let maxNs = 0;
    for (const rm of req.resourceMetrics ?? []) {
      const resourceKey = attrKey(rm.resource?.attributes);
      for (const sm of rm.scopeMetrics ?? []) {
        for (const m of sm.metrics ?? []) {
          const column = m.name !== undefined ? COLUMN_OF[m.name] : undefined;
          if (!column || !m.sum) {
            notConvertible += m.sum?.dataPoints?.length ?? m.gauge?.dataPoints?.length ?? 1;
            continue;
          }
          const cumulative = m.sum.aggregationTemporality === CUMULATIVE;
          for (const p of m.sum.dataPoints ?? []) {
            const attrs = attributeMap(p.attributes);
            const key = resourceKey + '\u0001' + attrKey(p.attributes);
            const value = pointValue(p);
            const delta = cumulative ? this.#delta(`${m.name}\u0001${key}`, p, value, nowMs) : value;
            let row = rows.get(key);
            if (row === undefined) {
              row = addRow(batch, attrs);
              if (row < 0) { invalid++; continue; }
              rows.set(key, row);
            }
            batch.counters[column][row] = (batch.counters[column][row] ?? 0) + delta;
            const t = p.timeUnixNano ?? 0;
            const s = p.startTimeUnixNano ?? t;
            if (t > maxNs) maxNs = t;
            if (s < minNs) minNs = s;
          }
        }
      }
    }
    batch.endTimeMs = maxNs > 0 ? Math.round(maxNs / 1e6) : nowMs;
    batch.startTimeMs = Number.isFinite(minNs) && minNs > 0 ? Math.round(minNs / 1e6) : batch.endTimeMs;
    if (nowMs - this.#lastSweepMs > 60_000) this.#sweep(nowMs);
    return { batch, notConvertible, invalid };
  }

  #delta(key: string, p: NumberPointObj, value: number, nowMs: number): number {
    const startNs = p.startTimeUnixNano ?? 0;
    const s = this.#series.get(key);
    if (!s) {
      this.#series.set(key, { startNs, last: value, seenMs: nowMs });
      return startNs >= this.#startNs ? value : 0;
    }
    s.seenMs = nowMs;
    const reset = startNs !== s.startNs || value < s.last;
    const d = reset ? value : value - s.last;
    s.startNs = startNs;
    s.last = value;
    return d;
  }

  #sweep(nowMs: number): void {
    this.#lastSweepMs = nowMs;
    for (const [k, s] of this.#series) if (nowMs - s.seenMs > SERIES_EXPIRY_MS) this.#series.delete(k);
  }
}

function pointValue(p: NumberPointObj): number {
  const v = p.asInt ?? p.asDouble ?? 0;
  return Number.isFinite(v) && v > 0 ? v : 0;
}


function attrKey(kvs: KeyValueObj[] | undefined): string {
  const pairs = (kvs ?? []).map((kv) => {
    const v = kv.value ?? {};
    return `${kv.key}\u0002${String(v.stringValue ?? v.intValue ?? v.doubleValue ?? v.boolValue ?? '')}`;
  });
  return pairs.sort().join('\u0003');
}

const BUILTIN = new Set([
  'network.transport', 'network.type', 'source.address', 'destination.address', 'flow.observer',
  'source.port', 'destination.port', 'destination.original.address', 'destination.original.port',
]);

/** Appends the row an attribute set describes; -1 when it cannot be a flow. */
function addRow(b: FlowBatch, a: Map<string, Attr>): number {
  const transport = a.get('network.transport');
  const protocol = protocolOf(transport, a.get('network.type') === 'ipv6' ? 6 : 4);
  if (protocol < 0) return -1;
  const i = b.addRow();
  try {
    b.protocol[i] = protocol;
    let family: 4 | 6 = a.get('network.type') === 'ipv6' ? 6 : 4;
    const src = a.get('source.address');
    const dst = a.get('destination.address');
    if (typeof src === 'string' && writeAddress(b.srcAddr, i * 16, src) === 6) family = 6;
    if (typeof dst === 'string' && writeAddress(b.dstAddr, i * 16, dst) === 6) family = 6;
    b.family[i] = family;
    let flags = a.get('flow.observer') === 'destination' ? FLAG_OBSERVER_DESTINATION : 0;
    const dport = a.get('destination.port');
    const sport = a.get('source.port');
    if (dport !== undefined) {
      b.dstPort[i] = Number(dport);
      flags |= FLAG_SOURCE_IS_CLIENT;
    } else if (sport !== undefined) {
      b.srcPort[i] = Number(sport);
      if (protocol === PROTO_UDP) b.dstPort[i] = 65535;
    }
    const orig = a.get('destination.original.address');
    if (typeof orig === 'string') {
      writeAddress(b.origDstAddr, i * 16, orig);
      b.origDstPort[i] = Number(a.get('destination.original.port') ?? 0);
      flags |= FLAG_HAS_ORIGINAL_DST;
    }
    b.flags[i] = flags;
    for (const [k, v] of a) if (!BUILTIN.has(k)) b.setAttribute(i, k, String(v));
    for (const c of COUNTER_COLUMNS) b.counters[c][i] = 0;
    return i;
  } catch {
    // writeAddress rejects text that is no IP address: forget the row.
    b.length--;
    return -1;
  }
}
