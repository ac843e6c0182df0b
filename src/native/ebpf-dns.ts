// Typed access to the DNS capture of the podflow_ebpf addon
// (native/ebpf/src/dns-capture.h) and the layout of its records
// (bpf/include/pf_dns_types.h). test/native/ebpf-dns-layout.test.ts checks the
// table below against what the C compiler laid out.

import type { DnsPacket } from '../receiver/ebpf/dns/dns-transactions.ts';
import { loadAddon } from './load-addon.ts';

export const PF_DNS_EVENT = {
  size: 568,
  time_ns: 0,
  client_addr: 8,
  server_addr: 24,
  payload_len: 40,
  client_port: 44,
  server_port: 46,
  captured_len: 48,
  family: 50,
  protocol: 51,
  flags: 52,
  payload: 56,
} as const;

export const PF_DNS_CONSTANTS = {
  PF_DNS_MAX_PAYLOAD: 512,
  PF_DNS_FROM_CLIENT: 0x01,
  PF_DNS_TRUNCATED: 0x02,
  PF_DNS_STAT_RINGBUF_FULL: 0,
  PF_DNS_STAT_READ_FAILED: 1,
  PF_DNS_STAT_MAX: 2,
} as const;

export interface DnsCaptureOptions {
  /** cgroup2 directory; client sockets below it are captured. */
  cgroupPath: string;
  /** 1 to 16 ports, 1–65535. */
  ports: number[];
  /** Bytes, a power of two and a multiple of the page size. */
  ringBufferSize: number;
  includeLoopback: boolean;
  /**
   * Drain period of the ring buffer's poll thread. 0: it waits until the
   * programs find the buffer half full, and takeRecords() drains the rest. Default 100.
   */
  pollIntervalMs?: number;
  /** false: load only (BPF_PROG_TEST_RUN tests). Default true. */
  attach?: boolean;
}

export interface DnsCapture {
  /** pf_dns_stats summed over CPUs, indexed by PF_DNS_STAT_*. */
  readStats(): number[];
  readProgStats(): Array<{ name: string; runTimeNs: number; runCount: number }>;
  /**
   * BPF_PROG_TEST_RUN, only when loaded with attach: false. `records`: n ×
   * PF_DNS_EVENT.size bytes; `durationNs`: the kernel's mean run time over `repeat` runs (default 1).
   */
  testRun(egress: boolean, packet: Uint8Array, repeat?: number): { retval: number; records: ArrayBuffer; durationNs: number };
  /** The records in the ring buffer now (the poll thread may run beside it): n × PF_DNS_EVENT.size bytes. */
  takeRecords(): ArrayBuffer;
  /** Detaches; returns records not yet delivered. Idempotent. */
  close(): ArrayBuffer;
}

export interface DnsLayout {
  pf_dns_event: Record<string, number>;
  constants: Record<string, number>;
}

interface DnsAddon {
  DnsCapture: new (opts: DnsCaptureOptions, onRecords: (records: ArrayBuffer) => void) => DnsCapture;
  dnsLayout(): DnsLayout;
}

function addon(): DnsAddon {
  return loadAddon<DnsAddon>('native/ebpf', 'podflow_ebpf');
}

/** Loads and attaches the capture; `onRecords` gets batches of records on the main thread. */
export function openDnsCapture(opts: DnsCaptureOptions, onRecords: (records: ArrayBuffer) => void): DnsCapture {
  const Ctor = addon().DnsCapture;
  return new Ctor(opts, onRecords);
}

export function nativeDnsLayout(): DnsLayout {
  return addon().dnsLayout();
}

/**
 * Calls `each` with every record of a batch. The packet's byte arrays are views
 * into `records` (valid until the caller drops the buffer). Records whose
 * lengths contradict the layout are skipped and counted in the return value.
 */
export function decodeDnsRecords(records: ArrayBuffer, each: (p: DnsPacket) => void): number {
  const v = new DataView(records);
  const u8 = new Uint8Array(records);
  const E = PF_DNS_EVENT;
  let bad = 0;
  for (let o = 0; o + E.size <= records.byteLength; o += E.size) {
    const captured = v.getUint16(o + E.captured_len, true);
    const family = u8[o + E.family];
    const protocol = u8[o + E.protocol];
    if (captured > PF_DNS_CONSTANTS.PF_DNS_MAX_PAYLOAD || (family !== 4 && family !== 6) || (protocol !== 6 && protocol !== 17)) {
      bad++;
      continue;
    }
    const flags = u8[o + E.flags]!;
    // ktime in ns: exact as a double for 104 days of uptime, then off by a few ns.
    const timeNs = v.getUint32(o + E.time_ns, true) + v.getUint32(o + E.time_ns + 4, true) * 2 ** 32;
    each({
      timeNs,
      protocol,
      family,
      fromClient: (flags & PF_DNS_CONSTANTS.PF_DNS_FROM_CLIENT) !== 0,
      clientAddr: u8.subarray(o + E.client_addr, o + E.client_addr + 16),
      clientPort: v.getUint16(o + E.client_port, true),
      serverAddr: u8.subarray(o + E.server_addr, o + E.server_addr + 16),
      serverPort: v.getUint16(o + E.server_port, true),
      payload: u8.subarray(o + E.payload, o + E.payload + captured),
      truncated: (flags & PF_DNS_CONSTANTS.PF_DNS_TRUNCATED) !== 0,
      wireLength: v.getUint32(o + E.payload_len, true),
    });
  }
  return bad;
}
