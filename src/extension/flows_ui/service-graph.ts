// The service graph flows_ui serves, built from a window of directed edges:
// one node per workload (namespace/workload; the pod, Service or address when a
// flow has no workload name), one edge per client → server pair, server port and
// transport. A connection's two directions (request and reply edges) become one
// graph edge, so the graph reads "who calls whom"; its bytes are both
// directions, split in requestBytes / responseBytes.

import type { EdgeDetail } from '../../exporter/console/top-flows.ts';
import type { WindowView } from './edge-window-store.ts';

export interface GraphNode {
  id: string;
  /** The name without its namespace (the id itself for an address). */
  name: string;
  namespace: string;
  bytesSent: number;
  bytesReceived: number;
}

export type EdgeHealth = 'ok' | 'warn' | 'bad';

export interface GraphEdge {
  id: string;
  /** The client's node id. */
  source: string;
  /** The server's node id. */
  target: string;
  port: number;
  transport: string;
  bytes: number;
  requestBytes: number;
  responseBytes: number;
  packets: number;
  retransmits: number;
  opened: number;
  failed: number;
  resets: number;
  /** Mean smoothed RTT of the samples in the window, microseconds; 0 without samples. */
  rttUs: number;
  bytesPerSecond: number;
  packetsPerSecond: number;
  /** Retransmitted segments / segments. */
  retransmitRatio: number;
  /** Failed connection attempts / attempts (opened + failed). */
  failureRatio: number;
  health: EdgeHealth;
}

export interface ServiceGraph {
  windowSeconds: number;
  generatedAtMs: number;
  /** The filter applied, or null. */
  namespace: string | null;
  /** Every namespace in the window (before filtering), for the page's filter. */
  namespaces: string[];
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Edges in the window left out because of max_edges (smallest by bytes first). */
  omittedEdges: number;
  /** Where edges turn amber and red (the page's legend shows them). */
  healthThresholds: typeof HEALTH_THRESHOLDS;
}

/**
 * Where an edge turns amber and red. Retransmits above a few percent of
 * segments or a failed connect in ten already hurt latency visibly.
 */
export const HEALTH_THRESHOLDS = {
  warn: { retransmitRatio: 0.01, failureRatio: 0.01 },
  bad: { retransmitRatio: 0.05, failureRatio: 0.1 },
} as const;

export function edgeHealth(retransmitRatio: number, failureRatio: number): EdgeHealth {
  const { warn, bad } = HEALTH_THRESHOLDS;
  if (retransmitRatio >= bad.retransmitRatio || failureRatio >= bad.failureRatio) return 'bad';
  if (retransmitRatio >= warn.retransmitRatio || failureRatio >= warn.failureRatio) return 'warn';
  return 'ok';
}

/** True when either end of the directed edge is in `namespace` (null: no filter). */
export function edgeInNamespace(e: EdgeDetail, namespace: string | null): boolean {
  return namespace === null || e.sourceNamespace === namespace || e.destinationNamespace === namespace;
}

interface Acc {
  edge: GraphEdge;
  rttSumUs: number;
  rttSamples: number;
}

export function buildServiceGraph(view: WindowView, opts: { namespace: string | null; maxEdges: number; now?: number }): ServiceGraph {
  const namespaces = new Set<string>();
  const nodes = new Map<string, GraphNode>();
  const acc = new Map<string, Acc>();
  const node = (id: string, namespace: string): GraphNode => {
    let n = nodes.get(id);
    if (!n) {
      n = { id, name: namespace && id.startsWith(`${namespace}/`) ? id.slice(namespace.length + 1) : id, namespace, bytesSent: 0, bytesReceived: 0 };
      nodes.set(id, n);
    }
    return n;
  };
  for (const e of view.edges) {
    if (e.sourceNamespace) namespaces.add(e.sourceNamespace);
    if (e.destinationNamespace) namespaces.add(e.destinationNamespace);
    if (!edgeInNamespace(e, opts.namespace)) continue;
    const [client, clientNs, server, serverNs] = e.reply
      ? [e.destination, e.destinationNamespace, e.source, e.sourceNamespace]
      : [e.source, e.sourceNamespace, e.destination, e.destinationNamespace];
    const id = `${client}->${server}:${e.port}/${e.transport}`;
    let a = acc.get(id);
    if (!a) {
      a = {
        edge: {
          id, source: client, target: server, port: e.port, transport: e.transport,
          bytes: 0, requestBytes: 0, responseBytes: 0, packets: 0, retransmits: 0, opened: 0, failed: 0, resets: 0,
          rttUs: 0, bytesPerSecond: 0, packetsPerSecond: 0, retransmitRatio: 0, failureRatio: 0, health: 'ok',
        },
        rttSumUs: 0,
        rttSamples: 0,
      };
      acc.set(id, a);
      // Nodes are created with their edges so the two stay consistent under the filter.
      node(client, clientNs);
      node(server, serverNs);
    }
    const g = a.edge;
    g.bytes += e.bytes;
    if (e.reply) g.responseBytes += e.bytes;
    else g.requestBytes += e.bytes;
    g.packets += e.packets;
    g.retransmits += e.retransmits;
    g.opened += e.opened;
    g.failed += e.failed;
    g.resets += e.resets;
    a.rttSumUs += e.rttSumUs;
    a.rttSamples += e.rttSamples;
  }
  let edges = [...acc.values()].map(({ edge: g, rttSumUs, rttSamples }) => {
    g.rttUs = rttSamples ? Math.round(rttSumUs / rttSamples) : 0;
    g.bytesPerSecond = g.bytes / view.seconds;
    g.packetsPerSecond = g.packets / view.seconds;
    g.retransmitRatio = g.packets ? g.retransmits / g.packets : 0;
    g.failureRatio = g.opened + g.failed ? g.failed / (g.opened + g.failed) : 0;
    g.health = edgeHealth(g.retransmitRatio, g.failureRatio);
    return g;
  });
  let omittedEdges = 0;
  if (edges.length > opts.maxEdges) {
    edges.sort((a, b) => b.bytes - a.bytes || a.id.localeCompare(b.id));
    omittedEdges = edges.length - opts.maxEdges;
    edges = edges.slice(0, opts.maxEdges);
  }
  edges.sort((a, b) => a.id.localeCompare(b.id));
  const used = new Set(edges.flatMap((e) => [e.source, e.target]));
  for (const e of edges) {
    nodes.get(e.source)!.bytesSent += e.requestBytes;
    nodes.get(e.source)!.bytesReceived += e.responseBytes;
    nodes.get(e.target)!.bytesSent += e.responseBytes;
    nodes.get(e.target)!.bytesReceived += e.requestBytes;
  }
  return {
    windowSeconds: view.seconds,
    generatedAtMs: opts.now ?? Date.now(),
    namespace: opts.namespace,
    namespaces: [...namespaces].sort(),
    nodes: [...nodes.values()].filter((n) => used.has(n.id)).sort((a, b) => a.id.localeCompare(b.id)),
    edges,
    omittedEdges,
    healthThresholds: HEALTH_THRESHOLDS,
  };
}
