// flow_aggregate settings.

import { duration, int, list, object, string, type Infer } from '../../config/schema.ts';

/**
 * The default grouping keeps who talks to whom and on which service port, and
 * drops what multiplies series without telling an operator more: addresses
 * (pods churn) and ephemeral client ports.
 */
export const DEFAULT_GROUP_BY: readonly string[] = [
  'source.k8s.namespace.name',
  'source.k8s.workload.name',
  'source.k8s.workload.kind',
  'destination.k8s.namespace.name',
  'destination.k8s.workload.name',
  'destination.k8s.workload.kind',
  'destination.k8s.service.name',
  'destination.port',
  'network.transport',
  'network.type',
  'flow.observer',
  // Only drop and DNS rows carry these (see the ebpf receiver); other rows group as before.
  'drop.reason',
  'dns.question.type',
  'dns.response_code',
  'dns.question.name',
];

export const configSchema = object({
  interval: duration({ default: 10_000, min: 100, description: 'How often the groups are emitted downstream (and reset).' }),
  group_by: list(string({ pattern: /^[A-Za-z0-9_.\-/]+$/ }), {
    default: [...DEFAULT_GROUP_BY],
    description: 'Attribute names whose values form a group; built-ins: source.address, destination.address, source.port, destination.port, network.transport, network.type, flow.observer.',
    check: (v) => {
      const dup = v.find((k, i) => v.indexOf(k) !== i);
      if (dup !== undefined) return `lists "${dup}" twice`;
      return v.length === 0 ? 'must list at least one attribute name' : undefined;
    },
  }),
  workers: int({ default: 1, min: 1, max: 64, description: 'Worker threads; rows are partitioned across them by group key hash.' }),
});

export type FlowAggregateConfig = Infer<typeof configSchema>;
