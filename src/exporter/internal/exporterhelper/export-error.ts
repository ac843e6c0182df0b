// How a failed send is classified: retry later (and how long to wait, when the
// backend says), or give up now. The rules follow the OTLP specification and
// the Collector's otlp/otlphttp exporters.

import { retryDelayFromStatusDetails } from './grpc-status-details.ts';

export interface Verdict {
  retryable: boolean;
  /** The backend's requested delay (gRPC RetryInfo, HTTP Retry-After), in ms. */
  retryAfterMs?: number | undefined;
}

/** Thrown by a send function that already knows the verdict (the HTTP transport). */
export class ExportError extends Error {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryable: boolean, retryAfterMs?: number) {
    super(message);
    this.name = 'ExportError';
    this.retryable = retryable;
    this.retryAfterMs = retryAfterMs;
  }
}

// gRPC status codes (grpc/status.proto).
const CANCELLED = 1;
const DEADLINE_EXCEEDED = 4;
const RESOURCE_EXHAUSTED = 8;
const ABORTED = 10;
const OUT_OF_RANGE = 11;
const UNAVAILABLE = 14;
const DATA_LOSS = 15;
const RETRYABLE_GRPC = new Set([CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS]);

interface GrpcLikeError { code?: unknown; metadata?: { get(key: string): unknown[] } }

/**
 * A grpc-js ServiceError: retryable codes as the Collector's otlp exporter;
 * RESOURCE_EXHAUSTED only when the server sent RetryInfo (it then means "slow
 * down", otherwise a permanent quota).
 */
export function classifyGrpcError(e: unknown): Verdict {
  const err = e as GrpcLikeError;
  if (typeof err?.code !== 'number') return classifyNetworkError(e);
  let delay: number | undefined;
  const details = err.metadata?.get?.('grpc-status-details-bin')?.[0];
  if (details instanceof Uint8Array) delay = retryDelayFromStatusDetails(details);
  if (err.code === RESOURCE_EXHAUSTED) return { retryable: delay !== undefined, retryAfterMs: delay };
  return { retryable: RETRYABLE_GRPC.has(err.code), retryAfterMs: delay };
}

/** 429, 502, 503, 504 are retryable (OTLP/HTTP spec); Retry-After in seconds or an HTTP date. */
export function classifyHttpStatus(status: number, retryAfter: string | undefined, now = Date.now()): Verdict {
  const retryable = status === 429 || status === 502 || status === 503 || status === 504;
  return { retryable, retryAfterMs: retryable ? parseRetryAfter(retryAfter, now) : undefined };
}

export function parseRetryAfter(v: string | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const at = Date.parse(t);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

// Socket-level failures that a later attempt can overcome; TLS and DNS
// "not found" failures are configuration problems and are not retried.
const RETRYABLE_NET = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED', 'UND_ERR_SOCKET']);

export function classifyNetworkError(e: unknown): Verdict {
  if (e instanceof ExportError) return { retryable: e.retryable, retryAfterMs: e.retryAfterMs };
  const code = (e as { code?: unknown })?.code;
  return { retryable: typeof code === 'string' && RETRYABLE_NET.has(code) };
}
