/* tcp tracepoints: counters that change between sock_ops callbacks.
 *
 * - tcp_rcv_space_adjust fires when the application reads from a socket, after
 *   the data was counted in bytes_received: it keeps the receive side fresh (RTT
 *   callbacks only follow what the local end sends, once per round trip).
 * - tcp_retransmit_skb refreshes total_retrans as loss happens.
 * - tcp_send_reset / tcp_receive_reset count RSTs per socket.
 * All only update sockets sock_ops already tracks (looked up by cookie). */
#include "pf_common.h"
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Older kernels (before 6.10) use one generic sk+skb event for both
 * tcp_retransmit_skb and tcp_send_reset; CO-RE picks the layout at load time. */
struct trace_event_raw_tcp_event_sk_skb___old {
	const void *skaddr;
} __attribute__((preserve_access_index));

/* A probe read rather than a ctx load: the compiler may merge the two branches
 * into ctx pointer arithmetic, which the verifier rejects. */
#define PF_SK_OF(ctx, new_type)                                                              \
	(bpf_core_type_exists(struct new_type)                                               \
		 ? (const struct sock *)BPF_CORE_READ((struct new_type *)(ctx), skaddr)       \
		 : (const struct sock *)BPF_CORE_READ(                                        \
			   (struct trace_event_raw_tcp_event_sk_skb___old *)(ctx), skaddr))

static __always_inline struct pf_conn *pf_lookup_sk(const struct sock *sk)
{
	if (!sk)
		return NULL;
	__u64 cookie = pf_sk_cookie(sk);
	if (!cookie)
		return NULL;
	return bpf_map_lookup_elem(&pf_conns, &cookie);
}

/* tcp_rcv_space_adjust fires after each received skb an application read
 * copies out (tcp_recvmsg, splice, zero-copy): a read of 128 KiB fires it from
 * a few times (GRO-merged skbs, as between namespaces here) to ~90 times
 * (MSS-sized ones). Only a copy that leaves nothing unread (copied_seq reached
 * rcv_nxt) refreshes the record: the copies before it within the same read
 * would be overwritten at once, and a read that leaves data queued is followed
 * by another. This keeps the last read of a burst (the trailing edge the live
 * counters need) and skips ~86% of the map look-ups of a bulk receiver
 * (iperf3 between namespaces). A reader that stops with data still queued
 * shows it at its next full read, its next RTT callback, or its close.
 *
 * All counters are refreshed, not only the receive side: sock_ops RTT
 * callbacks follow ACKs that carry an RTT sample, so the last ACKs of a burst
 * reach the map only through another event, and an application that sent and
 * now reads the answer is that event. */

SEC("tracepoint/tcp/tcp_rcv_space_adjust")
int pf_tcp_rcv_space_adjust(struct trace_event_raw_tcp_event_sk *ctx)
{
	/* The cookie comes from the event itself where the kernel provides it. */
	const struct sock *sk = ctx->skaddr;
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	if (BPF_CORE_READ(tp, copied_seq) != BPF_CORE_READ(tp, rcv_nxt))
		return 0;
	__u64 cookie = bpf_core_field_exists(ctx->sock_cookie) ? ctx->sock_cookie : pf_sk_cookie(sk);
	struct pf_conn *c = bpf_map_lookup_elem(&pf_conns, &cookie);
	if (c)
		pf_refresh_from_sk(c, sk);
	return 0;
}

/* The same refresh as a BTF-typed raw tracepoint (5.5+), used when the
 * kernel allows it (the loader probes; see feature-probe.cc): the socket is a
 * typed pointer, so the cookie and the counters are plain loads instead of a
 * CO-RE probe-read helper call each. This hook runs for every received skb
 * every application reads, so it is most of what the datapath costs per byte
 * received (bench/datapath.bench.ts: ~400 ns a run as a classic tracepoint,
 * ~210 as tp_btf, ~90 when the read leaves data unread). */
SEC("tp_btf/tcp_rcv_space_adjust")
int BPF_PROG(pf_tcp_rcv_space_adjust_btf, struct sock *sk)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	if (!tp || tp->copied_seq != tp->rcv_nxt)
		return 0;
	__u64 cookie = sk->__sk_common.skc_cookie.counter;
	if (!cookie)
		return 0;
	struct pf_conn *c = bpf_map_lookup_elem(&pf_conns, &cookie);
	if (!c)
		return 0;
#define PF_READ_TYPED(field) tp->field
	PF_COPY_LIVE_COUNTERS(c, PF_READ_TYPED);
#undef PF_READ_TYPED
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int pf_tcp_retransmit_skb(void *ctx)
{
	const struct sock *sk = PF_SK_OF(ctx, trace_event_raw_tcp_retransmit_skb);
	struct pf_conn *c = pf_lookup_sk(sk);
	if (c)
		pf_refresh_from_sk(c, sk);
	return 0;
}

SEC("tracepoint/tcp/tcp_receive_reset")
int pf_tcp_receive_reset(struct trace_event_raw_tcp_event_sk *ctx)
{
	const struct sock *sk = ctx->skaddr;
	struct pf_conn *c = pf_lookup_sk(sk);
	if (c)
		__sync_fetch_and_add(&c->resets, 1);
	return 0;
}

SEC("tracepoint/tcp/tcp_send_reset")
int pf_tcp_send_reset(void *ctx)
{
	const struct sock *sk = PF_SK_OF(ctx, trace_event_raw_tcp_send_reset);
	struct pf_conn *c = pf_lookup_sk(sk);
	if (c)
		__sync_fetch_and_add(&c->resets, 1);
	return 0;
}
