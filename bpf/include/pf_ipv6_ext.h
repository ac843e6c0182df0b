/* Stepping over IPv6 extension headers in a cgroup_skb program, where the
 * packet starts at the IPv6 header. No maps in here: the feature objects of
 * bpf/features/ include it as well as the base datapath. */
#ifndef PF_IPV6_EXT_H
#define PF_IPV6_EXT_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define PF_NEXTHDR_HOP 0
#define PF_NEXTHDR_ROUTING 43
#define PF_NEXTHDR_FRAGMENT 44
#define PF_NEXTHDR_DEST 60

/* How many extension headers are followed before the transport header: the
 * common chains (hop-by-hop, routing, destination options) are one or two;
 * a packet with more is left unread. */
#define PF_IPV6_MAX_EXT 4

static __always_inline int pf_ipv6_is_ext(__u8 nexthdr)
{
	return nexthdr == PF_NEXTHDR_HOP || nexthdr == PF_NEXTHDR_ROUTING || nexthdr == PF_NEXTHDR_DEST ||
	       nexthdr == PF_NEXTHDR_FRAGMENT;
}

/* From the IPv6 header's next header (`*proto`) and the offset after it
 * (`*l4` = 40), steps over hop-by-hop, routing, destination-options and
 * fragment headers to the transport header: `*proto` and `*l4` then name it.
 * -1 when it cannot be reached: a read failed, a non-first fragment (no
 * transport header; the socket layer sees reassembled datagrams anyway), or
 * more than PF_IPV6_MAX_EXT headers. */
static __always_inline int pf_ipv6_skip_ext(struct __sk_buff *skb, __u8 *proto, __u32 *l4)
{
#pragma unroll
	for (int i = 0; i < PF_IPV6_MAX_EXT; i++) {
		if (!pf_ipv6_is_ext(*proto))
			return 0;
		/* next header, length (8-octet units beyond the first 8), then for
		 * a fragment header the offset (13 bits) and flags. */
		__u8 ext[4];
		if (bpf_skb_load_bytes(skb, *l4, ext, sizeof(ext)))
			return -1;
		if (*proto == PF_NEXTHDR_FRAGMENT) {
			if (((ext[2] << 8) | ext[3]) & 0xfff8)
				return -1;
			*l4 += 8;
		} else {
			*l4 += (ext[1] + 1) * 8;
		}
		*proto = ext[0];
	}
	return pf_ipv6_is_ext(*proto) ? -1 : 0;
}

#endif
