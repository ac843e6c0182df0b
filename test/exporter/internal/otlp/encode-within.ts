// Test helper: every request planWithin makes of an export, encoded (those the
// encoder gives no bytes for left out), to compare with what a sender sent.

import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { planWithin } from '../../../../src/exporter/internal/otlp/split-metrics-request.ts';

export interface EncodedPart {
  body: Uint8Array;
  points: number;
}

export function encodeWithin(
  rm: ResourceMetrics, encode: (rm: ResourceMetrics) => Uint8Array | undefined, maxBytes: number,
  size?: (rm: ResourceMetrics) => number,
): EncodedPart[] {
  return planWithin(rm, encode, maxBytes, size).flatMap((p) => {
    const body = p.body();
    return body === undefined ? [] : [{ body, points: p.points }];
  });
}
