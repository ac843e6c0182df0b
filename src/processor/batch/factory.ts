// The batch processor factory.

import type { ProcessorFactory } from '../../component/component.ts';
import { BatchProcessor } from './batch-processor.ts';
import { batchConfigSchema, validateBatchConfig, type BatchConfig } from './config.ts';

export const batchFactory: ProcessorFactory<BatchConfig> = {
  kind: 'processor',
  type: 'batch',
  stability: 'beta',
  description: 'Combines flow batches into larger ones by size and timeout (the Collector\'s batch processor).',
  signals: ['metrics', 'logs', 'traces'],
  // Rows are copied into the processor's own batch; the input is only read.
  mutatesData: false,
  configSchema: batchConfigSchema,
  validate: validateBatchConfig,
  create: (settings, config, next) => new BatchProcessor(settings, config, next),
};
