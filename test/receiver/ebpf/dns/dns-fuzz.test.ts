// Seeded fuzzing of the DNS parser and the matcher: mutations of well-formed
// messages (bit flips, byte overwrites, truncation, insertion, splices of two
// messages, pointer bytes sprinkled in) and plain random bytes. Nothing may
// throw; every result is ok or a known reason; an accepted name is bounded and
// printable. The seed is printed, so a failure can be replayed.

import t from 'tap';
import { FlowBatch } from '../../../../src/pdata/flow-batch.ts';
import { DNS_PARSE_FAILURES, parseDnsMessage, readDnsName } from '../../../../src/receiver/ebpf/dns/dns-message.ts';
import { DNS_PACKET_FAILURES, DnsTransactions } from '../../../../src/receiver/ebpf/dns/dns-transactions.ts';
import { header, name, opt, ptr, query, question, response, rr, tcpFrame } from './dns-wire.ts';
import { rng } from '../../../support/seeded-random.ts';

const SEED = Number(process.env.DNS_FUZZ_SEED ?? 0x5eed_d25);
const KNOWN = new Set<string>(DNS_PARSE_FAILURES);
// Presentation output: lower-case letters, digits, - _ * / \ and the label dots.
const PRINTABLE = /^(?:\.|[a-z0-9_*/\\.-]+)$/;

function seeds(): Uint8Array[] {
  const q = question('www.example.com');
  return [
    query('example.com'),
    query('kubernetes.default.svc.cluster.local', 28),
    response('api.example.org', 1, { id: 7 }),
    response('nope.example', 1, { rcode: 3 }),
    new Uint8Array([...header({ arcount: 1 }), ...question('example.org', 65), ...opt(1232)]),
    new Uint8Array([...header({ qr: true, ancount: 2 }), ...q, ...rr(ptr(12), 5, 60, [3, 0x77, 0x65, 0x62, ...ptr(16)]), ...rr(ptr(12 + q.length + 12), 1, 60, [10, 0, 0, 7])]),
    new Uint8Array([...header({ qdcount: 2 }), ...q, ...ptr(16), 0, 1, 0, 1]),
    new Uint8Array([...header(), ...name('a'.repeat(63) + '.b'), 0, 16, 0, 1]),
  ];
}

function mutate(r: () => number, base: Uint8Array, pool: Uint8Array[]): Uint8Array {
  const int = (n: number) => Math.floor(r() * n);
  let b = Array.from(base);
  const rounds = 1 + int(4);
  for (let i = 0; i < rounds; i++) {
    switch (int(7)) {
      case 0: if (b.length) { const at = int(b.length); b[at]! ^= 1 << int(8); } break;
      case 1: if (b.length) b[int(b.length)] = int(256); break;
      case 2: b = b.slice(0, int(b.length + 1)); break;
      case 3: b.splice(int(b.length + 1), 0, ...Array.from({ length: 1 + int(8) }, () => int(256))); break;
      case 4: { const o = pool[int(pool.length)]!; const cut = int(b.length + 1); b = [...b.slice(0, cut), ...Array.from(o.subarray(int(o.length + 1)))]; break; }
      case 5: if (b.length > 12) { const at = 12 + int(b.length - 12); b[at] = 0xc0 | int(4); if (at + 1 < b.length) b[at + 1] = int(256); } break;
      case 6: if (b.length > 12) b[12 + int(b.length - 12)] = [0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xff, 0][int(8)]!; break;
    }
  }
  return new Uint8Array(b);
}

