// Generates the README's component and metric tables from the code, so the docs
// cannot drift from what podflow registers and emits. `node scripts/readme-sections.ts`
// rewrites them in place; test/readme.test.ts fails when they are stale.

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { factories } from '../src/components.ts';
import { ALL_METRICS } from '../src/exporter/internal/flow-metrics/metric-definitions.ts';
import { prometheusBaseName } from '../src/exporter/prometheus/prometheus-naming.ts';

export const README = fileURLToPath(new URL('../README.md', import.meta.url));

export function componentsSection(): string {
  const rows = [...factories].sort((a, b) => a.kind.localeCompare(b.kind) || a.type.localeCompare(b.type));
  const lines = [
    '## Components',
    '',
    'Each has a README with its settings, defaults and the metrics it emits (`src/<kind>/<type>/README.md`).',
    '',
    '| kind | type | aliases | stability | signals | what it does |',
    '|---|---|---|---|---|---|',
    ...rows.map((f) => {
      const signals = 'signals' in f ? f.signals.join(', ') : '';
      const link = `[\`${f.type}\`](src/${f.kind}/${f.type}/README.md)`;
      return `| ${f.kind} | ${link} | ${(f.aliases ?? []).map((a) => `\`${a}\``).join(', ')} | ${f.stability} | ${signals} | ${f.description} |`;
    }),
  ];
  return lines.join('\n');
}

export function metricsSection(): string {
  const lines = [
    '## Metrics',
    '',
    'There is no stable OpenTelemetry semantic convention for flow metrics yet; podflow keeps',
    'one consistent scheme. Each flow edge is directed: counters are what the source sent.',
    '',
    '| metric | type | unit | Prometheus name | description |',
    '|---|---|---|---|---|',
    ...ALL_METRICS.map((m) => {
      const type = m.kind === 'sum' ? 'Sum (monotonic)' : 'Histogram';
      const base = prometheusBaseName(m.name, m.unit).replace(/\./g, '_');
      const prom = m.kind === 'sum' ? `\`${base}_total\`` : `\`${base}_bucket\`, \`_sum\`, \`_count\``;
      return `| \`${m.name}\` | ${type} | \`${m.unit}\` | ${prom} | ${m.description} |`;
    }),
  ];
  return lines.join('\n');
}

export function replaceSection(text: string, marker: string, body: string): string {
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README has no ${marker} markers`);
  return `${text.slice(0, i + start.length)}\n${body}\n${text.slice(j)}`;
}

export function renderReadme(text: string): string {
  return replaceSection(replaceSection(text, 'components', componentsSection()), 'metrics', metricsSection());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(README, renderReadme(readFileSync(README, 'utf8')));
}
