// The memory_limiter processor factory.

import type { ProcessorFactory } from '../../component/component.ts';
import { memoryLimiterConfigSchema, validateMemoryLimiterConfig, type MemoryLimiterConfig } from './config.ts';
import { MemoryLimiterProcessor } from './memory-limiter.ts';

export const memoryLimiterFactory: ProcessorFactory<MemoryLimiterConfig> = {
  kind: 'processor',
  type: 'memory_limiter',
  stability: 'beta',
  description: 'Refuses flows while the memory podflow holds is above its soft limit, so receivers drop (and count) instead of the process running out of memory.',
  signals: ['metrics', 'logs', 'traces'],
  mutatesData: false,
  configSchema: memoryLimiterConfigSchema,
  validate: validateMemoryLimiterConfig,
  create: (settings, config, next) => new MemoryLimiterProcessor(settings, config, next),
};
