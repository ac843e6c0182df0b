/* skb:kfree_skb: packets the kernel dropped, per 5-tuple and drop reason.
 *
 * The tracepoint fires only for drops (a packet that reached its end goes
 * through consume_skb), in every network namespace of the host. The packet is
 * read from skb->head at the network header: IPv4 and IPv6 with TCP, UDP or
 * ICMP are counted per (addresses, ports, protocol, reason) in the LRU map
 * pf_drops; anything else (no network header yet, ARP, other protocols,
 * unreadable) is counted per reason only, in pf_drops_unattributed, so no drop
 * goes uncounted.
 *
 * Classic tracepoint rather than tp_btf/fentry: those need BTF-enabled
 * trampolines, which some kernels and LSMs refuse; the event's fields are read
 * through CO-RE, so its `reason` (added in 5.17) is optional. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "pf_addr.h"
#include "pf_ipv6_ext.h"
#include "pf_drop_types.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PF_ETH_P_IP 0x0800
#define PF_ETH_P_IPV6 0x86DD
#define PF_IPPROTO_ICMP 1
#define PF_IPPROTO_TCP 6
#define PF_IPPROTO_UDP 17
#define PF_IPPROTO_ICMPV6 58
#define PF_TCP_FLAG_SYN 0x02
#define PF_TCP_FLAG_ACK 0x10

/* Set by the loader (skeleton rodata). */
volatile const __u8 pf_drops_include_loopback = 0;
/* Whether pf_drop_exclude holds anything: spares every drop a lookup when not. */
volatile const __u8 pf_drops_have_exclude = 0;

/* The drops of one collection interval. key: struct pf_drop_key; value:
 * struct pf_drop_value (since the map became the active one). LRU so a flood
 * of dropped 5-tuples evicts old entries instead of failing; user space counts
 * evictions (PF_DROP_STAT_INSERTS against the entries it read).
 *
 * Two of them, swapped through pf_drops by user space at every collection:
 * the update of an array-of-maps slot returns only once no program still
 * uses the old map, which is then drained whole. So every drop is read
 * exactly once, and a collection reads the interval's drops only, however
 * many distinct 5-tuples (a new client port per connection) came before. */
struct pf_drops_map {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct pf_drop_key);
	__type(value, struct pf_drop_value);
} pf_drops_a SEC(".maps"), pf_drops_b SEC(".maps");

/* Slot 0: the map the program counts into (pf_drops_a at load). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct pf_drops_map);
} pf_drops SEC(".maps") = {
	.values = { [0] = &pf_drops_a },
};

/* Drops without endpoints. key: reason (__u32); value: packets (__u64,
 * cumulative). Bounded by the number of distinct reasons. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} pf_drops_unattributed SEC(".maps");

/* Reasons not to count (config drops.exclude_reasons), filled before attach.
 * key: reason (__u32); value: unused (__u8). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u8);
} pf_drop_exclude SEC(".maps");

/* key: PF_DROP_STAT_* (__u32); value: __u64 per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PF_DROP_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} pf_drop_stats SEC(".maps");

static __always_inline void pf_drop_stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&pf_drop_stats, &idx);
	if (v)
		*v += 1;
}

static __always_inline void pf_count_unattributed(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&pf_drops_unattributed, &reason);
	if (!n) {
		__u64 one = 1;
		if (!bpf_map_update_elem(&pf_drops_unattributed, &reason, &one, BPF_NOEXIST))
			return;
		n = bpf_map_lookup_elem(&pf_drops_unattributed, &reason); /* another CPU created it */
		if (!n) {
			pf_drop_stat_inc(PF_DROP_STAT_UNATTRIBUTED_FULL);
			return;
		}
	}
	__sync_fetch_and_add(n, 1);
}

/* Fills the key's addresses, protocol and ports (and *tcp_flags) from the IP
 * packet at `nh`; 0 on success, -1 when it is not one we attribute. */
static __always_inline int pf_parse(struct pf_drop_key *k, __u32 *tcp_flags, const unsigned char *nh, __u16 eth_proto)
{
	__u8 first;
	if (bpf_probe_read_kernel(&first, 1, nh))
		return -1;
	__u8 version = first >> 4;
	/* skb->protocol may still be unset on a locally built packet: trust the
	 * header's version then, but never against an explicit non-IP protocol. */
	if (eth_proto && eth_proto != PF_ETH_P_IP && eth_proto != PF_ETH_P_IPV6)
		return -1;

	__u8 proto;
	__u32 l4; /* offset of the transport header from nh */
	int ports = 1;
	if (version == 4) {
		struct iphdr ip;
		if (bpf_probe_read_kernel(&ip, sizeof(ip), nh) || ip.ihl < 5)
			return -1;
		pf_addr4(k->src_addr, ip.saddr);
		pf_addr4(k->dst_addr, ip.daddr);
		proto = ip.protocol;
		/* From the IP header rather than skb->transport_header: on the
		 * receive path that still equals the network header until IP is done
		 * with the packet, and the two agree wherever it is set. */
		l4 = ip.ihl * 4;
		if (ip.frag_off & bpf_htons(0x1fff))
			ports = 0; /* a later fragment: no transport header */
		k->family = 4;
	} else if (version == 6) {
		struct ipv6hdr ip6;
		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), nh))
			return -1;
		__builtin_memcpy(k->src_addr, &ip6.saddr, 16);
		__builtin_memcpy(k->dst_addr, &ip6.daddr, 16);
		proto = ip6.nexthdr;
		l4 = sizeof(ip6);
		/* A few extension headers (hop-by-hop, routing, destination options,
		 * fragment) are cheap to step over; more is left unattributed. */
