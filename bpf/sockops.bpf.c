/* sock_ops on the cgroup2 root: the life of every TCP socket.
 *
 * connect() / accept create a pf_conn keyed by the socket cookie. Once
 * established, the socket asks the kernel for state and RTT callbacks (that
 * socket only). RTT callbacks (about once per round trip: the kernel calls
 * them when snd_una passes rtt_seq) keep the sender-side counters fresh for
 * the periodic map reads, together with the tracepoints of tcp_events.bpf.c;
 * the transition to CLOSE pushes the final counters to the ring buffer, so a
 * connection shorter than the polling interval is still reported, then drops
 * the entry. Only sock_ops has the tcp_sock counters in its context without
 * probe reads, so it does the close of every established socket.
 *
 * Cost per connection (both ends on the node, bench/datapath.bench.ts): the
 * kernel runs this program ~18 times; six of them (TIMEOUT_INIT, RWND_INIT,
 * NEEDS_ECN) cannot be avoided and do nothing here, the state callbacks are
 * asked for only once established (the SYN_SENT → ESTABLISHED one would be
 * wasted), and each socket costs one map insert: an accepted socket is
 * inserted complete instead of looked up, inserted and looked up again. A
 * connect() that fails before ESTABLISHED (SYN_SENT → CLOSE: refused, reset,
 * timed out) is a failed connection, reported by sock_state.bpf.c. */
#include "pf_common.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Asked for at ESTABLISHED, not at connect(): the state callback runs on
 * every later transition of the socket (each one a program run), and the
 * SYN_SENT → ESTABLISHED one would be wasted; a connect that fails before
 * ESTABLISHED is reported by the sock:inet_sock_set_state tracepoint. */
#define PF_ESTABLISHED_CB_FLAGS (BPF_SOCK_OPS_STATE_CB_FLAG | BPF_SOCK_OPS_RTT_CB_FLAG)

/* The helper SETS the socket's callback flags: OR in what the socket already
 * asks for, or another sock_ops user on the node (a CNI, a second podflow, a
 * test's agent) loses its callbacks, and its close records with them. */
static __always_inline void pf_want_callbacks(struct bpf_sock_ops *skops)
{
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | PF_ESTABLISHED_CB_FLAGS);
}

/* Starts tracking a socket; 0 when it is in the map (or already was). */
static __always_inline long pf_insert(struct pf_conn *c)
{
	if (!pf_include_loopback && pf_is_loopback(c->remote_addr))
		return -1;
	long err = bpf_map_update_elem(&pf_conns, &c->cookie, c, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST */) {
		pf_stat_inc(PF_STAT_CONN_MAP_FULL);
		return err;
	}
	return 0;
}

static __always_inline void pf_closed(struct bpf_sock_ops *skops)
{
	__u64 cookie = bpf_get_socket_cookie(skops);
	struct pf_conn *c = bpf_map_lookup_elem(&pf_conns, &cookie);
	if (!c)
		return;
	pf_refresh_from_ops(c, skops);
	pf_submit_final(c, cookie);
}

SEC("sockops")
int pf_sockops(struct bpf_sock_ops *skops)
{
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB: {
		struct pf_conn c = {};
		c.cookie = bpf_get_socket_cookie(skops);
		c.start_ns = bpf_ktime_get_ns();
		c.flags = PF_CONN_CLIENT;
		pf_fill_ends(&c, skops);
		pf_insert(&c);
		break;
	}
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB: {
		/* Missing here: filtered or not tracked at connect() (and counted
		 * then); tracking it now would count it twice. */
		__u64 cookie = bpf_get_socket_cookie(skops);
		struct pf_conn *c = bpf_map_lookup_elem(&pf_conns, &cookie);
		if (!c)
			break;
		c->flags |= PF_CONN_ESTABLISHED;
		c->established_ns = bpf_ktime_get_ns();
		pf_refresh_from_ops(c, skops);
		pf_want_callbacks(skops);
		break;
	}
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB: {
		/* An accepted socket is new to the map: one insert, no look-up. */
		struct pf_conn c = {};
		c.cookie = bpf_get_socket_cookie(skops);
		c.start_ns = bpf_ktime_get_ns();
		c.established_ns = c.start_ns;
		c.flags = PF_CONN_ESTABLISHED;
		pf_fill_ends(&c, skops);
		pf_refresh_from_ops(&c, skops);
		if (pf_insert(&c) == 0)
			pf_want_callbacks(skops);
		break;
	}
	case BPF_SOCK_OPS_STATE_CB:
		if (skops->args[1] == BPF_TCP_CLOSE)
			pf_closed(skops);
		break;
	case BPF_SOCK_OPS_RTT_CB: {
		/* The ACK that completes a close: the local FIN and all data before
		 * it are acked, so nothing the local end sent can change any more and
		 * the final record follows at CLOSE (LAST_ACK and CLOSING at once;
		 * FIN_WAIT1 once the peer's FIN comes). Skipping the look-up saves
		 * about a third of a short connection's callbacks' map work
		 * (bench/datapath.bench.ts). What this one ACK acked shows when the
		 * socket closes, or earlier if the local end reads (tcp_events). */
		__u32 st = skops->state;
		if ((st == BPF_TCP_LAST_ACK || st == BPF_TCP_CLOSING || st == BPF_TCP_FIN_WAIT1)
		    && skops->snd_una == skops->snd_nxt)
			break;
		__u64 cookie = bpf_get_socket_cookie(skops);
		struct pf_conn *c = bpf_map_lookup_elem(&pf_conns, &cookie);
		if (c)
			pf_refresh_from_ops(c, skops);
		break;
	}
	}
	return 1;
}
