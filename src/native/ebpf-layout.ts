// Byte layouts of the records the eBPF datapath shares with user space, as
// defined in bpf/include/pf_types.h. The addon reports the C compiler's sizes
// and offsets (layout()); test/receiver/ebpf/layout.test.ts checks this table
// against them, so a change on one side fails the build instead of decoding
// garbage.

export const PF_CONN = {
  size: 112,
  cookie: 0,
  start_ns: 8,
  established_ns: 16,
  end_ns: 24,
  bytes_acked: 32,
  bytes_received: 40,
  segs_out: 48,
  segs_in: 52,
  total_retrans: 56,
  srtt_us: 60,
  rtt_min_us: 64,
  resets: 68,
  local_addr: 72,
  remote_addr: 88,
  local_port: 104,
  remote_port: 106,
  family: 108,
  flags: 109,
} as const;

export const PF_UDP_KEY = {
  size: 40,
  local_addr: 0,
  remote_addr: 16,
  local_port: 32,
  remote_port: 34,
  family: 36,
  direction: 37,
} as const;

export const PF_UDP_VALUE = {
  size: 16,
  bytes: 0,
  packets: 8,
} as const;

/** One UDP map entry as the addon returns it: key then value. */
export const PF_UDP_ENTRY_SIZE = PF_UDP_KEY.size + PF_UDP_VALUE.size;

export const PF_CONSTANTS = {
  PF_CONN_CLIENT: 0x01,
  PF_CONN_ESTABLISHED: 0x02,
  PF_CONN_CLOSED: 0x04,
  PF_CONN_FAILED: 0x08,
  PF_CONN_ORPHANED: 0x10,
  PF_DIR_EGRESS: 0,
  PF_DIR_INGRESS: 1,
  PF_STAT_RINGBUF_LOST: 0,
  PF_STAT_CONN_MAP_FULL: 1,
  PF_STAT_UDP_INSERTS: 2,
  PF_STAT_UDP_UPDATE_FAILED: 3,
  PF_STAT_MAX: 4,
} as const;
