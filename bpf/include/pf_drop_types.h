/* Record layouts of the packet-drop feature (bpf/features/drops.bpf.c), shared
 * with the native addon (native/ebpf/src/drop-*) and the TypeScript decoder
 * (src/native/ebpf-drops.ts). Same rules as pf_types.h: 16-byte addresses
 * (IPv4 v4-mapped), host-order ports, explicit padding;
 * test/receiver/ebpf/drops/layout.test.ts compares every offset with the table
 * in TypeScript. */
#ifndef PF_DROP_TYPES_H
#define PF_DROP_TYPES_H

/* pf_drop_key.reason when the kernel's kfree_skb tracepoint has no reason
 * (before 5.17): reported as drop.reason "unknown". */
#define PF_DROP_REASON_UNKNOWN 0xffffffffu

/* pf_drop_value.tcp_flags: what the dropped TCP segments of a key carried, so
 * user space knows which end is the client (the server's port is kept). */
#define PF_DROP_TCP_SYN 0x01    /* a SYN without ACK: the source is the client */
#define PF_DROP_TCP_SYNACK 0x02 /* a SYN+ACK: the source is the server */

/* Key of `pf_drops`: one direction of one 5-tuple, per drop reason. ICMP has
 * ports 0. */
struct pf_drop_key {
	__u8 src_addr[16];
	__u8 dst_addr[16];
	__u32 reason;  /* enum skb_drop_reason value, or PF_DROP_REASON_UNKNOWN */
	__u16 src_port;
	__u16 dst_port;
	__u8 family;   /* 4 or 6 */
	__u8 protocol; /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 */
	__u8 rx;       /* 1: the packet had arrived on an interface (skb_iif set); 0: sent by this host */
	__u8 _pad;
};

/* Value of `pf_drops`: cumulative since the entry was created. */
struct pf_drop_value {
	__u64 packets;
	__u64 bytes;     /* skb->len at the drop */
	__u32 tcp_flags; /* PF_DROP_TCP_* seen */
	__u32 _pad;
};

/* Indexes of the `pf_drop_stats` per-CPU counter array. */
#define PF_DROP_STAT_INSERTS 0            /* entries created in pf_drops (evictions = inserts - entries read) */
#define PF_DROP_STAT_UPDATE_FAILED 1      /* pf_drops insert failed: the drop was not counted */
#define PF_DROP_STAT_UNATTRIBUTED_FULL 2  /* pf_drops_unattributed full: the drop was not counted */
#define PF_DROP_STAT_MAX 3

#endif
