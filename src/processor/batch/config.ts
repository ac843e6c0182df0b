// The Collector's batch processor keys. `metadata_keys` and
// `metadata_cardinality_limit` batch by client metadata (gRPC/HTTP headers of
// an OTLP receiver), which flows from the kernel do not have: they are
// rejected with a message rather than silently ignored.

import { duration, int, list, object, optional, string, type Infer, type Problem } from '../../config/schema.ts';

const NO_METADATA = 'not applicable: podflow flows carry no client metadata to batch by (remove the key)';

export const batchConfigSchema = object({
  send_batch_size: int({ default: 8192, min: 0, description: 'Rows after which a batch is sent regardless of the timeout; 0 sends on the timeout only.' }),
  send_batch_max_size: int({ default: 0, min: 0, description: 'Upper bound of a sent batch in rows; larger batches are split. 0 = no bound.' }),
  timeout: duration({ default: 200, description: 'Time after the first row of a batch after which it is sent regardless of size; 0 sends at once (only splitting).' }),
  metadata_keys: optional(list(string(), { check: (v) => (v.length ? NO_METADATA : undefined) })),
  metadata_cardinality_limit: optional(int({ check: () => NO_METADATA })),
});
export type BatchConfig = Infer<typeof batchConfigSchema>;

export function validateBatchConfig(c: BatchConfig): Problem[] {
  const problems: Problem[] = [];
  if (c.send_batch_max_size > 0 && c.send_batch_max_size < c.send_batch_size) {
    problems.push({ path: ['send_batch_max_size'], message: `must be greater than or equal to send_batch_size (${c.send_batch_size})` });
  }
  if (c.send_batch_size === 0 && c.timeout === 0) {
    problems.push({ path: ['timeout'], message: 'send_batch_size 0 sends on the timeout only, so timeout must be greater than zero' });
  }
  return problems;
}
