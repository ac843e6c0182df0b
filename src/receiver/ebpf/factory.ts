// Factory of the ebpf receiver (type "ebpf").

import type { ReceiverFactory } from '../../component/component.ts';
import { ebpfConfigSchema, validateEbpfConfig, type EbpfConfig } from './config.ts';
import { EbpfReceiver } from './ebpf-receiver.ts';

export const ebpfReceiverFactory: ReceiverFactory<EbpfConfig> = {
  kind: 'receiver',
  type: 'ebpf',
  stability: 'alpha',
  description: 'Every TCP and UDP connection of the node from eBPF (sock_ops, tcp tracepoints, cgroup_skb): exact bytes, no sampling.',
  signals: ['metrics', 'logs', 'traces'],
  configSchema: ebpfConfigSchema,
  validate: validateEbpfConfig,
  create: (settings, config, next) => new EbpfReceiver(settings, config, next),
};
