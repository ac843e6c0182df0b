/* cgroup_skb egress/ingress: copies DNS messages of local CLIENT sockets to a
 * ring buffer (header + up to PF_DNS_MAX_PAYLOAD bytes of transport payload);
 * user space parses them and pairs queries with responses.
 *
 * Only the client side is captured: egress to a DNS port (a query the local
 * client sent) and ingress from a DNS port (the response it received). A node
 * that runs both a client and its server sees each lookup once, and a DNS
 * server's own traffic (thousands of clients) costs nothing here.
 *
 * This runs for every packet of every socket below the cgroup, so non-DNS
 * traffic leaves as early as possible: a full TCP socket (and a connected UDP
 * one) already names its peer's port, checked before the packet is touched.
 * Always returns 1: podflow observes, it never drops.
 *
 * IPv6 extension headers before TCP/UDP are followed (up to
 * PF_IPV6_MAX_EXT). Not followed: IPv4 non-first fragments (the socket layer
 * sees reassembled datagrams anyway). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "pf_addr.h"
#include "pf_ipv6_ext.h"
#include "pf_dns_types.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PF_ETH_P_IP 0x0800
#define PF_ETH_P_IPV6 0x86DD
#define PF_IPPROTO_UDP 17
#define PF_IPPROTO_TCP 6

/* The DNS ports (receivers::ebpf::dns::ports) as a bitmap, bit p = port p:
 * one load answers "is this a DNS port" whatever the number of ports, and as
 * rodata it is set once before load and frozen. */
volatile const __u8 pf_dns_port_bits[8192];
volatile const __u8 pf_dns_include_loopback = 0;
/* Submit without waking user space until this much is queued: it polls on a
 * timer anyway, and the capture times come from the kernel, not delivery. */
volatile const __u64 pf_dns_wakeup_bytes = 1 << 20;

/* Captured packets, struct pf_dns_event each. The addon sets the size. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 21);
} pf_dns_events SEC(".maps");

/* Packets not captured. key: PF_DNS_STAT_* (__u32); value: __u64 per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PF_DNS_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} pf_dns_stats SEC(".maps");

static __always_inline int pf_dns_port(__u16 port)
{
	return pf_dns_port_bits[(port >> 3) & 8191] & (1 << (port & 7));
}

static __always_inline void pf_dns_stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&pf_dns_stats, &idx);
	if (v)
		*v += 1;
}

/* 0 when the packet is surely not DNS, read straight from the packet's
 * linear part (no helper call); 1 when it may be, or when the headers are not
 * in the linear part: pf_dns_capture then reads them the careful way. */
static __always_inline int pf_dns_maybe(struct __sk_buff *skb, int egress)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	__u32 l4;
	__u8 proto;
	if (skb->protocol == bpf_htons(PF_ETH_P_IP)) {
		struct iphdr *ip = data;
		if ((void *)(ip + 1) > end)
			return 1;
		proto = ip->protocol;
		l4 = ip->ihl * 4;
	} else if (skb->protocol == bpf_htons(PF_ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data;
		if ((void *)(ip6 + 1) > end)
			return 1;
		proto = ip6->nexthdr;
		l4 = sizeof(*ip6);
		if (pf_ipv6_is_ext(proto))
			return 1; /* the careful path steps over them */
	} else {
		return 0;
	}
	if (proto != PF_IPPROTO_UDP && proto != PF_IPPROTO_TCP)
		return 0;
	__be16 *ports = data + l4;
	if ((void *)(ports + 2) > end)
		return 1;
	return pf_dns_port(bpf_ntohs(egress ? ports[1] : ports[0]));
}

