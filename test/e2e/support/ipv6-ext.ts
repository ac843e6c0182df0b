// IPv6 extension headers for hand-built test packets (BPF_PROG_TEST_RUN).

export interface Ext {
  type: 0 | 43 | 44 | 60;
  /** Length beyond the first 8 bytes, in 8-byte units (not for a fragment header). */
  units?: number;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOffset?: number;
}

/** The bytes of a chain of IPv6 extension headers, each naming the next (the last: `proto`). */
export function extensionHeaders(chain: Ext[], proto: number): Uint8Array {
  const sizes = chain.map((e) => (e.type === 44 ? 8 : ((e.units ?? 0) + 1) * 8));
  const out = new Uint8Array(sizes.reduce((a, b) => a + b, 0));
  let at = 0;
  chain.forEach((e, i) => {
    out[at] = chain[i + 1]?.type ?? proto;
    if (e.type === 44) new DataView(out.buffer).setUint16(at + 2, e.fragOffset ?? 0);
    else out[at + 1] = e.units ?? 0;
    // The option bytes stay zero: Pad1 options, valid padding.
    at += sizes[i]!;
  });
  return out;
}
