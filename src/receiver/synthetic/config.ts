// Config of the synthetic receiver. Every key has a default, so `synthetic:`
// alone gives a small four-namespace cluster emitting one batch a second.

import { duration, int, number, object, type Infer, type Problem } from '../../config/schema.ts';

export const syntheticConfigSchema = object({
  seed: int({ default: 1, min: 0, description: 'Seed of everything generated; the same seed gives the same flows.' }),
  namespaces: int({ default: 4, min: 1, max: 256, description: 'Application namespaces (kube-system with kube-dns comes on top).' }),
  workloads_per_namespace: int({ default: 3, min: 1, max: 256, description: 'Workloads in each namespace.' }),
  pods_per_workload: int({ default: 3, min: 1, max: 256, description: 'Pods of each workload.' }),
  interval: duration({ default: 1000, min: 10, description: 'How often a FlowBatch is emitted (the window it covers).' }),
  flows_per_interval: int({ default: 200, min: 0, max: 1_000_000, description: 'Long-lived client→server flows carrying traffic in each interval (each also has its reply edge).' }),
  connections_per_second: number({ default: 50, min: 0, max: 1_000_000, description: 'Short-lived TCP connections opened per second (churn).' }),
  zipf_exponent: number({ default: 1.1, min: 0, max: 10, description: 'Skew of the client→server pair choice; 0 is uniform.' }),
  udp_ratio: number({ default: 0.15, min: 0, max: 1, description: 'Share of the long-lived flows that are UDP (DNS to kube-dns).' }),
  ipv6_ratio: number({ default: 0, min: 0, max: 1, description: 'Share of flows over IPv6 (pods are dual-stack).' }),
  stop_after: int({ default: 0, min: 0, description: 'Emit this many intervals, then stop; 0 = forever.' }),
});

export type SyntheticConfig = Infer<typeof syntheticConfigSchema>;

/** Pod IPs are 10.244.<node>.<slot>: at most 256 nodes of 200 pods. */
export const MAX_PODS = 51_200;

export function validateSyntheticConfig(c: SyntheticConfig): Problem[] {
  const pods = c.namespaces * c.workloads_per_namespace * c.pods_per_workload;
  if (pods <= MAX_PODS) return [];
  return [{
    path: ['pods_per_workload'],
    message: `namespaces × workloads_per_namespace × pods_per_workload = ${pods} pods, above the maximum ${MAX_PODS}`,
  }];
}
