// Factory of the otlp receiver (type "otlp", the Collector's name; the
// exporter of the same alias is another kind, so the names do not clash).

import type { ListenResource, ReceiverFactory } from '../../component/component.ts';
import { splitHostPort } from '../../config/host-port.ts';
import { otlpReceiverConfigSchema, validateOtlpReceiverConfig, type OtlpReceiverConfig } from './config.ts';
import { OtlpReceiver } from './otlp-receiver.ts';

export const otlpReceiverFactory: ReceiverFactory<OtlpReceiverConfig> = {
  kind: 'receiver',
  type: 'otlp',
  stability: 'alpha',
  description: 'Receives the flow metrics, flow logs and connection spans of podflow agents over OTLP gRPC and HTTP and turns them back into flows (gateway mode).',
  signals: ['metrics', 'logs', 'traces'],
  configSchema: otlpReceiverConfigSchema,
  validate: validateOtlpReceiverConfig,
  resources: (c) => {
    const out: ListenResource[] = [];
    for (const proto of ['grpc', 'http'] as const) {
      const p = c.protocols[proto];
      if (!p) continue;
      const { host, port } = splitHostPort(p.endpoint);
      out.push({ kind: 'listen', host, port, path: ['protocols', proto, 'endpoint'] });
    }
    return out;
  },
  create: (settings, config, next) => new OtlpReceiver(settings, config, next),
};
