// The filter processor factory.

import type { ProcessorFactory } from '../../component/component.ts';
import { configSchema, type FilterConfig } from './config.ts';
import { FilterProcessor } from './filter-processor.ts';

export const filterFactory: ProcessorFactory<FilterConfig> = {
  kind: 'processor',
  type: 'filter',
  stability: 'alpha',
  description: 'Keeps or drops flows by attribute (strict or regexp), by CIDR and by namespace.',
  signals: ['metrics', 'logs', 'traces'],
  // Kept rows are copied into a new batch; the input is never written.
  mutatesData: false,
  configSchema,
  create: (settings, config, next) => new FilterProcessor(settings, config, next),
};
