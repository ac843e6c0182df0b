// The PushMetricExporter the periodic reader exports to: it only queues each
// collected ResourceMetrics in the exporterhelper's QueuedRetrySender and
// reports success at once, so a slow or down backend never blocks collection.
// Delta: every collection is its own queue item, retried until delivered or
// dropped (counted), so no increment is lost to a failed export. Cumulative:
// items coalesce (the newest carries every total).

import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { PushMetricExporter, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { QueuedRetrySender } from '../exporterhelper/queued-retry-sender.ts';

export function countPoints(rm: ResourceMetrics): number {
  let n = 0;
  for (const sm of rm.scopeMetrics) for (const m of sm.metrics) n += m.dataPoints.length;
  return n;
}

export class QueuedMetricExporter implements PushMetricExporter {
  readonly #sender: QueuedRetrySender<ResourceMetrics>;

  constructor(sender: QueuedRetrySender<ResourceMetrics>) {
    this.#sender = sender;
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    // A refused item is counted by the sender; the reader need not log it again.
    this.#sender.offer(metrics);
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
