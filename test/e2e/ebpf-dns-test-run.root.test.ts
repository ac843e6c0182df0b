// Needs root (CAP_BPF, CAP_NET_ADMIN). BPF_PROG_TEST_RUN of the DNS capture
// programs (bpf/features/dns.bpf.c) on hand-built packets, loaded but attached
// nowhere: which packets become records, and every field of those records.

import t, { type Test } from 'tap';
import { decodeDnsRecords, openDnsCapture, PF_DNS_CONSTANTS as K } from '../../src/native/ebpf-dns.ts';
import { formatAddress, writeAddress } from '../../src/pdata/ip-address.ts';
import type { DnsPacket } from '../../src/receiver/ebpf/dns/dns-transactions.ts';
import { encodeQuery } from './support/dns-wire.ts';
import { extensionHeaders, type Ext } from './support/ipv6-ext.ts';

const cap = openDnsCapture({ cgroupPath: '', ports: [53, 5353], ringBufferSize: 1 << 16, includeLoopback: false, attach: false }, () => undefined);
t.teardown(() => cap.close());

interface Pkt {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload: Uint8Array;
  proto?: 6 | 17;
  /** TCP flags byte (default ACK|PSH). */
  tcpFlags?: number;
  /** Cut the packet to this many bytes after the Ethernet header. */
  cut?: number;
  /** Override the UDP length field. */
  udpLen?: number;
  fragOffset?: number;
  ethType?: number;
  /** IPv6 extension headers between the IPv6 and transport headers, in order. */
  ext?: Ext[];
}

function packet(p: Pkt): Uint8Array {
  const v6 = p.src.includes(':');
  const proto = p.proto ?? 17;
  const ext = v6 ? extensionHeaders(p.ext ?? [], proto) : new Uint8Array(0);
  const ipLen = (v6 ? 40 : 20) + ext.length;
  const l4Len = proto === 6 ? 20 : 8;
  const buf = new Uint8Array(14 + ipLen + l4Len + p.payload.length);
  const v = new DataView(buf.buffer);
  v.setUint16(12, p.ethType ?? (v6 ? 0x86dd : 0x0800));
  const ip = 14;
  const addr = new Uint8Array(16);
  if (v6) {
    v.setUint32(ip, 0x60000000);
    v.setUint16(ip + 4, ext.length + l4Len + p.payload.length);
    buf[ip + 6] = p.ext?.length ? p.ext[0]!.type : proto;
    buf[ip + 7] = 64;
    writeAddress(addr, 0, p.src); buf.set(addr, ip + 8);
    writeAddress(addr, 0, p.dst); buf.set(addr, ip + 24);
    buf.set(ext, ip + 40);
  } else {
    buf[ip] = 0x45;
    v.setUint16(ip + 2, ipLen + l4Len + p.payload.length);
    v.setUint16(ip + 6, p.fragOffset ?? 0);
    buf[ip + 8] = 64;
    buf[ip + 9] = proto;
    writeAddress(addr, 0, p.src); buf.set(addr.subarray(12), ip + 12);
    writeAddress(addr, 0, p.dst); buf.set(addr.subarray(12), ip + 16);
  }
  const l4 = ip + ipLen;
  v.setUint16(l4, p.sport);
  v.setUint16(l4 + 2, p.dport);
  if (proto === 6) {
    v.setUint32(l4 + 4, 1000);
    buf[l4 + 12] = 5 << 4;
    buf[l4 + 13] = p.tcpFlags ?? 0x18;
    v.setUint16(l4 + 14, 65535);
  } else {
    v.setUint16(l4 + 4, p.udpLen ?? 8 + p.payload.length);
  }
  buf.set(p.payload, l4 + l4Len);
  return p.cut === undefined ? buf : buf.subarray(0, 14 + p.cut);
}

interface Seen extends Omit<DnsPacket, 'clientAddr' | 'serverAddr' | 'payload'> {
  client: string;
  server: string;
  payload: number[];
}

function run(t: Test, egress: boolean, p: Pkt): Seen[] {
  const { retval, records } = cap.testRun(egress, packet(p));
  t.equal(retval, 1, 'the program never drops');
  const out: Seen[] = [];
  const bad = decodeDnsRecords(records, (d) => {
    const { clientAddr, serverAddr, payload, ...rest } = d;
    out.push({ ...rest, client: formatAddress(clientAddr, 0), server: formatAddress(serverAddr, 0), payload: [...payload] });
  });
  t.equal(bad, 0, 'every record decodes');
  return out;
}

