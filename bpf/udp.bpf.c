/* cgroup_skb ingress/egress: UDP bytes and datagrams per 5-tuple and direction.
 *
 * Runs at the socket layer (egress before fragmentation, ingress after
 * reassembly), so one datagram is one packet and its length is the UDP length.
 * Only datagrams of sockets in the cgroup subtree are seen, in every network
 * namespace. Always returns 1: podflow observes, it never drops. */
#include "pf_common.h"
#include "pf_ipv6_ext.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PF_ETH_P_IP 0x0800
#define PF_ETH_P_IPV6 0x86DD
#define PF_IPPROTO_UDP 17
#define PF_IPPROTO_TCP 6

static __always_inline void pf_count_udp(struct __sk_buff *skb, __u8 dir)
{
	/* Most packets are TCP: leave on the IP header's protocol byte, read in
	 * place (direct packet access: a bounds check and a load, where the
	 * socket's protocol costs a helper call). A header not in the linear
	 * area takes the slow path below, which checks the same thing. */
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	if (skb->protocol == bpf_htons(PF_ETH_P_IP)) {
		if (data + 10 <= data_end && ((__u8 *)data)[9] == PF_IPPROTO_TCP)
			return;
	} else if (skb->protocol == bpf_htons(PF_ETH_P_IPV6)) {
		if (data + 7 <= data_end && ((__u8 *)data)[6] == PF_IPPROTO_TCP)
			return;
	}
	struct pf_udp_key k = {};
	struct udphdr uh;
	__u8 *src = dir == PF_DIR_EGRESS ? k.local_addr : k.remote_addr;
	__u8 *dst = dir == PF_DIR_EGRESS ? k.remote_addr : k.local_addr;

	if (skb->protocol == bpf_htons(PF_ETH_P_IP)) {
		struct iphdr ip;
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return;
		if (ip.protocol != PF_IPPROTO_UDP)
			return;
		/* A non-first fragment has no UDP header (only seen if not reassembled). */
		if (ip.frag_off & bpf_htons(0x1fff))
			return;
		if (bpf_skb_load_bytes(skb, ip.ihl * 4, &uh, sizeof(uh)))
			return;
		pf_addr4(src, ip.saddr);
		pf_addr4(dst, ip.daddr);
	} else if (skb->protocol == bpf_htons(PF_ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return;
		__u8 proto = ip6.nexthdr;
		__u32 l4 = sizeof(ip6);
		if (pf_ipv6_skip_ext(skb, &proto, &l4) || proto != PF_IPPROTO_UDP)
			return;
		if (bpf_skb_load_bytes(skb, l4, &uh, sizeof(uh)))
			return;
		__builtin_memcpy(src, &ip6.saddr, 16);
		__builtin_memcpy(dst, &ip6.daddr, 16);
	} else {
		return;
	}
	__u16 sport = bpf_ntohs(uh.source), dport = bpf_ntohs(uh.dest);
	k.local_port = dir == PF_DIR_EGRESS ? sport : dport;
	k.remote_port = dir == PF_DIR_EGRESS ? dport : sport;
	k.family = pf_family_of(k.remote_addr);
	k.direction = dir;
	if (!pf_include_loopback && pf_is_loopback(k.remote_addr))
		return;

	__u16 ulen = bpf_ntohs(uh.len);
	__u64 bytes = ulen >= 8 ? ulen - 8 : 0;
	struct pf_udp_value *v = bpf_map_lookup_elem(&pf_udp, &k);
	if (!v) {
		struct pf_udp_value init = { .bytes = bytes, .packets = 1 };
		long err = bpf_map_update_elem(&pf_udp, &k, &init, BPF_NOEXIST);
		if (!err) {
			pf_stat_inc(PF_STAT_UDP_INSERTS);
			return;
		}
		v = bpf_map_lookup_elem(&pf_udp, &k); /* another CPU created it */
		if (!v) {
			pf_stat_inc(PF_STAT_UDP_UPDATE_FAILED);
			return;
		}
	}
	__sync_fetch_and_add(&v->bytes, bytes);
	__sync_fetch_and_add(&v->packets, 1);
}

SEC("cgroup_skb/egress")
int pf_udp_egress(struct __sk_buff *skb)
{
	pf_count_udp(skb, PF_DIR_EGRESS);
	return 1;
}

SEC("cgroup_skb/ingress")
int pf_udp_ingress(struct __sk_buff *skb)
{
	pf_count_udp(skb, PF_DIR_INGRESS);
	return 1;
}
