// Config of the ebpf receiver. Every key has a default, so `ebpf:` alone
// watches every TCP and UDP socket of the node (below the cgroup2 root).

import { bool, duration, enumOf, int, object, optional, string, type Infer, type Problem } from '../../config/schema.ts';
import { dnsConfigSchema } from './dns/config.ts';
import { dropsConfigSchema } from './drops/config.ts';

const PAGE = 4096;

export const ebpfConfigSchema = object({
  collection_interval: duration({ default: 10_000, min: 10, description: 'How often one FlowBatch with the counter deltas since the previous one is emitted.' }),
  cgroup_path: string({ default: '', description: 'cgroup2 directory the programs attach to (they see every socket below it). Empty: /sys/fs/cgroup when it is cgroup2, else the cgroup2 mount in /proc/self/mountinfo (e.g. /sys/fs/cgroup/unified on hybrid hosts).' }),
  tp_btf: bool({ default: true, description: 'Refresh counters on application reads through a BTF-typed raw tracepoint when the kernel allows it (probed at start; plain loads instead of a probe read per counter). false: always the classic tracepoint.' }),
  include_loopback: bool({ default: false, description: 'Also report flows whose peer is 127.0.0.0/8 or ::1.' }),
  conn_map_size: int({ default: 65_536, min: 64, max: 16_777_216, description: 'Maximum concurrently open TCP sockets tracked; more are counted in podflow_ebpf_map_full_total{map="pf_conns"}.' }),
  udp_map_size: int({ default: 65_536, min: 64, max: 16_777_216, description: 'UDP 5-tuple×direction entries (LRU); evictions are counted in podflow_ebpf_map_full_total{map="pf_udp"}.' }),
  udp_idle_timeout: duration({ default: 60_000, min: 0, description: 'A UDP entry without traffic this long is removed from the map.' }),
  ring_buffer_size: int({ default: 4 * 1024 * 1024, min: PAGE, max: 1 << 30, description: 'Bytes of the ring buffer for closed-connection records (112 bytes each); a power of two, multiple of 4096.' }),
  nat: enumOf(['auto', 'off'] as const, { default: 'auto', description: 'auto: resolve every batch through the shared NAT join (conntrack) so a socket that named a Service VIP is reported with the backend as destination and the VIP as destination.original; without conntrack one warning is logged and flows are emitted unresolved. off: never.' }),
  nat_netns: optional(string({ description: 'Network namespace file whose conntrack table the NAT join reads (where the translation happens, e.g. /var/run/netns/x); unset: podflow\'s own.' })),
  dns: dnsConfigSchema,
  drops: dropsConfigSchema,
});

export type EbpfConfig = Infer<typeof ebpfConfigSchema>;

export function validateEbpfConfig(c: EbpfConfig): Problem[] {
  const problems: Problem[] = [];
  const n = c.ring_buffer_size;
  if ((n & (n - 1)) !== 0 || n % PAGE !== 0) {
    problems.push({ path: ['ring_buffer_size'], message: `value ${n} must be a power of two and a multiple of ${PAGE} (e.g. ${2 ** Math.ceil(Math.log2(Math.max(n, PAGE)))})` });
  }
  if (c.cgroup_path !== '' && !c.cgroup_path.startsWith('/')) {
    problems.push({ path: ['cgroup_path'], message: `invalid value "${c.cgroup_path}": must be an absolute path` });
  }
  if (c.nat_netns !== undefined && !c.nat_netns.startsWith('/')) {
    problems.push({ path: ['nat_netns'], message: `invalid value "${c.nat_netns}": must be an absolute path` });
  }
  return problems;
}
