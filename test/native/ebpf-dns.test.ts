// The DNS capture's record layout as the C compiler laid it out
// (bpf/include/pf_dns_types.h) against the TypeScript table, and the decoder
// on hand-built records, including ones whose fields contradict the layout.

import t from 'tap';
import { decodeDnsRecords, nativeDnsLayout, PF_DNS_CONSTANTS, PF_DNS_EVENT as E } from '../../src/native/ebpf-dns.ts';
import { formatAddress, writeAddress } from '../../src/pdata/ip-address.ts';
import type { DnsPacket } from '../../src/receiver/ebpf/dns/dns-transactions.ts';

t.test('struct pf_dns_event and the constants match the C side', async (t) => {
  const native = nativeDnsLayout();
  t.same(native.pf_dns_event, E, 'size and every offset');
  t.same(native.constants, PF_DNS_CONSTANTS, 'payload bound, flags, stat indexes');
});

interface Rec { time: bigint; client: string; server: string; cport: number; sport: number; family: number; proto: number; flags: number; wire: number; payload: number[] }

function records(recs: Rec[]): ArrayBuffer {
  const buf = new ArrayBuffer(recs.length * E.size);
  const v = new DataView(buf);
  const u8 = new Uint8Array(buf);
  recs.forEach((r, i) => {
    const o = i * E.size;
    v.setBigUint64(o + E.time_ns, r.time, true);
    writeAddress(u8, o + E.client_addr, r.client);
    writeAddress(u8, o + E.server_addr, r.server);
    v.setUint32(o + E.payload_len, r.wire, true);
    v.setUint16(o + E.client_port, r.cport, true);
    v.setUint16(o + E.server_port, r.sport, true);
    v.setUint16(o + E.captured_len, r.payload.length, true);
    u8[o + E.family] = r.family;
    u8[o + E.protocol] = r.proto;
    u8[o + E.flags] = r.flags;
    u8.set(r.payload.slice(0, PF_DNS_CONSTANTS.PF_DNS_MAX_PAYLOAD), o + E.payload);
  });
  return buf;
}

t.test('decodes every field; views, not copies', async (t) => {
  const base: Rec = { time: 123_456_789_012_345n, client: '10.0.0.2', server: '10.0.0.1', cport: 40000, sport: 53, family: 4, proto: 17, flags: PF_DNS_CONSTANTS.PF_DNS_FROM_CLIENT, wire: 3, payload: [1, 2, 3] };
  const buf = records([base, { ...base, client: 'fd00::2', server: 'fd00::1', family: 6, proto: 6, flags: PF_DNS_CONSTANTS.PF_DNS_TRUNCATED, wire: 9000 }]);
  const got: DnsPacket[] = [];
  t.equal(decodeDnsRecords(buf, (p) => got.push(p)), 0);
  t.equal(got.length, 2);
  t.match(got[0], { timeNs: 123_456_789_012_345, protocol: 17, family: 4, fromClient: true, clientPort: 40000, serverPort: 53, truncated: false, wireLength: 3 });
  t.equal(formatAddress(got[0]!.clientAddr, 0), '10.0.0.2');
  t.equal(formatAddress(got[0]!.serverAddr, 0), '10.0.0.1');
  t.same([...got[0]!.payload], [1, 2, 3]);
  t.equal(got[0]!.payload.buffer, buf, 'a view into the batch');
  t.match(got[1], { protocol: 6, family: 6, fromClient: false, truncated: true, wireLength: 9000 });
  t.equal(formatAddress(got[1]!.clientAddr, 0), 'fd00::2');
});

t.test('records contradicting the layout are skipped and counted; a partial tail is ignored', async (t) => {
  const ok: Rec = { time: 1n, client: '10.0.0.2', server: '10.0.0.1', cport: 1, sport: 53, family: 4, proto: 17, flags: 0, wire: 1, payload: [0] };
  const buf = records([{ ...ok, family: 5 }, { ...ok, proto: 1 }, ok]);
  new DataView(buf).setUint16(E.size * 2 + E.captured_len, 600, true);
  const extra = new Uint8Array(buf.byteLength + 10);
  extra.set(new Uint8Array(buf));
  const got: DnsPacket[] = [];
  t.equal(decodeDnsRecords(extra.buffer, (p) => got.push(p)), 3);
  t.same(got, []);
});
