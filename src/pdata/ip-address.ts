// Conversions between textual IP addresses and the 16-byte form FlowBatch stores
// (IPv4 as the v4-mapped IPv6 address ::ffff:a.b.c.d).

import { isIPv4, isIPv6 } from 'node:net';

/** Writes `address` into `out` at `offset` (16 bytes); returns the family (4 or 6). */
export function writeAddress(out: Uint8Array, offset: number, address: string): 4 | 6 {
  if (isIPv4(address)) {
    out.fill(0, offset, offset + 10);
    out[offset + 10] = 0xff;
    out[offset + 11] = 0xff;
    const parts = address.split('.');
    for (let i = 0; i < 4; i++) out[offset + 12 + i] = Number(parts[i]);
    return 4;
  }
  if (!isIPv6(address)) throw new TypeError(`not an IP address: "${address}"`);
  let text = address;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // An embedded dotted quad (::ffff:1.2.3.4) becomes two hex groups first.
  const dot = text.lastIndexOf(':');
  const tail = text.slice(dot + 1);
  if (tail.includes('.')) {
    const p = tail.split('.').map(Number);
    text = `${text.slice(0, dot + 1)}${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...new Array<string>(8 - h.length - r.length).fill('0'), ...r];
  for (let i = 0; i < 8; i++) {
    const g = parseInt(groups[i] ?? '0', 16);
    out[offset + i * 2] = g >> 8;
    out[offset + i * 2 + 1] = g & 0xff;
  }
  return isV4Mapped(out, offset) ? 4 : 6;
}

export function isV4Mapped(buf: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 10; i++) if (buf[offset + i] !== 0) return false;
  return buf[offset + 10] === 0xff && buf[offset + 11] === 0xff;
}

/** The textual form of the 16 bytes at `offset`; v4-mapped addresses print as IPv4. */
export function formatAddress(buf: Uint8Array, offset: number): string {
  if (isV4Mapped(buf, offset)) {
    return `${buf[offset + 12]}.${buf[offset + 13]}.${buf[offset + 14]}.${buf[offset + 15]}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((buf[offset + i * 2]! << 8) | buf[offset + i * 2 + 1]!);
  // RFC 5952: compress the longest run (length ≥ 2) of zero groups.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
