// Longest-prefix match of addresses outside the cluster against cidr_labels
// (e.g. 10.0.0.0/8: vpc, 0.0.0.0/0: internet). IPv4 prefixes match the
// v4-mapped form FlowBatch stores, so 0.0.0.0/0 never matches an IPv6 address.

import { writeAddress } from '../../pdata/ip-address.ts';
import { isIP } from 'node:net';

export interface Cidr {
  /** The 16-byte network address (IPv4 v4-mapped). */
  bytes: Uint8Array;
  /** Prefix length over the 16-byte form (an IPv4 /8 is 96 + 8). */
  bits: number;
}

export function parseCidr(text: string): { cidr?: Cidr; error?: string } {
  const slash = text.indexOf('/');
  if (slash < 0) return { error: `invalid CIDR "${text}": expected address/prefix, e.g. 10.0.0.0/8` };
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  const family = isIP(addr);
  if (family === 0) return { error: `invalid CIDR "${text}": "${addr}" is not an IP address` };
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > max) {
    return { error: `invalid CIDR "${text}": prefix length must be 0..${max}` };
  }
  const bytes = new Uint8Array(16);
  writeAddress(bytes, 0, addr);
  const bits = (family === 4 ? 96 : 0) + Number(lenText);
  maskInPlace(bytes, bits);
  return { cidr: { bytes, bits } };
}

function maskInPlace(b: Uint8Array, bits: number): void {
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    b[i]! &= (0xff << (8 - keep)) & 0xff;
  }
}

export class CidrLabels {
  readonly #entries: Array<{ cidr: Cidr; label: string }>;

  constructor(config: Record<string, string>) {
    this.#entries = Object.entries(config)
      .map(([text, label]) => ({ cidr: parseCidr(text).cidr!, label }))
      .filter((e) => e.cidr !== undefined)
      // Longest prefix first, so the first match is the most specific.
      .sort((a, b) => b.cidr.bits - a.cidr.bits);
  }

  get size(): number {
    return this.#entries.length;
  }

  /** The label of the 16 bytes at `off`, or undefined. */
  match(buf: Uint8Array, off: number): string | undefined {
    for (const e of this.#entries) if (matches(e.cidr, buf, off)) return e.label;
    return undefined;
  }
}

function matches(c: Cidr, buf: Uint8Array, off: number): boolean {
  const full = c.bits >> 3;
  for (let i = 0; i < full; i++) if (buf[off + i] !== c.bytes[i]) return false;
  const rest = c.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (buf[off + full]! & mask) === c.bytes[full];
}
