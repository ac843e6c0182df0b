// The self-metrics of a span builder's running totals (connection-totals.ts):
// spans whose counters cover less than the whole connection, because the
// table of open connections was full, or an entry went unseen long enough to
// be dropped (its end never reported).

import type { SelfTelemetry } from '../../../service/telemetry/self-telemetry.ts';
import type { TotalsEvents } from '../flow-connections/connection-totals.ts';

export function spanTotalsMetrics(telemetry: SelfTelemetry, exporterId: string): TotalsEvents {
  const labels = { exporter: exporterId, data_type: 'traces' };
  const untracked = telemetry.counter('podflow_exporter_span_totals_untracked_total',
    'Open connections whose running totals were not kept (table of 100,000 full): their span carries only its last interval.');
  const expired = telemetry.counter('podflow_exporter_span_totals_expired_total',
    'Running totals of open connections dropped after 15 minutes unseen (their end was never reported).');
  untracked.add(0, labels);
  expired.add(0, labels);
  return { untracked: () => untracked.add(1, labels), expired: (n) => expired.add(n, labels) };
}
