// The delivery keys an exporter gets from the exporterhelper: the Collector's
// `retry_on_failure` and `sending_queue`, plus podflow's `shutdown_timeout`
// (how long shutdown may spend draining the queue; the Collector has no such
// exporter key — it relies on the process being given time).

import { duration, type Problem } from '../../../config/schema.ts';
import { retryOnFailureSchema, validateRetry, type RetryConfig } from './retry-config.ts';
import { sendingQueueSchema, validateQueue, type SendingQueueConfig } from './queue-config.ts';

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

export const deliveryFields = {
  retry_on_failure: retryOnFailureSchema,
  sending_queue: sendingQueueSchema,
  shutdown_timeout: duration({ default: DEFAULT_SHUTDOWN_TIMEOUT_MS, description: 'On shutdown, how long to keep sending what is queued before giving up (kept on disk with storage_dir, else dropped and counted).' }),
};

export interface DeliveryConfig {
  retry_on_failure: RetryConfig;
  sending_queue: SendingQueueConfig;
  shutdown_timeout: number;
}

export function validateDelivery(c: DeliveryConfig): Problem[] {
  return [...validateRetry(c.retry_on_failure), ...validateQueue(c.sending_queue)];
}
