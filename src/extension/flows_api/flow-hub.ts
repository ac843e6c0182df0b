// The in-process hub between flow receivers and the flows_api extension.
//
//   receiver ──publishFlows(id, batch)──▶ hub ──▶ each flows_api table (copies what it keeps)
//   receiver ──registerConnectionSource()──▶ hub ◀── flows_api asks for live connections
//
// A receiver publishes each batch it emits; with no flows_api configured the
// call returns at once. Subscribers must not keep or mutate the batch (the
// receiver hands the same batch to its pipeline next).

import type { FlowBatch } from '../../pdata/flow-batch.ts';

export type FlowSubscriber = (receiverId: string, batch: FlowBatch) => void;

/** A live connection as a connection source reports it (flows_api counts these per endpoint). */
export interface LiveConnection {
  protocol: number;
  /** The endpoint that answered (after NAT), and the address the client used when translated. */
  destination: string;
  destinationPort: number;
  originalDestination?: string;
  originalDestinationPort?: number;
  state?: string;
}

export type ConnectionSource = () => Iterable<LiveConnection>;

const subscribers = new Set<FlowSubscriber>();
const sources = new Map<string, ConnectionSource>();

export function publishFlows(receiverId: string, batch: FlowBatch): void {
  for (const s of subscribers) s(receiverId, batch);
}

export function hasFlowSubscribers(): boolean {
  return subscribers.size > 0;
}

/** Returns the unsubscribe function. */
export function subscribeFlows(fn: FlowSubscriber): () => void {
  subscribers.add(fn);
  return () => subscribers.delete(fn);
}

/** A receiver that knows its live connections (conntrack) registers here; returns the unregister function. */
export function registerConnectionSource(receiverId: string, source: ConnectionSource): () => void {
  sources.set(receiverId, source);
  return () => {
    if (sources.get(receiverId) === source) sources.delete(receiverId);
  };
}

export function connectionSources(): ReadonlyMap<string, ConnectionSource> {
  return sources;
}
