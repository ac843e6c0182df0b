/* The stateless floor of a sock_ops datapath, for bench/datapath.bench.ts.
 *
 * What sock_ops costs per connection when it keeps no per-socket state at all:
 * it asks for state callbacks once a socket is established, and at CLOSE
 * writes one record from the callback's own context (the same struct pf_conn,
 * filled by the same pf_conn_fill.h as bpf/sockops.bpf.c's final record) to a
 * ring buffer.
 * No map insert at connect or accept, no look-up, no delete. It cannot do
 * what the receiver must (live counters of open connections for the periodic
 * read, connect latency, which side is the client, resets), so it is not a
 * datapath: it bounds from below what any sock_ops datapath that reports
 * every connection costs on the machine the bench runs on.
 *
 * Nothing reads the ring buffer: a full one makes the reservation fail, and
 * that is counted so the bench can tell a round whose records did not fit. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "pf_conn_fill.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Final records (struct pf_conn); never consumed. 4 MiB, the receiver's default. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} floor_events SEC(".maps");

/* key 0: records that did not fit in floor_events. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} floor_lost SEC(".maps");

SEC("sockops")
int pf_floor_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
		break;
	case BPF_SOCK_OPS_STATE_CB: {
		if (skops->args[1] != BPF_TCP_CLOSE)
			break;
		struct pf_conn *c = bpf_ringbuf_reserve(&floor_events, sizeof(*c), 0);
		if (!c) {
			__u32 k = 0;
			__u64 *lost = bpf_map_lookup_elem(&floor_lost, &k);
			if (lost)
				__sync_fetch_and_add(lost, 1);
			break;
		}
		__builtin_memset(c, 0, sizeof(*c));
		c->cookie = bpf_get_socket_cookie(skops);
		c->end_ns = bpf_ktime_get_ns();
		c->flags = PF_CONN_ESTABLISHED | PF_CONN_CLOSED;
		pf_fill_ends(c, skops);
		pf_refresh_from_ops(c, skops);
		bpf_ringbuf_submit(c, BPF_RB_NO_WAKEUP);
		break;
	}
	}
	return 1;
}
