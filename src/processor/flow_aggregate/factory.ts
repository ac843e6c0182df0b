// The flow_aggregate processor factory.

import type { ProcessorFactory } from '../../component/component.ts';
import { configSchema, type FlowAggregateConfig } from './config.ts';
import { FlowAggregateProcessor } from './flow-aggregate-processor.ts';

export const flowAggregateFactory: ProcessorFactory<FlowAggregateConfig> = {
  kind: 'processor',
  type: 'flow_aggregate',
  stability: 'alpha',
  description: 'Sums flows per group (workload, namespace, port, ...) over an interval on worker threads.',
  signals: ['metrics'],
  // It copies what it keeps and never writes to the batch it is given.
  mutatesData: false,
  configSchema,
  create: (settings, config, next) => new FlowAggregateProcessor(settings, config, next),
};