t.test('parser: mutated and random messages', async (t) => {
  const r = rng(SEED);
  const pool = seeds();
  const reasons = new Map<string, number>();
  let accepted = 0;
  const N = 20_000;
  t.comment(`seed ${SEED} (DNS_FUZZ_SEED to replay)`);
  for (let i = 0; i < N; i++) {
    const bytes = i % 4 === 3
      ? new Uint8Array(Array.from({ length: Math.floor(r() * 600) }, () => Math.floor(r() * 256)))
      : mutate(r, pool[i % pool.length]!, pool);
    let res;
    try {
      res = parseDnsMessage(bytes);
      // Every offset is a place an answer's name could start.
      const res2 = readDnsName(bytes, Math.floor(r() * (bytes.length + 2)));
      if (!res2.ok && !KNOWN.has(res2.reason)) throw new Error(`readDnsName: unknown reason ${res2.reason}`);
      if (res2.ok && (res2.end > bytes.length || !PRINTABLE.test(res2.name))) throw new Error(`readDnsName: bad result ${JSON.stringify(res2)}`);
    } catch (e) {
      t.fail(`case ${i} threw: ${(e as Error).message} on ${Buffer.from(bytes).toString('hex')}`);
      return;
    }
    if (res.ok) {
      accepted++;
      const n = res.message.question?.name;
      if (n !== undefined && (!PRINTABLE.test(n) || n.length > 4 * 255)) {
        t.fail(`case ${i}: name ${JSON.stringify(n)} from ${Buffer.from(bytes).toString('hex')}`);
        return;
      }
    } else {
      if (!KNOWN.has(res.reason)) {
        t.fail(`case ${i}: unknown reason ${res.reason}`);
        return;
      }
      reasons.set(res.reason, (reasons.get(res.reason) ?? 0) + 1);
    }
  }
  t.comment(`accepted ${accepted}/${N}; ${[...reasons].map(([k, v]) => `${k}=${v}`).join(' ')}`);
  t.ok(accepted > N / 10 && accepted < N, 'the mutations reach both outcomes');
  t.ok(reasons.size >= 7, `${reasons.size} distinct reasons reached`);
});

t.test('parser: random well-formed names read back exactly', async (t) => {
  const r = rng(SEED + 1);
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
  for (let i = 0; i < 2000; i++) {
    const labels = Array.from({ length: 1 + Math.floor(r() * 6) }, () =>
      Array.from({ length: 1 + Math.floor(r() * 20) }, () => alphabet[Math.floor(r() * alphabet.length)]).join(''));
    const dotted = labels.join('.');
    const res = parseDnsMessage(query(dotted, Math.floor(r() * 65536)));
    if (!res.ok || res.message.question?.name !== dotted.toLowerCase()) {
      t.fail(`${dotted}: ${JSON.stringify(res)}`);
      return;
    }
  }
  t.pass('2000 names');
});

t.test('matcher: random packets never throw and stay bounded', async (t) => {
  const r = rng(SEED + 2);
  const pool = seeds();
  const reasons = new Set<string>();
  let other = 0;
  const tx = new DnsTransactions({
    timeoutMs: 50, maxPending: 64, maxFinished: 10_000, queryNames: { mode: 'top', top_n: 5, allow: [] },
    events: { parseError: (x) => reasons.add(x), truncated: () => other++, unmatchedResponse: () => other++, pendingEvicted: () => other++, timedOut: () => other++ },
  });
  const a = new Uint8Array(16);
  a.set([0xff, 0xff, 10, 0, 0, 1], 10);
  const s = a.slice();
  s[15] = 53;
  let rows = 0;
  for (let i = 0; i < 10_000; i++) {
    const tcp = r() < 0.4;
    const m = mutate(r, pool[i % pool.length]!, pool);
    let payload = tcp ? tcpFrame(m, mutate(r, pool[(i + 1) % pool.length]!, pool)) : m;
    const cut = r() < 0.2;
    if (cut) payload = payload.subarray(0, Math.floor(r() * payload.length));
    const wire = r() < 0.5 ? undefined : payload.length + (cut ? Math.floor(r() * 3000) : 0);
    try {
      tx.observe({
        timeNs: i * 100_000, protocol: tcp ? 6 : 17, family: 4, fromClient: r() < 0.5,
        clientAddr: a, clientPort: 40000 + (i % 3), serverAddr: s, serverPort: 53, payload, truncated: cut,
        ...(wire !== undefined ? { wireLength: wire } : {}),
      });
      if (i % 500 === 499) {
        const b = new FlowBatch(16);
        tx.flush(b, i * 100_000);
        rows += b.length;
      }
    } catch (e) {
      t.fail(`packet ${i} threw: ${(e as Error).stack}`);
      return;
    }
    if (tx.pending > 64) {
      t.fail(`pending ${tx.pending} > maxPending`);
      return;
    }
  }
  t.comment(`rows ${rows}, other events ${other}, reasons ${[...reasons].join(' ')}`);
  t.ok([...reasons].every((x) => (DNS_PACKET_FAILURES as readonly string[]).includes(x)), 'only known reasons');
  t.ok(rows > 0, 'some lookups matched or timed out');
});
