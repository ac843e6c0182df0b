// exporterhelper units: backoff bounds, RetryInfo decoding, error verdicts,
// and the sender's accounting (every item sent or dropped once, with its
// reason), coalescing, persistence across instances, and shutdown.

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Problem } from '../../../../src/config/schema.ts';
import { ExponentialBackoff } from '../../../../src/exporter/internal/exporterhelper/backoff.ts';
import { deliveryFields, validateDelivery } from '../../../../src/exporter/internal/exporterhelper/delivery-config.ts';
import { classifyGrpcError, classifyHttpStatus, classifyNetworkError, ExportError, parseRetryAfter } from '../../../../src/exporter/internal/exporterhelper/export-error.ts';
import { encodeStatusWithRetryInfo, retryDelayFromStatusDetails } from '../../../../src/exporter/internal/exporterhelper/grpc-status-details.ts';
import { QueuedRetrySender, type DropReason } from '../../../../src/exporter/internal/exporterhelper/queued-retry-sender.ts';
import { retryOnFailureSchema, type RetryConfig } from '../../../../src/exporter/internal/exporterhelper/retry-config.ts';
import { object } from '../../../../src/config/schema.ts';
import { silentLogger } from '../../../../src/service/logger.ts';

const retry = (o: Partial<RetryConfig> = {}): RetryConfig => ({
  enabled: true, initial_interval: 10, randomization_factor: 0, multiplier: 2, max_interval: 40, max_elapsed_time: 10_000, ...o,
});

class Stats {
  sent = 0;
  dropped: Record<string, number> = {};
  errors = 0;
  sentCb = (n: number) => { this.sent += n; };
  api = {
    sent: (n: number) => { this.sent += n; },
    dropped: (n: number, r: DropReason) => { this.dropped[r] = (this.dropped[r] ?? 0) + n; },
    requestFailed: () => { this.errors++; },
  };
}

const until = async (p: () => boolean, ms = 5000) => {
  for (const end = Date.now() + ms; !p(); await new Promise((r) => setTimeout(r, 5))) if (Date.now() > end) throw new Error('timeout');
};

t.test('config: Collector defaults and cross-field rules', async (t) => {
  const s = object(deliveryFields);
  const problems: Problem[] = [];
  const c = s.decodeOrDefault({}, ['exporters', 'x'], problems)!;
  t.same(problems, []);
  t.same(c.retry_on_failure, { enabled: true, initial_interval: 5000, randomization_factor: 0.5, multiplier: 1.5, max_interval: 30000, max_elapsed_time: 300000 });
  t.same(c.sending_queue, { enabled: true, num_consumers: 10, queue_size: 1000 });
  t.equal(c.shutdown_timeout, 10000);
  const bad = s.decodeOrDefault({ sending_queue: { storage: 'file_storage/x', blocking: true } }, ['exporters', 'x'], problems);
  t.equal(bad, undefined);
  t.same(problems.map((p) => p.path.join('::')).sort(), ['exporters::x::sending_queue', 'exporters::x::sending_queue::storage']);
  t.match(problems.find((p) => p.path.at(-1) === 'storage')!.message, /set sending_queue::storage_dir/);
  const c2 = s.decodeOrDefault({ retry_on_failure: { initial_interval: '10s', max_interval: '1s' }, sending_queue: { enabled: false, storage_dir: '/x' } }, [], [])!;
  t.same(validateDelivery(c2).map((p) => p.path.join('::')), ['retry_on_failure::max_interval', 'sending_queue::storage_dir']);
  t.ok(retryOnFailureSchema);
});

t.test('backoff: grows by the multiplier, capped, jitter within the factor', async (t) => {
  const b = new ExponentialBackoff(retry({ initial_interval: 100, multiplier: 1.5, max_interval: 300 }), () => 0.5);
  t.same([b.next(), b.next(), b.next(), b.next()], [100, 150, 225, 300]);
  const lo = new ExponentialBackoff(retry({ initial_interval: 100, randomization_factor: 0.5 }), () => 0);
  const hi = new ExponentialBackoff(retry({ initial_interval: 100, randomization_factor: 0.5 }), () => 0.999999);
  t.equal(lo.next(), 50);
  t.equal(hi.next(), 150);
});

