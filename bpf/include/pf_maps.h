/* Maps shared by every hook family. Each .bpf.c includes this header; the maps
 * are __weak so that `bpftool gen object` links the objects into one with a
 * single instance of each map. Sizes here are defaults: the addon sets
 * max_entries from the receiver's config before loading. */
#ifndef PF_MAPS_H
#define PF_MAPS_H

#include "pf_types.h"

/* Live TCP sockets. key: socket cookie (__u64); value: struct pf_conn.
 * Created by sock_ops at connect()/accept, refreshed by sock_ops callbacks and
 * the tcp tracepoints, deleted when the socket closes (after its final record
 * went to pf_events; if that failed the entry stays, flagged ORPHANED|CLOSED,
 * and user space reports and deletes it). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct pf_conn);
} pf_conns SEC(".maps") __weak;

/* Final records of closed and failed connections (struct pf_conn), so that a
 * connection shorter than the polling interval is never lost. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} pf_events SEC(".maps") __weak;

/* UDP traffic. key: struct pf_udp_key; value: struct pf_udp_value (cumulative).
 * LRU so that a flood of 5-tuples evicts old ones rather than failing; user
 * space computes deltas and counts evictions (see PF_STAT_UDP_INSERTS). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct pf_udp_key);
	__type(value, struct pf_udp_value);
} pf_udp SEC(".maps") __weak;

/* Drop and bookkeeping counters. key: PF_STAT_* (__u32); value: __u64 per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PF_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} pf_stats SEC(".maps") __weak;

static __always_inline void pf_stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&pf_stats, &idx);
	if (v)
		*v += 1;
}

#endif
