// The malformed-message corpus (testdata/*.hex): each file says what it is and
// the result it must give (`# expect: REASON` or `ok`, optionally the name
// read); none may throw. `# read-name-at: N` reads the name at offset N, for the
// pointer cases only reachable from an answer record. Every failure reason the
// parser knows has at least one file.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DNS_PARSE_FAILURES, parseDnsMessage, readDnsName } from '../../../../src/receiver/ebpf/dns/dns-message.ts';

const DIR = join(import.meta.dirname, 'testdata');

interface Case { file: string; bytes: Uint8Array; expect: string; at: number | undefined; name: string | undefined }

function load(file: string): Case {
  const text = readFileSync(join(DIR, file), 'utf8');
  const directive = (key: string) => text.match(new RegExp(`^# ${key}: (.*)$`, 'm'))?.[1];
  const hex = text.split('\n').filter((l) => !l.startsWith('#')).join('').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(hex)) throw new Error(`${file}: not hex`);
  const expect = directive('expect');
  if (!expect) throw new Error(`${file}: no "# expect:" line`);
  const at = directive('read-name-at');
  return { file, bytes: new Uint8Array(Buffer.from(hex, 'hex')), expect, at: at === undefined ? undefined : Number(at), name: directive('name') };
}

const cases = readdirSync(DIR).filter((f) => f.endsWith('.hex')).sort().map(load);

t.ok(cases.length >= 20, `${cases.length} corpus files`);

for (const c of cases) {
  t.test(c.file, async (t) => {
    let got: string;
    let name: string | undefined;
    if (c.at !== undefined) {
      const r = readDnsName(c.bytes, c.at);
      got = r.ok ? 'ok' : r.reason;
      name = r.ok ? r.name : undefined;
    } else {
      const r = parseDnsMessage(c.bytes);
      got = r.ok ? 'ok' : r.reason;
      name = r.ok ? r.message.question?.name : undefined;
    }
    t.equal(got, c.expect);
    if (c.name !== undefined) t.equal(name, c.name);
  });
}

t.test('every failure reason is in the corpus', async (t) => {
  const seen = new Set(cases.map((c) => c.expect));
  for (const r of DNS_PARSE_FAILURES) t.ok(seen.has(r), r);
});