const query = encodeQuery(0x4242, 'svc.example.test');
const tcpQuery = new Uint8Array([query.length >> 8, query.length & 0xff, ...query]);

t.test('IPv6 extension headers before UDP and TCP are stepped over', async (t) => {
  // Hop-by-hop (8 bytes) then destination options (24 bytes), the chain a
  // router-alert or a padded option makes; a first fragment (offset 0).
  const chain: Ext[] = [{ type: 0 }, { type: 60, units: 2 }];
  const [u] = run(t, true, { src: 'fd00::2', dst: 'fd00::1', sport: 40002, dport: 53, payload: query, ext: chain });
  t.match(u, { protocol: 17, family: 6, fromClient: true, clientPort: 40002, serverPort: 53, payload: [...query] });
  const [tc] = run(t, false, { src: 'fd00::1', dst: 'fd00::2', sport: 53, dport: 40003, payload: tcpQuery, proto: 6, ext: chain });
  t.match(tc, { protocol: 6, family: 6, fromClient: false, clientPort: 40003, serverPort: 53, payload: [...tcpQuery] });
  const [f] = run(t, true, { src: 'fd00::2', dst: 'fd00::1', sport: 40004, dport: 53, payload: query, ext: [{ type: 44 }] });
  t.match(f, { protocol: 17, clientPort: 40004, payload: [...query] });
  t.same(run(t, true, { src: 'fd00::2', dst: 'fd00::1', sport: 40005, dport: 53, payload: query, ext: [{ type: 44, fragOffset: 8 }] }), [],
    'a later fragment has no transport header: nothing');
  t.same(run(t, true, { src: 'fd00::2', dst: 'fd00::1', sport: 40006, dport: 53, payload: query,
    ext: [{ type: 0 }, { type: 60 }, { type: 60 }, { type: 60 }, { type: 60 }] }), [], 'more than four: left unread');
});

t.test('UDP query, IPv4 egress to port 53: one record, every field', async (t) => {
  const [r, ...more] = run(t, true, { src: '10.1.0.2', dst: '10.1.0.1', sport: 40000, dport: 53, payload: query });
  t.same(more, []);
  t.ok(r!.timeNs > 0, 'capture time set');
  t.match(r, {
    protocol: 17, family: 4, fromClient: true, client: '10.1.0.2', clientPort: 40000, server: '10.1.0.1', serverPort: 53,
    truncated: false, wireLength: query.length, payload: [...query],
  });
});

t.test('UDP response, IPv6 ingress from port 53: the client is the destination', async (t) => {
  const [r] = run(t, false, { src: 'fd00::1', dst: 'fd00::2', sport: 53, dport: 41000, payload: query });
  t.match(r, { protocol: 17, family: 6, fromClient: false, client: 'fd00::2', clientPort: 41000, server: 'fd00::1', serverPort: 53, payload: [...query] });
});

t.test('TCP segments with data, both families, both directions; the second port of the set', async (t) => {
  const [a] = run(t, true, { src: '10.1.0.2', dst: '10.1.0.1', sport: 40001, dport: 53, payload: tcpQuery, proto: 6 });
  t.match(a, { protocol: 6, family: 4, fromClient: true, clientPort: 40001, serverPort: 53, payload: [...tcpQuery], wireLength: tcpQuery.length });
  const [b] = run(t, false, { src: 'fd00::1', dst: 'fd00::2', sport: 5353, dport: 41001, payload: tcpQuery, proto: 6 });
  t.match(b, { protocol: 6, family: 6, fromClient: false, client: 'fd00::2', server: 'fd00::1', serverPort: 5353 });
  const [c] = run(t, true, { src: '10.1.0.2', dst: '10.1.0.1', sport: 40002, dport: 5353, payload: query });
  t.match(c, { protocol: 17, serverPort: 5353 });
});

