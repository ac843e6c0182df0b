// podflow components: what can go in a config, like `otelcol components`.

import type { Factory } from '../component/component.ts';
import { factories } from '../components.ts';

function row(f: Factory) {
  return {
    kind: f.kind,
    type: f.type,
    stability: f.stability,
    signals: 'signals' in f ? [...f.signals] : [],
    aliases: [...(f.aliases ?? [])],
    description: f.description,
  };
}

export function componentsCommand(json: boolean): number {
  const rows = [...factories].map(row).sort((a, b) => a.kind.localeCompare(b.kind) || a.type.localeCompare(b.type));
  if (json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  const header = ['KIND', 'TYPE', 'STABILITY', 'SIGNALS', 'ALIASES', 'DESCRIPTION'];
  const table = rows.map((r) => [r.kind, r.type, r.stability, r.signals.join(',') || '-', r.aliases.join(',') || '-', r.description]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  process.stdout.write([line(header), ...table.map(line)].join('\n') + '\n');
  return 0;
}
