// The flow metrics podflow exports (ARCHITECTURE.md, "Metric names and
// attributes"): one entry per metric, naming the FlowBatch counter column it is
// built from. Sums add the column; histograms record one observation per row
// whose column is > 0, scaled to the metric's unit.

import { DEFAULT_HISTOGRAM_BOUNDARIES, type HistogramColumn } from '../../../pdata/flow-aggregation.ts';
import type { CounterColumn } from '../../../pdata/flow-batch.ts';

export interface SumDefinition {
  kind: 'sum';
  name: string;
  unit: string;
  description: string;
  column: CounterColumn;
}

export interface HistogramDefinition {
  kind: 'histogram';
  name: string;
  unit: string;
  description: string;
  column: HistogramColumn;
  /** Divides the column value into the metric's unit (µs → s). */
  divisor: number;
  /** Explicit bucket upper bounds, in the metric's unit. */
  boundaries: readonly number[];
}

export type MetricDefinition = SumDefinition | HistogramDefinition;

export const SUM_METRICS: readonly SumDefinition[] = [
  { kind: 'sum', name: 'network.flow.bytes', unit: 'By', column: 'bytes', description: 'Bytes sent from source to destination.' },
  { kind: 'sum', name: 'network.flow.packets', unit: '{packet}', column: 'packets', description: 'Packets (TCP segments) sent from source to destination.' },
  { kind: 'sum', name: 'network.flow.tcp.retransmits', unit: '{segment}', column: 'retransmits', description: 'TCP segments the source retransmitted.' },
  { kind: 'sum', name: 'network.flow.tcp.resets', unit: '{reset}', column: 'resets', description: 'TCP connections ended by a reset.' },
  { kind: 'sum', name: 'network.flow.connections.opened', unit: '{connection}', column: 'opened', description: 'TCP connections established (counted on the client to server edge).' },
  { kind: 'sum', name: 'network.flow.connections.failed', unit: '{connection}', column: 'failed', description: 'TCP connection attempts that failed.' },
  { kind: 'sum', name: 'network.flow.connections.closed', unit: '{connection}', column: 'closed', description: 'TCP connections closed.' },
  { kind: 'sum', name: 'network.flow.drops', unit: '{packet}', column: 'drops', description: 'Packets from source to destination the kernel dropped; drop.reason says why (netfilter_drop, no_socket, ...).' },
  { kind: 'sum', name: 'network.flow.drop.bytes', unit: 'By', column: 'dropBytes', description: 'Bytes of the packets counted in network.flow.drops.' },
  { kind: 'sum', name: 'network.flow.dns.requests', unit: '{request}', column: 'dnsRequests', description: 'DNS lookups the source made to the destination, by dns.question.type and dns.response_code (TIMEOUT: unanswered).' },
];

// The same boundaries flow_aggregate uses, so its pre-bucketed samples merge
// without loss. Dividing (not multiplying by 1e-6) gives exactly the decimal
// seconds literal, and raw samples are divided the same way, so a sample equal to
// a boundary lands in the same bucket on both paths.
const RTT_BOUNDS = DEFAULT_HISTOGRAM_BOUNDARIES.rttUs.map((b) => b / 1e6);
const DURATION_BOUNDS = DEFAULT_HISTOGRAM_BOUNDARIES.durationMs.map((b) => b / 1e3);
const CONNECT_BOUNDS = DEFAULT_HISTOGRAM_BOUNDARIES.connectUs.map((b) => b / 1e6);
const DNS_BOUNDS = DEFAULT_HISTOGRAM_BOUNDARIES.dnsDurationUs.map((b) => b / 1e6);

export const HISTOGRAM_METRICS: readonly HistogramDefinition[] = [
  { kind: 'histogram', name: 'network.flow.tcp.rtt', unit: 's', column: 'rttUs', divisor: 1e6, boundaries: RTT_BOUNDS, description: 'Smoothed TCP round-trip time of the connection.' },
  { kind: 'histogram', name: 'network.flow.connection.duration', unit: 's', column: 'durationMs', divisor: 1e3, boundaries: DURATION_BOUNDS, description: 'Duration of closed TCP connections.' },
  { kind: 'histogram', name: 'network.flow.tcp.connect.duration', unit: 's', column: 'connectUs', divisor: 1e6, boundaries: CONNECT_BOUNDS, description: 'TCP handshake time seen by the client: connect() until ESTABLISHED.' },
  { kind: 'histogram', name: 'network.flow.dns.duration', unit: 's', column: 'dnsDurationUs', divisor: 1e6, boundaries: DNS_BOUNDS, description: 'DNS response time seen by the client: query sent until response received.' },
];

/** Sums first, then histograms: a metric's index into per-series arrays. */
export const ALL_METRICS: readonly MetricDefinition[] = [...SUM_METRICS, ...HISTOGRAM_METRICS];
