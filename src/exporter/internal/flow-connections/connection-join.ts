// Joins the two edges of each connection in one FlowBatch into one view.
//
// A receiver reports a socket as two rows: client → server (what the client
// sent, plus the per-connection facts: opened, failed, closed, resets, RTT,
// duration) and server → client (what the server sent). Logs and spans are per
// connection, so the two rows are paired by their 5-tuple. The pairing also
// keys on which socket reported them: when client and server run on the same
// node, the batch holds the connection twice (once per socket) and those are
// two views, not one. The reporting socket is the server when the client →
// server row carries FLAG_OBSERVER_DESTINATION (see the ebpf receiver's
// connection-table.ts), and, on the reply row, when it does not.

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
  const out: ConnectionView[] = [];
  const byKey = new Map<string, ConnectionView>();
  for (let i = 0; i < batch.length; i++) {
    const flags = batch.flags[i]!;
    const isC2s = serverPortIsDestination(batch.protocol[i]!, flags, batch.srcPort[i]!, batch.dstPort[i]!);
    const obsDst = (flags & FLAG_OBSERVER_DESTINATION) !== 0;
    const serverSide = isC2s ? obsDst : !obsDst;
    const key = tupleKey(batch, i, isC2s) + (serverSide ? 's' : 'c');
    let v = byKey.get(key);
    if (!v) {
      v = { c2s: -1, s2c: -1, serverSide, ended: false };
      byKey.set(key, v);
      out.push(v);
    }
    if (isC2s) {
      if (v.c2s === -1) v.c2s = i;
    } else if (v.s2c === -1) {
      v.s2c = i;
    }
    if (flags & FLAG_CONNECTION_ENDED) v.ended = true;
  }
  return out;
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
