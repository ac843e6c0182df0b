// Needs root (CAP_BPF, CAP_NET_ADMIN). BPF_PROG_TEST_RUN of the cgroup_skb UDP
// programs on hand-built packets, with the datapath loaded but attached
// nowhere: the exact key and counters each packet produces. (sock_ops and
// tracepoint programs have no test-run support in the kernel; the namespace
// tests cover them.)

import t from 'tap';
import { PF_CONSTANTS as K, PF_UDP_ENTRY_SIZE, PF_UDP_KEY, PF_UDP_VALUE } from '../../src/native/ebpf-layout.ts';
import { openDatapath } from '../../src/native/ebpf.ts';
import { formatAddress, writeAddress } from '../../src/pdata/ip-address.ts';
import { u64 } from '../../src/receiver/ebpf/connection-table.ts';
import { extensionHeaders, type Ext } from './support/ipv6-ext.ts';

const dp = openDatapath({
  cgroupPath: '', connMapSize: 64, udpMapSize: 64, ringBufferSize: 4096 * 4, includeLoopback: false, attach: false,
}, () => undefined);
t.teardown(() => dp.close());

function packet(src: string, dst: string, sport: number, dport: number, payload: number, proto = 17, ext: Ext[] = []): Uint8Array {
  const v6 = src.includes(':');
  const extBytes = v6 ? extensionHeaders(ext, proto) : new Uint8Array(0);
  const ipLen = (v6 ? 40 : 20) + extBytes.length;
  const buf = new Uint8Array(14 + ipLen + 8 + payload);
  const v = new DataView(buf.buffer);
  v.setUint16(12, v6 ? 0x86dd : 0x0800);
  const ip = 14;
  const addr = new Uint8Array(16);
  if (v6) {
    v.setUint32(ip, 0x60000000);
    v.setUint16(ip + 4, extBytes.length + 8 + payload);
    buf[ip + 6] = ext.length ? ext[0]!.type : proto;
    buf[ip + 7] = 64;
    writeAddress(addr, 0, src); buf.set(addr, ip + 8);
    writeAddress(addr, 0, dst); buf.set(addr, ip + 24);
    buf.set(extBytes, ip + 40);
  } else {
    buf[ip] = 0x45;
    v.setUint16(ip + 2, ipLen + 8 + payload);
    buf[ip + 8] = 64;
    buf[ip + 9] = proto;
    writeAddress(addr, 0, src); buf.set(addr.subarray(12), ip + 12);
    writeAddress(addr, 0, dst); buf.set(addr.subarray(12), ip + 16);
  }
  const l4 = ip + ipLen;
  v.setUint16(l4, sport);
  v.setUint16(l4 + 2, dport);
  v.setUint16(l4 + 4, 8 + payload);
  return buf;
}

interface Entry { local: string; remote: string; lport: number; rport: number; family: number; dir: number; bytes: number; packets: number }
function entries(): Entry[] {
  const buf = dp.readUdp();
  const v = new DataView(buf);
  const u8 = new Uint8Array(buf);
  const out: Entry[] = [];
  for (let o = 0; o + PF_UDP_ENTRY_SIZE <= buf.byteLength; o += PF_UDP_ENTRY_SIZE) {
    out.push({
      local: formatAddress(u8, o + PF_UDP_KEY.local_addr),
      remote: formatAddress(u8, o + PF_UDP_KEY.remote_addr),
      lport: v.getUint16(o + PF_UDP_KEY.local_port, true),
      rport: v.getUint16(o + PF_UDP_KEY.remote_port, true),
      family: u8[o + PF_UDP_KEY.family]!,
      dir: u8[o + PF_UDP_KEY.direction]!,
      bytes: u64(v, o + PF_UDP_KEY.size + PF_UDP_VALUE.bytes),
      packets: u64(v, o + PF_UDP_KEY.size + PF_UDP_VALUE.packets),
    });
  }
  return out.sort((a, b) => a.dir - b.dir || a.family - b.family);
}

t.test('egress IPv4 datagrams: one entry, exact payload bytes', async (t) => {
  for (let i = 0; i < 3; i++) t.equal(dp.testRunUdp(true, packet('10.1.2.3', '10.4.5.6', 5555, 53, 100)), 1, 'never drops');
  t.same(entries(), [{ local: '10.1.2.3', remote: '10.4.5.6', lport: 5555, rport: 53, family: 4, dir: K.PF_DIR_EGRESS, bytes: 300, packets: 3 }]);
});

t.test('ingress IPv6: local is the destination', async (t) => {
  t.equal(dp.testRunUdp(false, packet('fd00::2', 'fd00::1', 53, 6000, 1200)), 1);
  t.match(entries()[1], { local: 'fd00::1', remote: 'fd00::2', lport: 6000, rport: 53, family: 6, dir: K.PF_DIR_INGRESS, bytes: 1200, packets: 1 });
});

t.test('ignored: loopback peers (include_loopback false), TCP, non-IP', async (t) => {
  const before = entries().length;
  t.equal(dp.testRunUdp(true, packet('127.0.0.1', '127.0.0.1', 1, 2, 10)), 1);
  t.equal(dp.testRunUdp(true, packet('::1', '::1', 1, 2, 10)), 1);
  // TCP leaves on the IP header's protocol byte (read in place), IPv4 and IPv6, both directions.
  t.equal(dp.testRunUdp(true, packet('10.1.2.3', '10.4.5.6', 1, 2, 10, 6)), 1);
  t.equal(dp.testRunUdp(false, packet('10.1.2.3', '10.4.5.6', 1, 2, 10, 6)), 1);
  t.equal(dp.testRunUdp(true, packet('fd00::1', 'fd00::2', 1, 2, 10, 6)), 1);
  t.equal(dp.testRunUdp(false, packet('fd00::1', 'fd00::2', 1, 2, 10, 6)), 1);
  t.equal(entries().length, before);
  t.equal(dp.readStats()[K.PF_STAT_UDP_INSERTS], 2, 'two entries were created in all');
});

t.test('IPv6 extension headers before UDP are stepped over; TCP behind them is still ignored', async (t) => {
  const chain: Ext[] = [{ type: 0 }, { type: 60, units: 2 }];
  t.equal(dp.testRunUdp(true, packet('fd00::5', 'fd00::6', 7000, 53, 300, 17, chain)), 1);
  t.equal(dp.testRunUdp(true, packet('fd00::5', 'fd00::6', 7000, 53, 200, 17, [{ type: 44 }])), 1, 'a first fragment');
  t.equal(dp.testRunUdp(true, packet('fd00::5', 'fd00::6', 7000, 53, 999, 17, [{ type: 44, fragOffset: 8 }])), 1, 'a later one');
  t.equal(dp.testRunUdp(true, packet('fd00::5', 'fd00::6', 7001, 53, 10, 6, chain)), 1, 'TCP');
  const mine = entries().filter((e) => e.local === 'fd00::5');
  t.same(mine, [{ local: 'fd00::5', remote: 'fd00::6', lport: 7000, rport: 53, family: 6, dir: K.PF_DIR_EGRESS, bytes: 500, packets: 2 }],
    'the two datagrams whose UDP header could be reached, exact bytes; the later fragment and TCP not counted');
});
