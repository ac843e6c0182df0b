/* sock:inet_sock_set_state: connects that fail before ESTABLISHED.
 *
 * sock_ops asks for state callbacks only once a socket is established (each
 * callback is a program run on every later transition), so every SYN_SENT →
 * CLOSE goes through here:
 * - a socket sock_ops tracks since BPF_SOCK_OPS_TCP_CONNECT_CB (refused,
 *   reset, SYN timed out): its final counters are read from the socket and
 *   pushed to the ring buffer as a failed connection, the entry dropped;
 * - a socket sock_ops never saw: tcp_v4_connect / tcp_v6_connect set
 *   SYN_SENT, then inet_hash_connect finds no free local port (EADDRNOTAVAIL,
 *   ephemeral port exhaustion) and set CLOSE again before tcp_connect() runs
 *   the sock_ops callback; or pf_conns was full at connect (already counted as
 *   map_full, but the failure itself would be lost). Reported as a failed
 *   connection from the event's own fields, if the socket is below the
 *   attached cgroup.
 * Every other transition leaves at the first comparison. The connect latency
 * (SYN_SENT → ESTABLISHED) needs no hook here: pf_conn carries start_ns
 * (connect) and established_ns from sock_ops. */
#include "pf_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PF_IPPROTO_TCP 6
#define PF_TCP_SYN_SENT 2
#define PF_TCP_CLOSE 7

/* kernfs id of the cgroup sock_ops is attached to (set by the loader); only
 * sockets of that cgroup or below are reported, as sock_ops would. 0 = no check. */
volatile const __u64 pf_cgroup_id = 0;

/* Whether the socket's cgroup is pf_cgroup_id or one of its descendants. */
static __always_inline int pf_sk_in_scope(const struct sock *sk)
{
	if (!pf_cgroup_id)
		return 1;
	struct cgroup *cg = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	for (int i = 0; i < 64 && cg; i++) {
		if (BPF_CORE_READ(cg, kn, id) == pf_cgroup_id)
			return 1;
		struct cgroup_subsys_state *parent = BPF_CORE_READ(cg, self.parent);
		if (!parent)
			return 0;
		cg = BPF_CORE_READ(parent, cgroup);
	}
	return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int pf_inet_sock_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != PF_IPPROTO_TCP || ctx->oldstate != PF_TCP_SYN_SENT || ctx->newstate != PF_TCP_CLOSE)
		return 0;
	const struct sock *sk = ctx->skaddr;
	__u64 cookie = pf_sk_cookie(sk);
	if (cookie) {
		/* Tracked since connect(): sock_ops asks for state callbacks only
		 * once established, so this failure is reported here. */
		struct pf_conn *tracked = bpf_map_lookup_elem(&pf_conns, &cookie);
		if (tracked) {
			pf_refresh_from_sk(tracked, sk);
			pf_submit_final(tracked, cookie);
			return 0;
		}
	}
	/* Not tracked. One copy of the event: field loads at computed ctx
	 * offsets (the address arrays) are rejected by the verifier. */
	struct trace_event_raw_inet_sock_set_state ev;
	if (bpf_probe_read_kernel(&ev, sizeof(ev), ctx))
		return 0;
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	if (!pf_sk_in_scope(sk))
		return 0;

	struct pf_conn c = {};
	if (ev.family == PF_AF_INET) {
		__u32 s, d;
		__builtin_memcpy(&s, ev.saddr, 4);
		__builtin_memcpy(&d, ev.daddr, 4);
		pf_addr4(c.local_addr, s);
		pf_addr4(c.remote_addr, d);
	} else {
		__builtin_memcpy(c.local_addr, ev.saddr_v6, 16);
		__builtin_memcpy(c.remote_addr, ev.daddr_v6, 16);
	}
	if (!pf_include_loopback && pf_is_loopback(c.remote_addr))
		return 0;
	c.family = pf_family_of(c.remote_addr);
	c.local_port = ev.sport; /* host order in this event */
	c.remote_port = ev.dport;
	/* The socket may never have been given a cookie; a value with the top bit
	 * set never collides with a real cookie (a counter from 1) and keeps
	 * two failures of one interval apart in user space. */
	c.cookie = (1ULL << 63) | bpf_ktime_get_ns();
	c.start_ns = bpf_ktime_get_ns();
	c.end_ns = c.start_ns;
	c.flags = PF_CONN_CLIENT | PF_CONN_CLOSED | PF_CONN_FAILED;
	c.segs_out = BPF_CORE_READ(tp, segs_out);

	struct pf_conn *rec = bpf_ringbuf_reserve(&pf_events, sizeof(*rec), 0);
	if (!rec) {
		pf_stat_inc(PF_STAT_RINGBUF_LOST);
		return 0;
	}
	__builtin_memcpy(rec, &c, sizeof(*rec));
	bpf_ringbuf_submit(rec, 0);
	return 0;
}