t.test('a payload longer than 512 bytes: the first 512, flagged truncated, the wire length kept', async (t) => {
  const big = new Uint8Array(1400).map((_, i) => i & 0xff);
  const [r] = run(t, false, { src: '10.1.0.1', dst: '10.1.0.2', sport: 53, dport: 40000, payload: big });
  t.equal(r!.payload.length, K.PF_DNS_MAX_PAYLOAD);
  t.same(r!.payload, [...big.subarray(0, K.PF_DNS_MAX_PAYLOAD)]);
  t.match(r, { truncated: true, wireLength: 1400 });
  const [s] = run(t, true, { src: 'fd00::2', dst: 'fd00::1', sport: 40000, dport: 53, payload: big, proto: 6 });
  t.match(s, { truncated: true, wireLength: 1400, protocol: 6 });
});

t.test('the UDP length decides when it is shorter than the packet (trailing bytes are not DNS)', async (t) => {
  const [r] = run(t, true, { src: '10.1.0.2', dst: '10.1.0.1', sport: 40000, dport: 53, payload: query, udpLen: 8 + 12 });
  t.equal(r!.payload.length, 12);
  t.equal(r!.wireLength, 12);
  const [s] = run(t, true, { src: '10.1.0.2', dst: '10.1.0.1', sport: 40000, dport: 53, payload: query, udpLen: 8 + 4000 });
  t.equal(s!.wireLength, query.length, 'a UDP length beyond the packet is not believed');
});

t.test('no record: not DNS, the server side, no data, cut or odd packets', async (t) => {
  const v4 = { src: '10.1.0.2', dst: '10.1.0.1' };
  const none: Array<[string, boolean, Pkt]> = [
    ['UDP to another port', true, { ...v4, sport: 40000, dport: 54, payload: query }],
    ['TCP to another port', true, { ...v4, sport: 40000, dport: 80, payload: tcpQuery, proto: 6 }],
    ['server side: response leaving port 53', true, { src: '10.1.0.1', dst: '10.1.0.2', sport: 53, dport: 40000, payload: query }],
    ['server side: query arriving at port 53', false, { ...v4, sport: 40000, dport: 53, payload: query }],
    ['TCP SYN to 53 (no data)', true, { ...v4, sport: 40000, dport: 53, payload: new Uint8Array(0), proto: 6, tcpFlags: 0x02 }],
    ['TCP ACK from 53 (no data)', false, { src: '10.1.0.1', dst: '10.1.0.2', sport: 53, dport: 40000, payload: new Uint8Array(0), proto: 6, tcpFlags: 0x10 }],
    ['UDP without payload', true, { ...v4, sport: 40000, dport: 53, payload: new Uint8Array(0) }],
    ['UDP length 0..7 and no payload', true, { ...v4, sport: 40000, dport: 53, payload: new Uint8Array(0), udpLen: 3 }],
    ['IPv4 header only', true, { ...v4, sport: 40000, dport: 53, payload: query, cut: 20 }],
    ['UDP header cut', true, { ...v4, sport: 40000, dport: 53, payload: query, cut: 24 }],
    ['TCP header cut', true, { ...v4, sport: 40000, dport: 53, payload: tcpQuery, proto: 6, cut: 30 }],
    ['IPv6, UDP header cut after the ports', true, { src: 'fd00::2', dst: 'fd00::1', sport: 40000, dport: 53, payload: query, cut: 44 }],
    ['IPv4 non-first fragment', true, { ...v4, sport: 40000, dport: 53, payload: query, fragOffset: 100 }],
    ['ARP', true, { ...v4, sport: 40000, dport: 53, payload: query, ethType: 0x0806 }],
    ['loopback server (include_loopback false)', true, { src: '127.0.0.1', dst: '127.0.0.53', sport: 40000, dport: 53, payload: query }],
    ['IPv6 loopback server', false, { src: '::1', dst: '::1', sport: 53, dport: 40000, payload: query }],
  ];
  for (const [what, egress, p] of none) t.same(run(t, egress, p), [], what);
  t.same(cap.readStats(), [0, 0], 'nothing lost or unreadable');
});

t.test('a TCP header length below 20 bytes is not believed', async (t) => {
  const pkt = packet({ src: '10.1.0.2', dst: '10.1.0.1', sport: 40000, dport: 53, payload: tcpQuery, proto: 6 });
  pkt[14 + 20 + 12] = 2 << 4; // doff 2
  const { retval, records } = cap.testRun(true, pkt);
  t.equal(retval, 1);
  t.equal(records.byteLength, 0);
});
