// CIDR ranges compared against FlowBatch's 16-byte addresses. IPv4 ranges are
// matched in their v4-mapped form (::ffff:a.b.c.d/96+n), which is how the batch
// stores IPv4 addresses, so one comparison covers both families.

import { isIP } from 'node:net';
import { writeAddress } from '../../pdata/ip-address.ts';

export interface Cidr {
  bytes: Uint8Array; // 16, already masked
  prefix: number; // 0..128 over the 16-byte form
}

/** Parses "10.0.0.0/8", "fd00::/8" or a bare address (a single host); throws with the reason. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(addr);
  if (family === 0) throw new TypeError(`invalid CIDR "${text}": "${addr}" is not an IP address`);
  const max = family === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > max) throw new TypeError(`invalid CIDR "${text}": prefix length must be 0..${max}`);
    bits = Number(p);
  }
  const bytes = new Uint8Array(16);
  writeAddress(bytes, 0, addr);
  const prefix = family === 4 ? 96 + bits : bits;
  for (let i = 0; i < 16; i++) bytes[i]! &= byteMask(prefix, i);
  return { bytes, prefix };
}

function byteMask(prefix: number, i: number): number {
  const left = prefix - i * 8;
  if (left >= 8) return 0xff;
  if (left <= 0) return 0;
  return (0xff << (8 - left)) & 0xff;
}

/** Sets out[i] = 1 for every row whose address (column `addr`) lies in one of `cidrs`, else 0. */
export function markInCidrs(addr: Uint8Array, rows: number, cidrs: readonly Cidr[], out: Uint8Array): void {
  const masks = cidrs.map((c) => Uint8Array.from({ length: 16 }, (_, i) => byteMask(c.prefix, i)));
  for (let r = 0; r < rows; r++) {
    const o = r * 16;
    let hit = 0;
    for (let c = 0; c < cidrs.length && !hit; c++) {
      const want = cidrs[c]!.bytes;
      const mask = masks[c]!;
      const full = cidrs[c]!.prefix >> 3;
      let i = 0;
      while (i < full && addr[o + i] === want[i]) i++;
      if (i < full) continue;
      if (i < 16 && mask[i] !== 0 && (addr[o + i]! & mask[i]!) !== want[i]) continue;
      hit = 1;
    }
    out[r] = hit;
  }
}
