// Config of the ebpf receiver's DNS capture (receivers::ebpf::dns).

import { bool, duration, int, list, object, type Infer } from '../../../config/schema.ts';
import { queryNamesConfigSchema } from './query-names-config.ts';

/** The port bitmap in bpf/features/dns.bpf.c takes any number; 16 keeps configs sane. */
export const MAX_DNS_PORTS = 16;

export const dnsConfigSchema = object({
  enabled: bool({ default: true, description: 'Capture DNS lookups of the node\'s client sockets (UDP and TCP) and report network.flow.dns.requests and network.flow.dns.duration per client, server, query type and response code.' }),
  ports: list(int({ min: 1, max: 65_535 }), {
    default: [53],
    description: `Server ports that are DNS (a query is a packet a local socket sends to one of them). At most ${MAX_DNS_PORTS}.`,
    check: (ports) => {
      if (ports.length === 0) return 'must list at least one port (set enabled: false to turn DNS capture off)';
      if (ports.length > MAX_DNS_PORTS) return `lists ${ports.length} ports; at most ${MAX_DNS_PORTS}`;
      const seen = new Map<number, number>();
      const dups: string[] = [];
      ports.forEach((p, i) => {
        const first = seen.get(p);
        if (first === undefined) seen.set(p, i);
        else dups.push(`${p} (items ${first} and ${i})`);
      });
      return dups.length ? `lists a port more than once: ${dups.join(', ')}` : undefined;
    },
  }),
  timeout: duration({ default: 5_000, min: 1, description: 'A query unanswered this long is reported with dns.response_code=TIMEOUT (and no duration sample).' }),
  max_pending: int({ default: 16_384, min: 1, max: 16_777_216, description: 'Outstanding queries remembered; beyond it the oldest is dropped and counted in podflow_ebpf_dns_pending_evicted_total.' }),
  query_names: queryNamesConfigSchema,
});

export type DnsConfig = Infer<typeof dnsConfigSchema>;
