// A cheap Map key for a 16-byte address, computed without formatting text: an
// IPv4 (v4-mapped) address is its 32-bit value as a number; IPv6 is an 8-char
// string of its 16-bit groups (rare on the hot path, and still no parsing).
// Both the cache (from API strings) and the processor (from batch bytes) use it.

import { isV4Mapped, writeAddress } from '../../pdata/ip-address.ts';
import { isIP } from 'node:net';

export type AddressKey = number | string;

export function addressKeyOf(buf: Uint8Array, off: number): AddressKey {
  if (isV4Mapped(buf, off)) {
    return ((buf[off + 12]! << 24) | (buf[off + 13]! << 16) | (buf[off + 14]! << 8) | buf[off + 15]!) >>> 0;
  }
  let s = '';
  for (let i = 0; i < 16; i += 2) s += String.fromCharCode((buf[off + i]! << 8) | buf[off + i + 1]!);
  return s;
}

const scratch = new Uint8Array(16);

/** The key of a textual address, or undefined when it is not an IP address. */
export function addressKeyOfText(text: string): AddressKey | undefined {
  if (typeof text !== 'string' || isIP(text) === 0) return undefined;
  writeAddress(scratch, 0, text);
  return addressKeyOf(scratch, 0);
}