#pragma unroll
		for (int i = 0; i < 4; i++) {
			if (!pf_ipv6_is_ext(proto))
				break;
			__u8 ext[4];
			if (bpf_probe_read_kernel(ext, sizeof(ext), nh + l4))
				return -1;
			if (proto == PF_NEXTHDR_FRAGMENT) {
				if (((ext[2] << 8) | ext[3]) & 0xfff8)
					ports = 0;
				l4 += 8;
			} else {
				l4 += (ext[1] + 1) * 8;
			}
			proto = ext[0];
		}
		k->family = 6;
	} else {
		return -1;
	}

	k->protocol = proto;
	if (proto == PF_IPPROTO_ICMP || proto == PF_IPPROTO_ICMPV6)
		return 0;
	if (proto != PF_IPPROTO_TCP && proto != PF_IPPROTO_UDP)
		return -1;
	if (!ports)
		return 0;
	/* TCP: ports, then the flags byte at 13; UDP: ports. */
	__u8 th[14];
	if (bpf_probe_read_kernel(th, proto == PF_IPPROTO_TCP ? 14 : 4, nh + l4))
		return -1;
	k->src_port = (th[0] << 8) | th[1];
	k->dst_port = (th[2] << 8) | th[3];
	if (proto == PF_IPPROTO_TCP && (th[13] & PF_TCP_FLAG_SYN))
		*tcp_flags = th[13] & PF_TCP_FLAG_ACK ? PF_DROP_TCP_SYNACK : PF_DROP_TCP_SYN;
	return 0;
}

SEC("tracepoint/skb/kfree_skb")
int pf_kfree_skb(struct trace_event_raw_kfree_skb *ctx)
{
	__u32 reason = PF_DROP_REASON_UNKNOWN;
	if (bpf_core_field_exists(ctx->reason))
		reason = ctx->reason;
	if (pf_drops_have_exclude && bpf_map_lookup_elem(&pf_drop_exclude, &reason))
		return 0;

	const struct sk_buff *skb = ctx->skbaddr;
	const unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	if (!head || nh == (__u16)~0U) {
		pf_count_unattributed(reason);
		return 0;
	}

	struct pf_drop_key k = {};
	__u32 tcp_flags = 0;
	if (pf_parse(&k, &tcp_flags, head + nh, bpf_ntohs(BPF_CORE_READ(skb, protocol)))) {
		pf_count_unattributed(reason);
		return 0;
	}
	if (!pf_drops_include_loopback && (pf_is_loopback(k.src_addr) || pf_is_loopback(k.dst_addr)))
		return 0;
	k.reason = reason;
	k.rx = BPF_CORE_READ(skb, skb_iif) != 0;

	__u64 len = BPF_CORE_READ(skb, len);
	__u32 slot = 0;
	void *drops = bpf_map_lookup_elem(&pf_drops, &slot);
	if (!drops) {
		pf_drop_stat_inc(PF_DROP_STAT_UPDATE_FAILED);
		return 0;
	}
	struct pf_drop_value *v = bpf_map_lookup_elem(drops, &k);
	if (!v) {
		struct pf_drop_value init = { .packets = 1, .bytes = len, .tcp_flags = tcp_flags };
		if (!bpf_map_update_elem(drops, &k, &init, BPF_NOEXIST)) {
			pf_drop_stat_inc(PF_DROP_STAT_INSERTS);
			return 0;
		}
		v = bpf_map_lookup_elem(drops, &k); /* another CPU created it */
		if (!v) {
			pf_drop_stat_inc(PF_DROP_STAT_UPDATE_FAILED);
			return 0;
		}
	}
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, len);
	/* Plain OR, not atomic (needs BPF ISA v3): two CPUs setting different
	 * bits of one entry at the same instant could lose one, which only
	 * affects which end is taken as the client. */
	if (tcp_flags & ~v->tcp_flags)
		v->tcp_flags |= tcp_flags;
	return 0;
}
