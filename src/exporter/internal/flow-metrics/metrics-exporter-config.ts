// Config keys every flow-metrics exporter shares (podflow's own, not the Collector's).

import { duration, enumOf, int } from '../../../config/schema.ts';

/** Keys of the series store: cardinality guard and stale-series expiry. */
export const seriesFields = {
  cardinality_limit: int({ default: 10_000, min: 1, description: 'Series per metric before new attribute sets go to the overflow series.' }),
  series_expiry: duration({ default: 300_000, description: 'Cumulative series not updated for this long are dropped; 0 keeps them.' }),
};

/** Keys of the push exporters (OTLP). */
export const pushFields = {
  ...seriesFields,
  temporality: enumOf(['cumulative', 'delta'] as const, { default: 'cumulative' }),
  export_interval: duration({ default: 10_000, min: 100, description: 'How often metrics are pushed.' }),
  max_request_size_mib: int({
    default: 4, min: 1, max: 1024,
    description: 'An export of metrics whose request would be larger is sent as several requests, each within it (a gRPC receiver refuses messages over 4 MiB by default).',
  }),
};
