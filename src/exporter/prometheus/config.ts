// Config of the prometheus exporter: the Collector's prometheus exporter keys
// podflow supports, plus the series store's cardinality_limit / series_expiry.

import { checkHostPort } from '../../config/host-port.ts';
import { bool, duration, map, object, optional, string, type Infer, type Problem } from '../../config/schema.ts';
import { seriesFields } from '../internal/flow-metrics/metrics-exporter-config.ts';

export const prometheusConfigSchema = object({
  endpoint: string({ default: '0.0.0.0:8889', check: checkHostPort, description: 'host:port the /metrics endpoint listens on.' }),
  namespace: optional(string({ pattern: /^[a-zA-Z_][a-zA-Z0-9_]*$/, description: 'Prefix of every metric name (namespace_...).' })),
  const_labels: optional(map(string())),
  send_timestamps: bool({ default: false }),
  resource_to_telemetry_conversion: object({ enabled: bool({ default: false }) }),
  /** The Collector's name for series_expiry; either may be used. */
  metric_expiration: optional(duration()),
  ...seriesFields,
});
export type PrometheusConfig = Infer<typeof prometheusConfigSchema>;

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function validatePrometheusConfig(c: PrometheusConfig): Problem[] {
  const problems: Problem[] = [];
  for (const k of Object.keys(c.const_labels ?? {})) {
    if (!LABEL_NAME.test(k) || k.startsWith('__')) {
      problems.push({ path: ['const_labels', k], message: `invalid label name "${k}": must match [a-zA-Z_][a-zA-Z0-9_]* and not start with "__"` });
    }
  }
  return problems;
}

/** metric_expiration when set (the Collector's key), else series_expiry. */
export function expiryMs(c: PrometheusConfig): number {
  return c.metric_expiration ?? c.series_expiry;
}
