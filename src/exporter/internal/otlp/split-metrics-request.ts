// Export requests within a size limit. A gRPC server refuses a message larger
// than 4 MiB unless configured otherwise (grpc-go's and grpc-js's default
// maximum receive size, hence the Collector's max_recv_msg_size_mib: 4), also
// after decompression, and a status of RESOURCE_EXHAUSTED without RetryInfo is
// not retryable: an export of a few thousand series (about 500 bytes a point
// with podflow's attributes) would be lost every time. So a ResourceMetrics
// whose encoding is over the limit is split by data points, in order, into
// requests that are each within it.

import type { MetricData, ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { countPoints } from './queued-metric-exporter.ts';

/**
 * `rm` as `parts` ResourceMetrics with consecutive runs of its data points
 * (sizes differing by one at most), each keeping its resource, scopes and
 * metric descriptions; a metric or scope left with no point in a part is left out of it.
 */
export function splitByPoints(rm: ResourceMetrics, parts: number): ResourceMetrics[] {
  const total = countPoints(rm);
  const n = Math.max(1, Math.min(parts, total));
  const out: ResourceMetrics[] = [];
  let point = 0; // index of the next point over the whole of rm
  let scope = 0;
  let metric = 0;
  let inMetric = 0; // next point within rm.scopeMetrics[scope].metrics[metric]
  for (let p = 0; p < n; p++) {
    const end = Math.round(((p + 1) * total) / n);
    const scopeMetrics: ScopeMetrics[] = [];
    while (point < end) {
      const sm = rm.scopeMetrics[scope]!;
      const m = sm.metrics[metric];
      if (m === undefined) {
        scope++;
        metric = 0;
        continue;
      }
      const take = Math.min(m.dataPoints.length - inMetric, end - point);
      if (take > 0) {
        let last = scopeMetrics.at(-1);
        if (last?.scope !== sm.scope) scopeMetrics.push((last = { scope: sm.scope, metrics: [] }));
        last.metrics.push({ ...m, dataPoints: m.dataPoints.slice(inMetric, inMetric + take) } as MetricData);
        point += take;
        inMetric += take;
      }
      if (inMetric === m.dataPoints.length) {
        metric++;
        inMetric = 0;
      }
    }
    out.push({ resource: rm.resource, scopeMetrics });
  }
  return out;
}

/** One request of an export as planned: its points, and its encoding made when asked for. */
export interface PlannedPart {
  points: number;
  /** The request's bytes (encoded on the first call); undefined when the encoder gives none. */
  body(): Uint8Array | undefined;
}

/**
 * The requests of `rm`, in order: one when it is within `maxBytes`, else parts
 * of it with as many points each as the limit suggests, and any part still
 * over (points differ in size) split again. A single point over the limit
 * goes alone: the receiver will refuse it, and the sender counts it.
 * With `size` (the encoder's exact size, without writing) nothing is encoded
 * until a part's body is asked for, so a retry that resumes after delivered
 * parts does not encode them again; without it, deciding needs the encoding.
 */
export function planWithin(
  rm: ResourceMetrics, encode: (rm: ResourceMetrics) => Uint8Array | undefined, maxBytes: number,
  size?: (rm: ResourceMetrics) => number,
): PlannedPart[] {
  const points = countPoints(rm);
  let bytes: number;
  if (size) {
    bytes = size(rm);
    if (bytes <= maxBytes || points <= 1) return [lazyPart(rm, points, encode)];
  } else {
    const body = encode(rm);
    if (body === undefined) return [];
    bytes = body.byteLength;
    if (bytes <= maxBytes || points <= 1) return [{ points, body: () => body }];
  }
  // With 5% to spare, one pass nearly always yields parts within the limit.
  const parts = Math.min(points, Math.ceil((bytes * 1.05) / maxBytes));
  return splitByPoints(rm, Math.max(2, parts)).flatMap((part) => planWithin(part, encode, maxBytes, size));
}

function lazyPart(rm: ResourceMetrics, points: number, encode: (rm: ResourceMetrics) => Uint8Array | undefined): PlannedPart {
  let made: { body: Uint8Array | undefined } | undefined;
  return { points, body: () => (made ??= { body: encode(rm) }).body };
}