static __always_inline void pf_dns_capture(struct __sk_buff *skb, int egress)
{
	/* The peer's port from the socket, when it has one: for the client side
	 * that is the server's port, so most packets leave here unread. */
	struct bpf_sock *sk = skb->sk;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (sk) {
		/* Both fields read unconditionally: the verifier refuses the
		 * computed field offset clang makes of a conditional read. */
		__u32 sk_proto = sk->protocol;
		__u16 peer_port = bpf_ntohs(sk->dst_port);
		if ((sk_proto == PF_IPPROTO_TCP || (sk_proto == PF_IPPROTO_UDP && peer_port != 0)) &&
		    !pf_dns_port(peer_port))
			return;
	}
	if (!pf_dns_maybe(skb, egress))
		return;

	struct pf_dns_event hdr = {};
	__u32 l4;
	__u8 proto;
	if (skb->protocol == bpf_htons(PF_ETH_P_IP)) {
		struct iphdr ip;
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return;
		proto = ip.protocol;
		if (ip.frag_off & bpf_htons(0x1fff))
			return;
		l4 = ip.ihl * 4;
		if (l4 < sizeof(ip))
			return;
		pf_addr4(egress ? hdr.client_addr : hdr.server_addr, ip.saddr);
		pf_addr4(egress ? hdr.server_addr : hdr.client_addr, ip.daddr);
		hdr.family = 4;
	} else if (skb->protocol == bpf_htons(PF_ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return;
		proto = ip6.nexthdr;
		l4 = sizeof(ip6);
		if (pf_ipv6_skip_ext(skb, &proto, &l4))
			return;
		__builtin_memcpy(egress ? hdr.client_addr : hdr.server_addr, &ip6.saddr, 16);
		__builtin_memcpy(egress ? hdr.server_addr : hdr.client_addr, &ip6.daddr, 16);
		hdr.family = 6;
	} else {
		return;
	}
	if (proto != PF_IPPROTO_UDP && proto != PF_IPPROTO_TCP)
		return;
	__be16 ports[2];
	if (bpf_skb_load_bytes(skb, l4, ports, sizeof(ports)))
		return;
	__u16 sport = bpf_ntohs(ports[0]), dport = bpf_ntohs(ports[1]);
	if (!pf_dns_port(egress ? dport : sport))
		return;
	if (!pf_dns_include_loopback && pf_is_loopback(hdr.server_addr))
		return;

	/* Where the payload starts and how long the packet says it is. */
	__u32 off, len;
	if (proto == PF_IPPROTO_TCP) {
		struct tcphdr th;
		if (bpf_skb_load_bytes(skb, l4, &th, sizeof(th)))
			return;
		off = l4 + th.doff * 4;
		if (th.doff < 5 || skb->len <= off)
			return; /* no data: SYN, ACK, FIN */
		len = skb->len - off;
	} else {
		struct udphdr uh;
		if (bpf_skb_load_bytes(skb, l4, &uh, sizeof(uh)))
			return;
		off = l4 + sizeof(uh);
		if (skb->len <= off)
			return;
		len = skb->len - off;
		__u16 ulen = bpf_ntohs(uh.len);
		if (ulen >= sizeof(uh) && ulen - sizeof(uh) < len)
			len = ulen - sizeof(uh);
		if (len == 0)
			return;
	}

	struct pf_dns_event *e = bpf_ringbuf_reserve(&pf_dns_events, sizeof(*e), 0);
	if (!e) {
		pf_dns_stat_inc(PF_DNS_STAT_RINGBUF_FULL);
		return;
	}
	__u64 cap = len < PF_DNS_MAX_PAYLOAD ? len : PF_DNS_MAX_PAYLOAD;
	/* Checked again on the very register passed to the helper: otherwise
	 * clang may pass a copy the verifier has no bound for. */
	barrier_var(cap);
	if (cap == 0 || cap > PF_DNS_MAX_PAYLOAD || bpf_skb_load_bytes(skb, off, e->payload, cap)) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		pf_dns_stat_inc(PF_DNS_STAT_READ_FAILED);
		return;
	}
	e->time_ns = bpf_ktime_get_ns();
	__builtin_memcpy(e->client_addr, hdr.client_addr, 16);
	__builtin_memcpy(e->server_addr, hdr.server_addr, 16);
	e->payload_len = len;
	e->client_port = egress ? sport : dport;
	e->server_port = egress ? dport : sport;
	e->captured_len = cap;
	e->family = hdr.family;
	e->protocol = proto;
	e->flags = (egress ? PF_DNS_FROM_CLIENT : 0) | (cap < len ? PF_DNS_TRUNCATED : 0);
	e->_pad[0] = e->_pad[1] = e->_pad[2] = 0;
	__u64 queued = bpf_ringbuf_query(&pf_dns_events, BPF_RB_AVAIL_DATA);
	bpf_ringbuf_submit(e, queued >= pf_dns_wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

SEC("cgroup_skb/egress")
int pf_dns_egress(struct __sk_buff *skb)
{
	pf_dns_capture(skb, 1);
	return 1;
}

SEC("cgroup_skb/ingress")
int pf_dns_ingress(struct __sk_buff *skb)
{
	pf_dns_capture(skb, 0);
	return 1;
}
