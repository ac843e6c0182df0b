// Metric names as the Collector's prometheus exporter writes them. The SDK's
// PrometheusExporter replaces "." with "_" and appends "_total" to monotonic
// sums, but adds no unit suffix; the Collector (add_metric_suffixes: true, its
// default) also appends the unit, so this adds it before the SDK serializes:
//   network.flow.tcp.rtt (s) → network_flow_tcp_rtt_seconds
//   network.flow.bytes (By)  → network_flow_bytes_total ("bytes" is already a word of the name)
// Units in braces ({packet}) are annotations and add nothing.

import type { Attributes } from '@opentelemetry/api';
import type { MetricData } from '@opentelemetry/sdk-metrics';

const UNIT_WORDS: Record<string, string> = {
  By: 'bytes', KiBy: 'kibibytes', MiBy: 'mebibytes', GiBy: 'gibibytes',
  s: 'seconds', ms: 'milliseconds', us: 'microseconds', ns: 'nanoseconds',
  m: 'meters', '%': 'percent',
};

export function prometheusBaseName(name: string, unit: string): string {
  const word = unit.startsWith('{') ? undefined : UNIT_WORDS[unit];
  const tokens = name.split(/[^a-zA-Z0-9]+/);
  return word && !tokens.includes(word) ? `${name}.${word}` : name;
}

/** Renames for Prometheus and adds `constLabels` to every point. */
export function prometheusRename(constLabels: Attributes): (m: MetricData) => MetricData {
  const hasConst = Object.keys(constLabels).length > 0;
  return (m) => {
    const descriptor = { ...m.descriptor, name: prometheusBaseName(m.descriptor.name, m.descriptor.unit) };
    if (!hasConst) return { ...m, descriptor };
    // Only the attributes change; the point type of each MetricData variant stays as it was.
    const dataPoints = (m.dataPoints as Array<{ attributes: Attributes }>)
      .map((p) => ({ ...p, attributes: { ...p.attributes, ...constLabels } }));
    return { ...m, descriptor, dataPoints } as MetricData;
  };
}
