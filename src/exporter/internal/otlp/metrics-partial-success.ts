// An OTLP metrics response that is a partial success: the backend accepted
// the request but rejected some data points. Not retried (the OTLP spec says a
// client must not retry it); counted and logged with the backend's message, as
// the Collector's exporters log it.

import type { CreateSettings } from '../../../component/component.ts';
import { loadOtlpTransformer } from './otlp-transformer.ts';

/**
 * Reads the response of each accepted request. Most backends answer with an
 * empty message, so the official deserializer is loaded only for the first
 * response that has content.
 */
export function metricsPartialSuccess(settings: CreateSettings, encoding: 'proto' | 'json'): (response: Uint8Array) => Promise<void> {
  const labels = { exporter: settings.id };
  const rejected = settings.telemetry.counter('podflow_exporter_rejected_metric_points_total',
    'Metric points the backend rejected in an accepted request (OTLP partial success); also in sent.');
  rejected.add(0, labels);
  return async (response) => {
    if (!response.byteLength) return;
    const t = await loadOtlpTransformer();
    const serializer = encoding === 'json' ? t.JsonMetricsSerializer : t.ProtobufMetricsSerializer;
    let n = 0;
    let message = '';
    try {
      const p = serializer.deserializeResponse(response).partialSuccess;
      n = Number(p?.rejectedDataPoints ?? 0);
      message = p?.errorMessage ?? '';
    } catch {
      return; // an unreadable response to an accepted request: nothing to learn from it
    }
    if (!(n > 0)) return;
    rejected.add(n, labels);
    settings.logger.warn('Partial success response: the backend rejected part of the data.', { rejected_data_points: n, error_message: message });
  };
}
