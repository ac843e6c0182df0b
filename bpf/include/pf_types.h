/* Record layouts shared by the BPF programs (bpf/), the native addon
 * (native/ebpf/) and the TypeScript decoder (src/native/ebpf-layout.ts).
 *
 * Defined once here; test/receiver/ebpf/layout.test.ts compiles a probe against
 * this header and checks every size and offset against the TypeScript table, so
 * the three sides cannot drift. Every struct is naturally aligned with explicit
 * padding: no compiler-dependent holes.
 *
 * Addresses are always 16 bytes: IPv6 as is, IPv4 as the v4-mapped form
 * ::ffff:a.b.c.d (also what a dual-stack socket holds for an IPv4 peer), with
 * `family` saying which one the connection really is. Ports are host order.
 */
#ifndef PF_TYPES_H
#define PF_TYPES_H

/* pf_conn.flags */
#define PF_CONN_CLIENT 0x01      /* the local socket opened the connection (connect()) */
#define PF_CONN_ESTABLISHED 0x02 /* reached ESTABLISHED */
#define PF_CONN_CLOSED 0x04      /* final record: the socket reached CLOSE */
#define PF_CONN_FAILED 0x08      /* closed without ever being established */
#define PF_CONN_ORPHANED 0x10    /* final record could not go to the ring buffer; the map keeps it */

/* One TCP socket seen by sock_ops, keyed by its socket cookie.
 * Map value of `pf_conns` and record of the `pf_events` ring buffer. */
struct pf_conn {
	__u64 cookie;         /* socket cookie (unique per socket for the boot) */
	__u64 start_ns;       /* bpf_ktime_get_ns() at connect() or accept */
	__u64 established_ns; /* when it reached ESTABLISHED, 0 = never */
	__u64 end_ns;         /* when it reached CLOSE, 0 = open */
	__u64 bytes_acked;    /* tcp_sock.bytes_acked: what the local end sent and the peer acked */
	__u64 bytes_received; /* tcp_sock.bytes_received: what the local end received */
	__u32 segs_out;       /* segments sent, incl. retransmits and pure ACKs */
	__u32 segs_in;        /* segments received */
	__u32 total_retrans;  /* segments the local end retransmitted */
	__u32 srtt_us;        /* smoothed RTT in microseconds (unscaled) */
	__u32 rtt_min_us;     /* minimum RTT in microseconds */
	__u32 resets;         /* RSTs sent or received on this socket */
	__u8 local_addr[16];
	__u8 remote_addr[16];
	__u16 local_port;
	__u16 remote_port;
	__u8 family; /* 4 or 6 */
	__u8 flags;  /* PF_CONN_* */
	__u8 _pad[2];
};

/* pf_udp_key.direction */
#define PF_DIR_EGRESS 0  /* local → remote: the local socket sent it */
#define PF_DIR_INGRESS 1 /* remote → local: the local socket received it */

/* Key of `pf_udp`: one direction of one UDP 5-tuple seen at a local socket. */
struct pf_udp_key {
	__u8 local_addr[16];
	__u8 remote_addr[16];
	__u16 local_port;
	__u16 remote_port;
	__u8 family;
	__u8 direction; /* PF_DIR_* */
	__u8 _pad[2];
};

/* Value of `pf_udp`: cumulative since the entry was created. */
struct pf_udp_value {
	__u64 bytes;   /* UDP payload bytes */
	__u64 packets; /* datagrams */
};

/* Indexes of the `pf_stats` per-CPU counter array. */
#define PF_STAT_RINGBUF_LOST 0 /* final records that did not fit the ring buffer */
#define PF_STAT_CONN_MAP_FULL 1 /* connections not tracked: pf_conns was full */
#define PF_STAT_UDP_INSERTS 2   /* entries created in pf_udp (evictions = inserts - deletes - present) */
#define PF_STAT_UDP_UPDATE_FAILED 3 /* pf_udp insert failed (datagram not counted) */
#define PF_STAT_MAX 4

#endif