t.test('verdicts: gRPC codes with RetryInfo, HTTP statuses with Retry-After, sockets', async (t) => {
  const details = encodeStatusWithRetryInfo(8, 'slow down', 2500);
  t.equal(retryDelayFromStatusDetails(details), 2500);
  t.equal(retryDelayFromStatusDetails(Uint8Array.from([0xff, 0xff])), undefined, 'garbage is ignored');
  const md = (d?: Uint8Array) => ({ get: (k: string) => (k === 'grpc-status-details-bin' && d ? [Buffer.from(d)] : []) });
  t.same(classifyGrpcError({ code: 14, metadata: md() }), { retryable: true, retryAfterMs: undefined });
  t.same(classifyGrpcError({ code: 8, metadata: md() }), { retryable: false, retryAfterMs: undefined }, 'RESOURCE_EXHAUSTED without RetryInfo is permanent');
  t.same(classifyGrpcError({ code: 8, metadata: md(details) }), { retryable: true, retryAfterMs: 2500 });
  t.same(classifyGrpcError({ code: 3, metadata: md() }).retryable, false, 'INVALID_ARGUMENT');
  t.same(classifyGrpcError({ code: 4 }).retryable, true, 'DEADLINE_EXCEEDED');
  for (const s of [429, 502, 503, 504]) t.ok(classifyHttpStatus(s, undefined).retryable, `${s}`);
  for (const s of [400, 401, 404, 413, 500]) t.notOk(classifyHttpStatus(s, '3').retryable, `${s}`);
  t.equal(classifyHttpStatus(503, '3').retryAfterMs, 3000);
  t.equal(parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1)), 10_000, 'an HTTP date');
  t.ok(classifyNetworkError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })).retryable);
  t.notOk(classifyNetworkError(Object.assign(new Error('x'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })).retryable, 'TLS errors are permanent');
  t.same(classifyNetworkError(new ExportError('503', true, 7)), { retryable: true, retryAfterMs: 7 });
});

t.test('sender: retries until delivered; permanent errors and elapsed time drop with a reason', async (t) => {
  const stats = new Stats();
  let fails = 2;
  const got: number[] = [];
  const s = new QueuedRetrySender<number>({
    queue: { enabled: true, num_consumers: 1, queue_size: 10 }, retry: retry({ max_elapsed_time: 100 }), logger: silentLogger, stats: stats.api, size: () => 1,
    send: async (n) => {
      if (n === 2) throw new ExportError('bad', false);
      if (n === 3) throw new ExportError('down', true);
      if (fails-- > 0) throw new ExportError('flaky', true);
      got.push(n);
    },
  });
  s.start();
  for (const n of [1, 2, 3, 4]) s.offer(n);
  await until(() => stats.sent + Object.values(stats.dropped).reduce((a, b) => a + b, 0) === 4);
  t.same(got, [1, 4]);
  t.same(stats.dropped, { non_retryable: 1, retries_exhausted: 1 });
  t.ok(stats.errors >= 3);
  await s.shutdown(100);
});

t.test('sender: an item given up on part-way counts what its earlier requests delivered as sent', async (t) => {
  // As PartedMetricsSend reports it: the item of 10 units went out as several
  // requests, the first ones (4 units) delivered before one failed for good.
  const stats = new Stats();
  const delivered = new Map<number, number>();
  const s = new QueuedRetrySender<number>({
    queue: { enabled: true, num_consumers: 1, queue_size: 10 }, retry: retry(), logger: silentLogger, stats: stats.api, size: () => 10,
    delivered: (n) => delivered.get(n) ?? 0,
    send: async (n) => {
      delivered.set(n, 4);
      throw new ExportError(n === 1 ? 'refused' : 'down', n !== 1);
    },
  });
  s.start();
  s.offer(1);
  await until(() => stats.sent + (stats.dropped.non_retryable ?? 0) === 10);
  t.same({ sent: stats.sent, dropped: stats.dropped }, { sent: 4, dropped: { non_retryable: 6 } }, 'a permanent failure');
  s.offer(2);
  await new Promise((r) => setTimeout(r, 30));
  await s.shutdown(20);
  t.same({ sent: stats.sent, dropped: stats.dropped }, { sent: 8, dropped: { non_retryable: 6, shutdown: 6 } }, 'still retrying at the shutdown timeout');
});

