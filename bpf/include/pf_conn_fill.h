/* Filling a struct pf_conn: the live counters every refresh copies, and a
 * record's ends and counters from a sock_ops context. No maps here, so the
 * bench's stateless sock_ops floor (bench/tools/sockops-floor.bpf.c) fills
 * its records exactly as bpf/sockops.bpf.c does. */
#ifndef PF_CONN_FILL_H
#define PF_CONN_FILL_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include "pf_types.h"
#include "pf_addr.h"

/* The live counters every refresh copies into a record, each read with
 * READ(field): a CO-RE probe read, a typed load or a sock_ops context field,
 * whichever the hook has (the names are the same in tcp_sock and
 * bpf_sock_ops). One list, so the refreshes of the different hooks never
 * drift apart. The kernel keeps srtt_us shifted left by 3. */
#define PF_COPY_LIVE_COUNTERS(c, READ)                          \
	do {                                                    \
		(c)->bytes_acked = READ(bytes_acked);           \
		(c)->bytes_received = READ(bytes_received);     \
		(c)->segs_out = READ(segs_out);                 \
		(c)->segs_in = READ(segs_in);                   \
		(c)->total_retrans = READ(total_retrans);       \
		(c)->srtt_us = READ(srtt_us) >> 3;              \
	} while (0)

/* Both ends of the socket, IPv4 as v4-mapped (pf_types.h). */
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

/* The live counters, from the context's copies of the tcp_sock fields (no probe reads). */
static __always_inline void pf_refresh_from_ops(struct pf_conn *c, struct bpf_sock_ops *skops)
{
#define PF_READ_OPS(field) skops->field
	PF_COPY_LIVE_COUNTERS(c, PF_READ_OPS);
#undef PF_READ_OPS
	c->rtt_min_us = skops->rtt_min;
}

#endif
