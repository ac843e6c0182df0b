// Joins the two edges of each connection in one FlowBatch into one view.
//
// A receiver reports a connection as two rows: client → server (what the
// client sent, plus the per-connection facts: opened, failed, closed, resets,
// RTT, duration) and server → client (what the server sent). Logs and spans
// are per connection, so the two rows are paired by their 5-tuple.
//
// The ebpf receiver reports each socket: the client's socket as client →
// server (observer source) + server → client (FLAG_OBSERVER_DESTINATION), the
// server's socket as client → server (FLAG_OBSERVER_DESTINATION) + server →
// client (observer source). When both ends run on one node the batch holds both
// sockets' pairs, which are two views of the connection, so a reply row pairs
// first with the request row of the OPPOSITE observer flag (same socket).
// conntrack and synthetic report both rows with the same observer flag (one
// table, no socket): a reply row with no opposite-flag partner pairs with the
// same-flag request row. The view's side: the server's socket when its client →
// server row carries FLAG_OBSERVER_DESTINATION (or, for a lone reply, when the
// reply row does not).

import { FLAG_CONNECTION_ENDED, FLAG_OBSERVER_DESTINATION, type FlowBatch } from '../../../pdata/flow-batch.ts';
import { serverPortIsDestination } from '../../../pdata/server-port.ts';

export interface ConnectionView {
  /** Row of the client → server edge, -1 when the batch has only the reply. */
  c2s: number;
  /** Row of the server → client edge, -1 when the batch has only the request. */
  s2c: number;
  /** The reporting socket is the server's (else the client's). */
  serverSide: boolean;
  /** Either row says the connection ended in this interval. */
  ended: boolean;
}

/** One view per (connection, reporting socket), in the order of their first row. */
export function joinConnections(batch: FlowBatch): ConnectionView[] {
  const views: ConnectionView[] = [];
  const viewOf: Array<ConnectionView | undefined> = [];
  // Pass 1: every request row is a view; indexed by tuple + its observer flag.
  const requests = new Map<string, ConnectionView>();
  const isC2s = new Uint8Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const flags = batch.flags[i]!;
    if (!serverPortIsDestination(batch.protocol[i]!, flags, batch.srcPort[i]!, batch.dstPort[i]!)) continue;
    isC2s[i] = 1;
    const obsDst = (flags & FLAG_OBSERVER_DESTINATION) !== 0;
    const key = tupleKey(batch, i, true) + (obsDst ? 'd' : 's');
    if (requests.has(key)) continue; // a duplicate row: left to its own view below
    const v: ConnectionView = { c2s: i, s2c: -1, serverSide: obsDst, ended: (flags & FLAG_CONNECTION_ENDED) !== 0 };
    requests.set(key, v);
    viewOf[i] = v;
  }
  // Pass 2: replies join the same socket's request, else the same-flag request, else stand alone.
  for (let i = 0; i < batch.length; i++) {
    const flags = batch.flags[i]!;
    if (isC2s[i]) {
      const v = viewOf[i] ?? { c2s: i, s2c: -1, serverSide: (flags & FLAG_OBSERVER_DESTINATION) !== 0, ended: (flags & FLAG_CONNECTION_ENDED) !== 0 };
      if (!viewOf[i]) viewOf[i] = v;
      continue;
    }
    const obsDst = (flags & FLAG_OBSERVER_DESTINATION) !== 0;
    const tuple = tupleKey(batch, i, false);
    let v = requests.get(tuple + (obsDst ? 's' : 'd'));
    if (!v || v.s2c !== -1) v = requests.get(tuple + (obsDst ? 'd' : 's'));
    if (!v || v.s2c !== -1) v = { c2s: -1, s2c: i, serverSide: !obsDst, ended: false };
    else v.s2c = i;
    if (flags & FLAG_CONNECTION_ENDED) v.ended = true;
    viewOf[i] = v;
  }
  // In the order of each view's first row.
  const seen = new Set<ConnectionView>();
  for (const v of viewOf) if (v && !seen.has(v)) { seen.add(v); views.push(v); }
  return views;
}

/** protocol, client address/port, server address/port as raw column bytes. */
function tupleKey(b: FlowBatch, i: number, isC2s: boolean): string {
  const [ca, cp, sa, sp] = isC2s
    ? [b.srcAddr, b.srcPort[i]!, b.dstAddr, b.dstPort[i]!]
    : [b.dstAddr, b.dstPort[i]!, b.srcAddr, b.srcPort[i]!];
  let k = String.fromCharCode(b.protocol[i]!, cp, sp);
  for (let o = i * 16; o < i * 16 + 16; o++) k += String.fromCharCode(ca[o]!, sa[o]!);
  return k;
}
