// Wraps an SDK push exporter to count what was sent or lost and to log each
// failure once with the backend's own message (the SDK reader would otherwise
// hand it to the global error handler, which logs nothing by default).

import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Logger } from '../../../service/logger.ts';
import type { ExporterSelfMetrics } from '../flow-metrics/exporter-self-metrics.ts';

export function countPoints(rm: ResourceMetrics): number {
  let n = 0;
  for (const sm of rm.scopeMetrics) for (const m of sm.metrics) n += m.dataPoints.length;
  return n;
}

export class CountingMetricExporter implements PushMetricExporter {
  readonly #inner: PushMetricExporter;
  readonly #stats: ExporterSelfMetrics;
  readonly #logger: Logger;
  readonly #endpoint: string;

  constructor(inner: PushMetricExporter, stats: ExporterSelfMetrics, logger: Logger, endpoint: string) {
    this.#inner = inner;
    this.#stats = stats;
    this.#logger = logger;
    this.#endpoint = endpoint;
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    const points = countPoints(metrics);
    this.#inner.export(metrics, (result) => {
      if (result.code === ExportResultCode.SUCCESS) {
        this.#stats.sent(points);
      } else {
        this.#stats.failed(points);
        this.#logger.warn('Exporting failed. Dropping data.', {
          endpoint: this.#endpoint,
          error: describeError(result.error),
          dropped_data_points: points,
        });
      }
      resultCallback(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.#inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.#inner.shutdown();
  }
}

/** The message and, for HTTP, the status and response body (no stack). */
function describeError(e: Error | undefined): string {
  if (!e) return 'unknown error';
  const { code, data } = e as Error & { code?: unknown; data?: unknown };
  // grpc-js appends an empty "Resolution note: " to connection errors.
  let text = (e.message || e.name).replace(/\.?\s*Resolution note:\s*$/, '');
  if (code !== undefined && !text.includes(String(code))) text += ` (code ${String(code)})`;
  if (typeof data === 'string' && data.trim()) text += `: ${data.trim().slice(0, 300)}`;
  return text;
}
