// Type and response-code mnemonics as dig prints them; unknown numbers stay
// distinguishable (TYPE<n>, RCODE<n>).

import t from 'tap';
import { dnsRcodeName, dnsTypeName } from '../../../../src/receiver/ebpf/dns/dns-names.ts';

t.test('types', async (t) => {
  const want: Record<number, string> = { 1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 41: 'OPT', 64: 'SVCB', 65: 'HTTPS', 252: 'AXFR', 255: 'ANY', 257: 'CAA' };
  for (const [n, name] of Object.entries(want)) t.equal(dnsTypeName(Number(n)), name);
  t.equal(dnsTypeName(0), 'TYPE0');
  t.equal(dnsTypeName(65280), 'TYPE65280');
});

t.test('response codes', async (t) => {
  t.same([0, 1, 2, 3, 4, 5, 9].map(dnsRcodeName), ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'NOTAUTH']);
  t.equal(dnsRcodeName(15), 'RCODE15');
});
