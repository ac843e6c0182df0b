// The Collector's memory_limiter keys, with its rules: check_interval > 0;
// either limit_mib or limit_percentage; the spike below the limit. The
// Collector's min_gc_interval_* keys tune Go's GC and are not accepted.

import { duration, int, object, type Infer, type Problem } from '../../config/schema.ts';

export const memoryLimiterConfigSchema = object({
  check_interval: duration({ default: 0, description: 'How often memory is measured; must be > 0 (the Collector recommends 1s).' }),
  limit_mib: int({ default: 0, min: 0, description: 'Hard limit of the memory held (V8 heap + ArrayBuffers) in MiB.' }),
  spike_limit_mib: int({ default: 0, min: 0, description: 'Headroom for a spike between checks; the soft limit is limit − spike. Default 20% of the limit.' }),
  limit_percentage: int({ default: 0, min: 0, max: 100, description: 'Hard limit as a percentage of the memory available (cgroup limit, else total memory).' }),
  spike_limit_percentage: int({ default: 0, min: 0, max: 100, description: 'Spike headroom as a percentage of the memory available.' }),
});
export type MemoryLimiterConfig = Infer<typeof memoryLimiterConfigSchema>;

export function validateMemoryLimiterConfig(c: MemoryLimiterConfig): Problem[] {
  const problems: Problem[] = [];
  if (c.check_interval <= 0) problems.push({ path: ['check_interval'], message: 'must be greater than zero (e.g. 1s)' });
  if (c.limit_mib === 0 && c.limit_percentage === 0) {
    problems.push({ path: ['limit_mib'], message: 'limit_mib or limit_percentage must be greater than zero' });
  }
  if (c.limit_mib > 0 && c.limit_percentage > 0) {
    problems.push({ path: ['limit_percentage'], message: 'set either limit_mib or limit_percentage, not both' });
  }
  if (c.limit_mib > 0 && c.spike_limit_mib >= c.limit_mib) {
    problems.push({ path: ['spike_limit_mib'], message: `must be smaller than limit_mib (${c.limit_mib})` });
  }
  if (c.limit_percentage > 0 && c.spike_limit_percentage >= c.limit_percentage) {
    problems.push({ path: ['spike_limit_percentage'], message: `must be smaller than limit_percentage (${c.limit_percentage})` });
  }
  return problems;
}

export interface Limits {
  hardBytes: number;
  softBytes: number;
}

/** The hard and soft limits in bytes, given the memory available to the process. */
export function resolveLimits(c: MemoryLimiterConfig, availableBytes: number): Limits {
  const MiB = 2 ** 20;
  const hard = c.limit_mib > 0 ? c.limit_mib * MiB : Math.floor((availableBytes * c.limit_percentage) / 100);
  const spike = c.limit_mib > 0
    ? (c.spike_limit_mib > 0 ? c.spike_limit_mib * MiB : Math.floor(hard / 5))
    : (c.spike_limit_percentage > 0 ? Math.floor((availableBytes * c.spike_limit_percentage) / 100) : Math.floor(hard / 5));
  return { hardBytes: hard, softBytes: hard - spike };
}
