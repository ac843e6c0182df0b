/* Record layout of the DNS capture (bpf/features/dns.bpf.c), shared with its
 * addon class (native/ebpf/src/dns-capture.cc) and the TypeScript decoder
 * (src/native/ebpf-dns.ts); test/native/ebpf-dns-layout.test.ts compares the
 * compiler's offsets with the TypeScript table. Naturally aligned, explicit
 * padding. Addresses are 16 bytes, IPv4 v4-mapped (as in pf_types.h); ports
 * are host order. */
#ifndef PF_DNS_TYPES_H
#define PF_DNS_TYPES_H

/* Bytes of transport payload copied per packet: a classic DNS message fits
 * (RFC 1035's UDP limit); header and question, what the metrics need, fit in
 * far less. Longer payloads are cut and flagged PF_DNS_TRUNCATED. */
#define PF_DNS_MAX_PAYLOAD 512

/* pf_dns_event.flags */
#define PF_DNS_FROM_CLIENT 0x01 /* client → server (egress to a DNS port): a query */
#define PF_DNS_TRUNCATED 0x02   /* captured_len < payload_len */

/* One DNS packet seen at a local client socket. Record of `pf_dns_events`. */
struct pf_dns_event {
	__u64 time_ns; /* bpf_ktime_get_ns() at capture (CLOCK_MONOTONIC) */
	__u8 client_addr[16];
	__u8 server_addr[16];
	__u32 payload_len; /* transport payload bytes the packet carried */
	__u16 client_port;
	__u16 server_port;
	__u16 captured_len; /* bytes of payload[] that are valid (≤ PF_DNS_MAX_PAYLOAD) */
	__u8 family;        /* 4 or 6 */
	__u8 protocol;      /* 6 (TCP: payload starts where the segment's data does) or 17 */
	__u8 flags;         /* PF_DNS_* */
	__u8 _pad[3];
	__u8 payload[PF_DNS_MAX_PAYLOAD];
};

/* Indexes of the `pf_dns_stats` per-CPU counter array. */
#define PF_DNS_STAT_RINGBUF_FULL 0 /* packets not captured: the ring buffer was full */
#define PF_DNS_STAT_READ_FAILED 1  /* packets not captured: their bytes could not be read */
#define PF_DNS_STAT_MAX 2

#endif
