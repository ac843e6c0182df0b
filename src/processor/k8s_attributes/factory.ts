// Factory of the k8s_attributes processor (Collector alias: k8sattributes).

import type { ProcessorFactory } from '../../component/component.ts';
import { SIGNALS } from '../../component/component.ts';
import { k8sAttributesConfigSchema, validateK8sAttributesConfig, type K8sAttributesConfig } from './config.ts';
import { K8sAttributesProcessor } from './processor.ts';

export const k8sAttributesFactory: ProcessorFactory<K8sAttributesConfig> = {
  kind: 'processor',
  type: 'k8s_attributes',
  aliases: ['k8sattributes'],
  stability: 'alpha',
  description: 'Names both ends of every flow as Kubernetes pod, workload, namespace, node and Service from a compact API cache.',
  signals: SIGNALS,
  mutatesData: true,
  enrichesOnly: true,
  configSchema: k8sAttributesConfigSchema,
  validate: validateK8sAttributesConfig,
  create: (settings, config, next) => new K8sAttributesProcessor(settings, config, next),
};
