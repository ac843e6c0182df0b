// conntrack receiver: flows from netfilter conntrack (netlink events + dumps).

import type { ReceiverFactory } from '../../component/component.ts';
import type { Problem } from '../../config/schema.ts';
import { conntrackConfigSchema, type ConntrackConfig } from './config.ts';
import { ConntrackReceiver } from './conntrack-receiver.ts';

export const conntrackReceiverFactory: ReceiverFactory<ConntrackConfig> = {
  kind: 'receiver',
  type: 'conntrack',
  stability: 'alpha',
  description: 'Flows, bytes and packets per direction from netfilter conntrack, with NAT resolved (Service VIP → pod).',
  signals: ['metrics', 'logs', 'traces'],
  configSchema: conntrackConfigSchema,
  validate(config): Problem[] {
    const problems: Problem[] = [];
    if (new Set(config.attributes).size !== config.attributes.length) {
      problems.push({ path: ['attributes'], message: `lists an attribute twice: [${config.attributes.join(', ')}]` });
    }
    return problems;
  },
  create(settings, config, next) {
    return new ConntrackReceiver(settings, config, next);
  },
};
