// The Collector's `sending_queue` block, plus podflow's `storage_dir`.
//
// The Collector persists a queue through a storage extension (`storage:
// file_storage/x`); podflow has no storage extensions, so the directory is set
// in the block itself. Naming a storage extension is an error that says so.

import { bool, int, object, optional, string, type Infer, type Problem } from '../../../config/schema.ts';

export const sendingQueueSchema = object({
  enabled: bool({ default: true, description: 'Queue exports and send them from consumers, so a slow or down backend does not block collection.' }),
  num_consumers: int({ default: 10, min: 1, max: 1000, description: 'Concurrent senders (the flow-metrics exporters use one: see README).' }),
  queue_size: int({ default: 1000, min: 1, max: 1_000_000, description: 'Items (export requests) the queue holds before refusing more.' }),
  storage_dir: optional(string({ description: 'Directory where queued items are kept so a restart (even kill -9) delivers them.' })),
  storage: optional(string({
    check: (v) => `podflow has no storage extensions ("${v}"): set sending_queue::storage_dir to a directory instead`,
  })),
});
export type SendingQueueConfig = Infer<typeof sendingQueueSchema>;

export function validateQueue(c: SendingQueueConfig): Problem[] {
  const problems: Problem[] = [];
  if (c.storage_dir !== undefined && c.storage_dir.trim() === '') {
    problems.push({ path: ['sending_queue', 'storage_dir'], message: 'must be a directory path, not empty' });
  }
  if (c.storage_dir !== undefined && !c.enabled) {
    problems.push({ path: ['sending_queue', 'storage_dir'], message: 'needs sending_queue::enabled: true (a disabled queue keeps nothing to persist)' });
  }
  return problems;
}
