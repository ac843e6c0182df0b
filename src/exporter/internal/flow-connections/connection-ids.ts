// Trace and span IDs every node derives for the same connection on its own, so
// the CLIENT span (client's node) and the SERVER span (server's node) join in
// the backend with no coordination.
//
// Input: "tcp|<client addr>|<client port>|<server addr>|<server port>|<bucket>"
// where the addresses are the translated ones (the pod IPs both sockets see;
// the client's Service VIP is replaced by the backend pod by the NAT join) and
// bucket = floor(estimated start / bucket_ms). The start is estimated as the
// close time (the end of the interval that reported it) minus the duration, so
// it is late by up to one export interval on each node; both nodes agree as
// long as neither estimate crosses a bucket boundary, i.e. except for a share
// of about interval / bucket of the connections (10 s / 5 min ≈ 3 %), whose
// halves then land in two traces. Other limits: a 5-tuple reused within one
// bucket gives two connections the same IDs; a connection whose source is
// SNATed between the nodes (node ports with externalTrafficPolicy: Cluster)
// has different tuples on the two nodes and does not join.
//
// trace ID = SHA-256("trace|" + input)[0..16], CLIENT span ID =
// SHA-256("client|" + input)[0..8], SERVER span ID = SHA-256("server|" +
// input)[0..8]; the SERVER span's parent is the CLIENT span.

import { createHash } from '../../../service/node-builtins.ts';
import type { ConnectionFacts } from './connection-facts.ts';

export interface ConnectionIds {
  traceId: string;
  clientSpanId: string;
  serverSpanId: string;
}

export function connectionInput(f: ConnectionFacts, startMs: number, bucketMs: number): string {
  return `${f.transport}|${f.clientAddress}|${f.clientPort}|${f.serverAddress}|${f.serverPort}|${Math.floor(startMs / bucketMs)}`;
}

function hex(prefix: string, input: string, bytes: number): string {
  return createHash('sha256').update(prefix + '|' + input).digest('hex').slice(0, bytes * 2);
}

export function connectionIds(input: string): ConnectionIds {
  let traceId = hex('trace', input, 16);
  let clientSpanId = hex('client', input, 8);
  let serverSpanId = hex('server', input, 8);
  // All-zero IDs are invalid in W3C/OTLP; SHA-256 makes them practically impossible, but never emit one.
  if (/^0+$/.test(traceId)) traceId = traceId.slice(0, -1) + '1';
  if (/^0+$/.test(clientSpanId)) clientSpanId = clientSpanId.slice(0, -1) + '1';
  if (/^0+$/.test(serverSpanId)) serverSpanId = serverSpanId.slice(0, -1) + '2';
  return { traceId, clientSpanId, serverSpanId };
}

/**
 * A number in [0, 1) from the connection's tuple only (no time, no side), so
 * that `sampling_ratio` keeps or drops both halves of a connection on every node.
 */
export function samplingValue(f: ConnectionFacts): number {
  const d = createHash('sha256').update(`sample|${f.transport}|${f.clientAddress}|${f.clientPort}|${f.serverAddress}|${f.serverPort}`).digest();
  return d.readUInt32BE(0) / 2 ** 32;
}
