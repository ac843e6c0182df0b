// Formats ranked flow edges as a fixed-width text table that fits a terminal
// width: the numeric columns keep their width, the two name columns shrink
// (truncated with "~") when the line would be too long.

import type { EdgeStats } from './top-flows.ts';
import { bytesRate, rtt, si } from './units.ts';

export const COLUMNS = ['SOURCE', 'DESTINATION', 'PORT', 'BYTES/S', 'PKTS/S', 'RETRANS', 'OPENED', 'FAILED', 'DROPS', 'RTT'] as const;
const GAP = '  ';
const MIN_NAME = 8;

/** The cells of one edge; rates divide by the window's seconds. */
export function edgeCells(e: EdgeStats, seconds: number): string[] {
  const s = seconds > 0 ? seconds : 1;
  return [
    e.source,
    e.destination,
    `${e.reply ? '<' : ''}${e.port}/${e.transport}`,
    bytesRate(e.bytes / s),
    si(e.packets / s),
    si(e.retransmits),
    si(e.opened),
    si(e.failed),
    si(e.drops),
    rtt(e.rttSamples ? e.rttSumUs / e.rttSamples : 0),
  ];
}

/** Header plus one line per edge; `width` (a terminal's columns) caps the line length. */
export function formatTable(edges: readonly EdgeStats[], seconds: number, width?: number): string[] {
  const rows: string[][] = [[...COLUMNS], ...edges.map((e) => edgeCells(e, seconds))];
  const widths = COLUMNS.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  if (width !== undefined) {
    const total = widths.reduce((a, b) => a + b, 0) + GAP.length * (COLUMNS.length - 1);
    let excess = total - width;
    // Shrink the wider of the two name columns first, one character at a time.
    while (excess > 0 && (widths[0]! > MIN_NAME || widths[1]! > MIN_NAME)) {
      const c = widths[0]! >= widths[1]! ? 0 : 1;
      widths[c]!--;
      excess--;
    }
  }
  // Names align left, numbers right; a cut name ends in "~" (a header is just cut).
  const lines = rows.map((r, i) => r.map((cell, c) => {
    const w = widths[c]!;
    const text = cell.length <= w ? cell : i === 0 ? cell.slice(0, w) : `${cell.slice(0, w - 1)}~`;
    return c < 3 ? text.padEnd(w) : text.padStart(w);
  }).join(GAP).trimEnd());
  return width === undefined ? lines : lines.map((l) => (l.length > width ? l.slice(0, width) : l));
}
