/* Helpers shared by the hook families: load-time switches, address handling,
 * and refreshing a pf_conn from a kernel tcp_sock (CO-RE); filling one from a
 * sock_ops context is in pf_conn_fill.h. */
#ifndef PF_COMMON_H
#define PF_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "pf_maps.h"
#include "pf_addr.h"
#include "pf_conn_fill.h"

/* Set by the loader before load (skeleton rodata); __weak: one per linked object. */
volatile const __u8 pf_include_loopback __weak = 0;
/* Ring-buffer fill level (bytes) above which a submit wakes the poll thread;
 * below it records wait for the next timed poll, so a connection burst costs
 * one wake-up per poll period instead of one per record. */
volatile const __u64 pf_ringbuf_wakeup_bytes __weak = 1 << 20;

/* Copies the live counters of a kernel socket into `c` (tracepoint context,
 * where the socket is only a pointer: read with CO-RE probe reads). */
static __always_inline void pf_refresh_from_sk(struct pf_conn *c, const struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
#define PF_READ_CORE(field) BPF_CORE_READ(tp, field)
	PF_COPY_LIVE_COUNTERS(c, PF_READ_CORE);
#undef PF_READ_CORE
}

/* The socket cookie of a kernel socket, 0 when none was ever assigned (then
 * sock_ops never saw it and there is nothing to update). */
static __always_inline __u64 pf_sk_cookie(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
}

/* Marks a tracked socket closed and pushes its final record to the ring
 * buffer, then drops the entry. When the ring buffer is full the entry stays,
 * flagged ORPHANED, and user space reports and deletes it. */
static __always_inline void pf_submit_final(struct pf_conn *c, __u64 cookie)
{
	c->end_ns = bpf_ktime_get_ns();
	c->flags |= PF_CONN_CLOSED;
	if (!(c->flags & PF_CONN_ESTABLISHED))
		c->flags |= PF_CONN_FAILED;
	struct pf_conn *ev = bpf_ringbuf_reserve(&pf_events, sizeof(*ev), 0);
	if (!ev) {
		c->flags |= PF_CONN_ORPHANED;
		pf_stat_inc(PF_STAT_RINGBUF_LOST);
		return;
	}
	__builtin_memcpy(ev, c, sizeof(*ev));
	__u64 pending = bpf_ringbuf_query(&pf_events, BPF_RB_AVAIL_DATA);
	bpf_ringbuf_submit(ev, pending >= pf_ringbuf_wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	bpf_map_delete_elem(&pf_conns, &cookie);
}

#endif
