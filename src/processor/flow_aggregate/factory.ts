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
  // With one worker (the default) it moves the batch it is given to the
  // worker instead of copying the rows (FlowBatch.moveOut), leaving it empty;
  // with several it copies (the instance's mutatesData says which).
  mutatesData: true,
  configSchema,
  create: (settings, config, next) => new FlowAggregateProcessor(settings, config, next),
};
