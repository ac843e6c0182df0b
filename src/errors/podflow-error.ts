// The error type every user-facing failure carries: a stable code (catalogued in
// codes.ts and docs/errors.md) plus a message that names where the problem is.

import type { ErrorCode } from './codes.ts';

export class PodflowError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PodflowError';
    this.code = code;
  }
}

export function isPodflowError(e: unknown): e is PodflowError {
  return e instanceof PodflowError;
}
