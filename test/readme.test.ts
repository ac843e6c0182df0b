// The README stays true: its generated tables match the code, its example config
// validates, and its two set-up commands come first.

import t from 'tap';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { README, renderReadme } from '../scripts/readme-sections.ts';
import { defaultRegistry } from '../src/components.ts';
import { loadConfig } from '../src/config/resolve.ts';

const text = readFileSync(README, 'utf8');

t.test('component and metric tables are generated from the code', async (t) => {
  t.equal(renderReadme(text), text, 'stale: run `node_modules/.bin/node scripts/readme-sections.ts`');
});

t.test('it opens with exactly the two set-up commands', async (t) => {
  const first = /```sh\n([\s\S]*?)```/.exec(text)![1]!.trim().split('\n');
  t.equal(first.length, 2);
  t.match(first[0]!, /^make run\s+#/);
  t.match(first[1]!, /^make test\s+#/);
  const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
  t.match(ci, /^make test$/m, '.ci/run calls the README\'s test command');
});

t.test('the example config is valid', async (t) => {
  const block = /## A config\n\n```yaml\n([\s\S]*?)```/.exec(text)![1]!;
  const dir = mkdtempSync(join(tmpdir(), 'podflow-readme-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, block);
  const cfg = await loadConfig([file], defaultRegistry(), { OTLP_ENDPOINT: '127.0.0.1:4317' });
  t.same(cfg.service.pipelines.map((p) => p.id), ['metrics']);
});
