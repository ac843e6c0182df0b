/* 16-byte address helpers (IPv4 as v4-mapped ::ffff:a.b.c.d, see pf_types.h).
 * No maps in here: the feature objects of bpf/features/ include it without
 * pulling the base datapath's maps into their own skeletons. */
#ifndef PF_ADDR_H
#define PF_ADDR_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>

#define PF_AF_INET 2
#define PF_AF_INET6 10

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

#endif
