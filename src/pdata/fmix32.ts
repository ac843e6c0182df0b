// The murmur3 finaliser, for open-addressing tables and partitioning over
// integer keys: every input bit reaches every output bit, so masking off the
// low bits of the result spreads keys that differ only in their high bits
// (IPv4 addresses read as little-endian words differ in their top byte).

/** A 32-bit integer mixed so that each of its bits flips about half of the result's. */
export function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
