// conntrack receiver settings (README.md lists them with their defaults).

import { bool, duration, enumOf, int, list, object, optional, string, type Infer } from '../../config/schema.ts';

export const CONNTRACK_ATTRIBUTES = ['zone', 'mark', 'tcp_state'] as const;

export const conntrackConfigSchema = object({
  collection_interval: duration({ default: 10_000, min: 100, description: 'How often a FlowBatch of counter deltas is emitted.' }),
  dump_interval: duration({ default: 10_000, min: 100, description: 'How often the table is dumped for the byte counters of live connections.' }),
  socket_buffer_size: int({ default: 16 << 20, min: 4096, max: 1 << 30, description: 'Receive buffer of the event socket, bytes.' }),
  batch_size: int({ default: 4096, min: 1, max: 1 << 20, description: 'Records per batch handed from the native thread to JS.' }),
  set_acct_sysctl: bool({ default: true, description: 'Set net.netfilter.nf_conntrack_acct=1 when it is off.' }),
  netns: optional(string({ description: 'A network namespace file (e.g. /var/run/netns/x) to read instead of podflow\'s own.' })),
  attributes: list(enumOf(CONNTRACK_ATTRIBUTES), { default: ['zone'], description: 'Extra attribute columns: zone, mark, tcp_state.' }),
});

export type ConntrackConfig = Infer<typeof conntrackConfigSchema>;
