/* sock_ops on the cgroup2 root: the life of every TCP socket.
 *
 * connect() / accept create a pf_conn keyed by the socket cookie and ask the
 * kernel for state and RTT callbacks on that socket only. RTT callbacks (about
 * once per round trip: the kernel calls them when snd_una passes rtt_seq) keep
 * the sender-side counters fresh for the periodic map reads, together with the
 * tracepoints of tcp_events.bpf.c; the transition to CLOSE pushes the final counters to
 * the ring buffer, so a connection shorter than the polling interval is still
 * reported, then drops the entry. A socket that closes without ever reaching
 * ESTABLISHED (SYN_SENT → CLOSE: refused, reset, timed out) is a failed
 * connection. The same transitions are visible in sock:inet_sock_set_state,
 * but only sock_ops has the tcp_sock counters in its context without probe
 * reads, so this one hook does both. */
#include "pf_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline void pf_fill_ends(struct pf_conn *c, struct bpf_sock_ops *skops)
{
	if (skops->family == PF_AF_INET) {
		pf_addr4(c->local_addr, skops->local_ip4);
		pf_addr4(c->remote_addr, skops->remote_ip4);
	} else {
		__u32 w[4];
		w[0] = skops->local_ip6[0];
		w[1] = skops->local_ip6[1];
		w[2] = skops->local_ip6[2];
		w[3] = skops->local_ip6[3];
		pf_addr6(c->local_addr, w);
		w[0] = skops->remote_ip6[0];
		w[1] = skops->remote_ip6[1];
		w[2] = skops->remote_ip6[2];
		w[3] = skops->remote_ip6[3];
		pf_addr6(c->remote_addr, w);
	}
	c->local_port = skops->local_port;          /* host order */
	c->remote_port = bpf_ntohl(skops->remote_port); /* network order in the upper half */
	c->family = pf_family_of(c->remote_addr);
}

static __always_inline void pf_refresh_from_ops(struct pf_conn *c, struct bpf_sock_ops *skops)
{
	c->bytes_acked = skops->bytes_acked;
	c->bytes_received = skops->bytes_received;
	c->segs_out = skops->segs_out;
	c->segs_in = skops->segs_in;
	c->total_retrans = skops->total_retrans;
	c->srtt_us = skops->srtt_us >> 3;
	c->rtt_min_us = skops->rtt_min;
}

/* Starts tracking this socket; returns the map entry or NULL (filtered or map full). */
static __always_inline struct pf_conn *pf_track(struct bpf_sock_ops *skops, __u64 cookie, __u8 flags)
{
	struct pf_conn c = {};
	c.cookie = cookie;
	c.start_ns = bpf_ktime_get_ns();
	c.flags = flags;
	pf_fill_ends(&c, skops);
	if (!pf_include_loopback && pf_is_loopback(c.remote_addr))
		return NULL;
	long err = bpf_map_update_elem(&pf_conns, &cookie, &c, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST */) {
		pf_stat_inc(PF_STAT_CONN_MAP_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&pf_conns, &cookie);
}

static __always_inline void pf_established(struct bpf_sock_ops *skops, __u8 client)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct pf_conn *c = bpf_map_lookup_elem(&pf_conns, &cookie);
	/* An active socket missing here was filtered or not tracked at connect()
	 * (and counted then): trying again would count it twice. */
	if (!c && !client)
		c = pf_track(skops, cookie, client);
	if (!c)
		return;
	c->flags |= PF_CONN_ESTABLISHED;
	c->established_ns = bpf_ktime_get_ns();
	pf_refresh_from_ops(c, skops);
	bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_STATE_CB_FLAG | BPF_SOCK_OPS_RTT_CB_FLAG);
}

static __always_inline void pf_closed(struct bpf_sock_ops *skops)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct pf_conn *c = bpf_map_lookup_elem(&pf_conns, &cookie);
	if (!c)
		return;
	pf_refresh_from_ops(c, skops);
	c->end_ns = bpf_ktime_get_ns();
	c->flags |= PF_CONN_CLOSED;
	if (!(c->flags & PF_CONN_ESTABLISHED))
		c->flags |= PF_CONN_FAILED;
	struct pf_conn *ev = bpf_ringbuf_reserve(&pf_events, sizeof(*ev), 0);
	if (!ev) {
		/* Keep the final counters in the map; user space reports and deletes it. */
		c->flags |= PF_CONN_ORPHANED;
		pf_stat_inc(PF_STAT_RINGBUF_LOST);
		return;
	}
	__builtin_memcpy(ev, c, sizeof(*ev));
	__u64 pending = bpf_ringbuf_query(&pf_events, BPF_RB_AVAIL_DATA);
	bpf_ringbuf_submit(ev, pending >= pf_ringbuf_wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	bpf_map_delete_elem(&pf_conns, &cookie);
}

SEC("sockops")
int pf_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB: {
		__u64 cookie = bpf_get_socket_cookie(skops);
		if (pf_track(skops, cookie, PF_CONN_CLIENT))
			bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_STATE_CB_FLAG);
		break;
	}
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		pf_established(skops, PF_CONN_CLIENT);
		break;
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		pf_established(skops, 0);
		break;
	case BPF_SOCK_OPS_RTT_CB: {
		__u64 cookie = bpf_get_socket_cookie(skops);
		struct pf_conn *c = bpf_map_lookup_elem(&pf_conns, &cookie);
		if (c)
			pf_refresh_from_ops(c, skops);
		break;
	}
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] == BPF_TCP_CLOSE)
			pf_closed(skops);
		break;
	}
	return 1;
}
