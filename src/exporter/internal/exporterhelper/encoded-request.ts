// A queue item that is already an OTLP export request on the wire: the
// serialized body and how many units (log records, spans) it carries. Logs and
// traces are serialized when they are queued, so a retry sends the same bytes,
// the persistent queue stores exactly what will be sent, and a restart needs no
// SDK objects (resources, span contexts) rebuilt from disk.

import type { ItemCodec } from './queued-retry-sender.ts';

export interface EncodedRequest {
  /** Units in the request, for the sent/dropped counters. */
  count: number;
  body: Uint8Array;
}

const VERSION = 1;

interface Stored {
  v: number;
  count: number;
  /** The body, base64. */
  body: string;
}

export const encodedRequestCodec: ItemCodec<EncodedRequest> = {
  encode(r) {
    const stored: Stored = { v: VERSION, count: r.count, body: Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength).toString('base64') };
    return JSON.stringify(stored);
  },
  decode(text) {
    const s = JSON.parse(text) as Partial<Stored>;
    if (s.v !== VERSION || typeof s.body !== 'string' || typeof s.count !== 'number' || !(s.count >= 0)) {
      throw new Error(`not a podflow encoded request (version ${String(s.v)})`);
    }
    return { count: s.count, body: new Uint8Array(Buffer.from(s.body, 'base64')) };
  },
};