t.test('sender: bounded queue, coalescing, disabled queue, shutdown accounting', async (t) => {
  const stats = new Stats();
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const got: number[] = [];
  const s = new QueuedRetrySender<number>({
    queue: { enabled: true, num_consumers: 1, queue_size: 2 }, retry: retry(), logger: silentLogger, stats: stats.api, size: () => 10,
    send: async (n) => { await gate; got.push(n); },
  });
  s.start();
  t.ok(s.offer(1));
  await new Promise((r) => setImmediate(r)); // the sender takes it
  t.same([2, 3, 4, 5].map((n) => s.offer(n)), [true, true, false, false], 'one in flight + queue_size waiting');
  t.same(stats.dropped, { queue_full: 20 });
  release();
  await s.shutdown(1000);
  t.same(got, [1, 2, 3]);

  const c = new Stats();
  const co = new QueuedRetrySender<number>({
    queue: { enabled: true, num_consumers: 1, queue_size: 2 }, retry: retry(), logger: silentLogger, stats: c.api, size: () => 1, coalesce: true,
    send: async (n) => { if (n < 9) throw new ExportError('down', true); },
  });
  co.start();
  for (let n = 1; n <= 9; n++) co.offer(n);
  await until(() => c.sent === 1);
  t.same(c.dropped, {}, 'cumulative items are superseded, never dropped');
  await co.shutdown(100);

  const d = new Stats();
  const off = new QueuedRetrySender<number>({
    queue: { enabled: false, num_consumers: 10, queue_size: 1000 }, retry: retry(), logger: silentLogger, stats: d.api, size: () => 1,
    send: () => new Promise(() => {}),
  });
  off.start();
  await new Promise((r) => setImmediate(r));
  t.same([off.offer(1), off.offer(2)], [true, false], 'a disabled queue holds nothing beyond the item being sent');
  await off.shutdown(50);
  t.same(d.dropped, { queue_full: 1, shutdown: 1 }, 'the hung send is dropped at the shutdown timeout');
  t.equal(off.offer(3), false);
  t.equal(d.dropped.shutdown, 2, 'offers after shutdown are counted');
});

t.test('sender: persisted items survive an instance and are sent by the next one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pf-exporterhelper-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const codec = { encode: (n: number) => JSON.stringify({ n }), decode: (s: string) => (JSON.parse(s) as { n: number }).n };
  const a = new Stats();
  const first = new QueuedRetrySender<number>({
    queue: { enabled: true, num_consumers: 1, queue_size: 10 }, retry: retry(), logger: silentLogger, stats: a.api, size: () => 1,
    persist: { dir, codec }, send: async () => { throw new ExportError('down', true); },
  });
  first.start();
  for (const n of [1, 2, 3]) first.offer(n);
  await first.shutdown(50);
  t.same(a.dropped, {}, 'nothing dropped: kept on disk');
  t.equal(readdirSync(dir).length, 3);
  writeFileSync(join(dir, 'item-0000000000000099.json'), '{not json');
  writeFileSync(join(dir, 'item-0000000000000100.json.tmp'), 'half');
  const b = new Stats();
  const got: number[] = [];
  const second = new QueuedRetrySender<number>({
    queue: { enabled: true, num_consumers: 1, queue_size: 10 }, retry: retry(), logger: silentLogger, stats: b.api, size: () => 1,
    persist: { dir, codec }, send: async (n) => { got.push(n); },
  });
  second.start();
  second.offer(4);
  await until(() => got.length === 4);
  t.same(got, [1, 2, 3, 4], 'restored in order, before new items');
  await second.shutdown(100);
  t.same(readdirSync(dir), [], 'delivered items, the unreadable one and the temporary are removed');
});
