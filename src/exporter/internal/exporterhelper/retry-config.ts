// The Collector's `retry_on_failure` block (exporterhelper's BackOffConfig),
// same keys and defaults.

import { bool, duration, number, object, type Infer, type Problem } from '../../../config/schema.ts';

export const retryOnFailureSchema = object({
  enabled: bool({ default: true, description: 'Retry failed exports that the backend says may succeed later.' }),
  initial_interval: duration({ default: 5_000, min: 1, description: 'Wait before the first retry.' }),
  randomization_factor: number({ default: 0.5, min: 0, max: 1, description: 'Each wait is picked in [w·(1−f), w·(1+f)].' }),
  multiplier: number({ default: 1.5, min: 1, description: 'Growth of the wait after each retry.' }),
  max_interval: duration({ default: 30_000, min: 1, description: 'Upper bound of one wait.' }),
  max_elapsed_time: duration({ default: 300_000, description: 'Give up (drop, counted) after this long; 0 retries forever.' }),
});
export type RetryConfig = Infer<typeof retryOnFailureSchema>;

export function validateRetry(c: RetryConfig): Problem[] {
  const problems: Problem[] = [];
  if (c.max_interval < c.initial_interval) {
    problems.push({ path: ['retry_on_failure', 'max_interval'], message: `must be at least initial_interval (${c.initial_interval}ms)` });
  }
  if (c.max_elapsed_time !== 0 && c.max_elapsed_time < c.initial_interval) {
    problems.push({ path: ['retry_on_failure', 'max_elapsed_time'], message: `must be 0 (forever) or at least initial_interval (${c.initial_interval}ms)` });
  }
  return problems;
}
