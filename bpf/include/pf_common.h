/* Helpers shared by the hook families: load-time switches, address handling,
 * and refreshing a pf_conn from a kernel tcp_sock (CO-RE). */
#ifndef PF_COMMON_H
#define PF_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "pf_maps.h"

#define PF_AF_INET 2
#define PF_AF_INET6 10

/* Set by the loader before load (skeleton rodata); __weak: one per linked object. */
volatile const __u8 pf_include_loopback __weak = 0;
/* Ring-buffer fill level (bytes) above which a submit wakes the poll thread;
 * below it records wait for the next timed poll, so a connection burst costs
 * one wake-up per poll period instead of one per record. */
volatile const __u64 pf_ringbuf_wakeup_bytes __weak = 1 << 20;

static __always_inline void pf_addr4(__u8 out[16], __u32 be_addr)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &be_addr, 4);
}

static __always_inline void pf_addr6(__u8 out[16], const __u32 be_words[4])
{
	__builtin_memcpy(out, be_words, 16);
}

/* 4 when the 16-byte address is v4-mapped (also for a dual-stack socket). */
static __always_inline __u8 pf_family_of(const __u8 a[16])
{
	__u64 hi, mid;
	__builtin_memcpy(&hi, a, 8);
	__builtin_memcpy(&mid, a + 8, 4);
	return (hi == 0 && (__u32)mid == bpf_htonl(0x0000ffff)) ? 4 : 6;
}

static __always_inline int pf_is_loopback(const __u8 a[16])
{
	if (pf_family_of(a) == 4)
		return a[12] == 127;
	__u64 hi, lo;
	__builtin_memcpy(&hi, a, 8);
	__builtin_memcpy(&lo, a + 8, 8);
	return hi == 0 && lo == bpf_cpu_to_be64(1);
}

/* Copies the live counters of a kernel socket into `c` (tracepoint context,
 * where the socket is only a pointer: read with CO-RE probe reads). */
static __always_inline void pf_refresh_from_sk(struct pf_conn *c, const struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	c->bytes_acked = BPF_CORE_READ(tp, bytes_acked);
	c->bytes_received = BPF_CORE_READ(tp, bytes_received);
	c->segs_out = BPF_CORE_READ(tp, segs_out);
	c->segs_in = BPF_CORE_READ(tp, segs_in);
	c->total_retrans = BPF_CORE_READ(tp, total_retrans);
	c->srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
}

/* The socket cookie of a kernel socket, 0 when none was ever assigned (then
 * sock_ops never saw it and there is nothing to update). */
static __always_inline __u64 pf_sk_cookie(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
}

#endif
