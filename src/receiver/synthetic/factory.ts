// Factory of the synthetic receiver (type "synthetic").

import type { ReceiverFactory } from '../../component/component.ts';
import { syntheticConfigSchema, validateSyntheticConfig, type SyntheticConfig } from './config.ts';
import { SyntheticReceiver } from './synthetic-receiver.ts';

export const syntheticReceiverFactory: ReceiverFactory<SyntheticConfig> = {
  kind: 'receiver',
  type: 'synthetic',
  stability: 'beta',
  description: 'Generates realistic, reproducible Kubernetes flows from a seed, for demos and benchmarks.',
  signals: ['metrics', 'logs', 'traces'],
  configSchema: syntheticConfigSchema,
  validate: validateSyntheticConfig,
  create: (settings, config, next) => new SyntheticReceiver(settings, config, next),
};
