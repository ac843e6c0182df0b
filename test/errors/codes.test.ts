// The error-code catalogue and docs/errors.md stay in step: every code has a
// "## CODE" section with text, and the doc names no code that does not exist.

import { readFileSync } from 'node:fs';
import t from 'tap';
import { ERROR_CODES } from '../../src/errors/codes.ts';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const codes = Object.keys(ERROR_CODES);

/** Section bodies by heading, for "## PODFLOW_..." headings. */
function sections(md: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = md.split(/^## /m).slice(1);
  for (const p of parts) {
    const nl = p.indexOf('\n');
    out.set(p.slice(0, nl < 0 ? p.length : nl).trim(), nl < 0 ? '' : p.slice(nl + 1));
  }
  return out;
}

const docSections = sections(doc);

t.test('every code has a section that says what it means and what to do', async (t) => {
  for (const code of codes) {
    const body = docSections.get(code);
    t.ok(body !== undefined, `docs/errors.md has a "## ${code}" section`);
    t.ok((body ?? '').trim().length > 40, `${code}: the section explains the code`);
    t.match(body ?? '', /What to do:/, `${code}: the section says what to do`);
  }
});

t.test('the doc names no code that does not exist', async (t) => {
  for (const heading of docSections.keys()) t.ok(codes.includes(heading), `"## ${heading}" is a code in src/errors/codes.ts`);
  const mentioned = new Set(doc.match(/\bPODFLOW_[A-Z0-9_]+/g) ?? []);
  for (const m of mentioned) t.ok(codes.includes(m), `${m}, mentioned in docs/errors.md, is a code in src/errors/codes.ts`);
});

t.test('every code has a one-line description in the catalogue', async (t) => {
  for (const [code, text] of Object.entries(ERROR_CODES)) {
    t.match(code, /^PODFLOW_[A-Z0-9_]+$/);
    t.ok(text.length > 10 && !text.includes('\n'), `${code} has a one-line description`);
  }
});
