// DnsFeature around the addon (replaced by a fake capture here): what it asks
// the addon for, records in → rows out, kernel-side losses and undecodable
// records counted, timeouts, and close() taking the last records before
// counting what was still pending.

import t from 'tap';
import { defaultsOf } from '../../../../src/config/schema.ts';
import { PF_DNS_CONSTANTS as K, PF_DNS_EVENT as E, type DnsCapture, type DnsCaptureOptions } from '../../../../src/native/ebpf-dns.ts';
import { FlowBatch } from '../../../../src/pdata/flow-batch.ts';
import { readFlow } from '../../../../src/pdata/flow-record.ts';
import { writeAddress } from '../../../../src/pdata/ip-address.ts';
import { ebpfConfigSchema } from '../../../../src/receiver/ebpf/config.ts';
import { DnsFeature, monotonicNs } from '../../../../src/receiver/ebpf/dns/dns-feature.ts';
import { silentLogger } from '../../../../src/service/logger.ts';
import { SelfTelemetry } from '../../../../src/service/telemetry/self-telemetry.ts';
import { encodeQuery, encodeResponse, RCODE, readQuestion } from '../../../e2e/support/dns-wire.ts';
import { testSettings } from '../../../support/test-settings.ts';

interface Rec { timeNs: number; fromClient: boolean; payload: Buffer; family?: number; cport?: number }

function records(...recs: Rec[]): ArrayBuffer {
  const buf = new ArrayBuffer(recs.length * E.size);
  const v = new DataView(buf);
  const u8 = new Uint8Array(buf);
  recs.forEach((r, i) => {
    const o = i * E.size;
    v.setBigUint64(o + E.time_ns, BigInt(r.timeNs), true);
    writeAddress(u8, o + E.client_addr, '10.0.0.2');
    writeAddress(u8, o + E.server_addr, '10.0.0.53');
    v.setUint32(o + E.payload_len, r.payload.length, true);
    v.setUint16(o + E.client_port, r.cport ?? 40000, true);
    v.setUint16(o + E.server_port, 53, true);
    v.setUint16(o + E.captured_len, r.payload.length, true);
    u8[o + E.family] = r.family ?? 4;
    u8[o + E.protocol] = 17;
    u8[o + E.flags] = r.fromClient ? K.PF_DNS_FROM_CLIENT : 0;
    u8.set(r.payload, o + E.payload);
  });
  return buf;
}

class FakeCapture implements DnsCapture {
  stats = [0, 0];
  rest = new ArrayBuffer(0);
  /** What the ring buffer holds for the next takeRecords(). */
  held = new ArrayBuffer(0);
  closed = 0;
  readStats() { return this.stats; }
  takeRecords() { const h = this.held; this.held = new ArrayBuffer(0); return h; }
  readProgStats() { return [{ name: 'pf_dns_egress', runTimeNs: 0, runCount: 0 }]; }
  testRun(): never { throw new Error('not in tests'); }
  close() { this.closed++; return this.rest; }
}

function setup() {
  const telemetry = new SelfTelemetry();
  const fake = new FakeCapture();
  let opts: DnsCaptureOptions | undefined;
  let deliver: (b: ArrayBuffer) => void = () => undefined;
  const config = { ...defaultsOf(ebpfConfigSchema), include_loopback: true };
  config.dns = { ...config.dns, ports: [53, 5353], timeout: 1000 };
  const feature = new DnsFeature(testSettings('ebpf', { telemetry }), config, (o, cb) => {
    opts = o;
    deliver = cb;
    return fake;
  });
  feature.open({ cgroupPath: '/sys/fs/cgroup/x', logger: silentLogger });
  const counter = (name: string, labels = {}) => telemetry.counter(name, '').get(labels);
  const rows = (b: FlowBatch) => Array.from({ length: b.length }, (_, i) => readFlow(b, i));
  return { fake, opts: () => opts!, deliver: (b: ArrayBuffer) => deliver(b), feature, counter, telemetry, rows };
}

function lookup(id: number, name: string, rcode: number, queryNs: number, durationNs: number): ArrayBuffer {
  const q = encodeQuery(id, name);
  return records({ timeNs: queryNs, fromClient: true, payload: q }, { timeNs: queryNs + durationNs, fromClient: false, payload: encodeResponse(q, readQuestion(q)!, rcode, 1) });
}

t.test('opens the capture on the cgroup with the ports and loopback setting', async (t) => {
  const s = setup();
  t.match(s.opts(), { cgroupPath: '/sys/fs/cgroup/x', ports: [53, 5353], includeLoopback: true });
  t.equal(s.opts().pollIntervalMs, 0, 'no poll period: the collection drains the buffer');
  t.equal(s.feature.name, 'dns');
});

t.test('each collection takes what the ring buffer holds, beside what the poll thread delivered', async (t) => {
  const s = setup();
  const now = monotonicNs();
  s.deliver(lookup(1, 'delivered.test', RCODE.NOERROR, now - 2e9, 1e6));
  s.fake.held = lookup(2, 'held.test', RCODE.NOERROR, now - 1e6, 5e5);
  const b = new FlowBatch(4);
  s.feature.collect(b, Date.now());
  t.same(s.rows(b).map((r) => r.attributes?.['dns.question.name']).sort(), ['delivered.test', 'held.test']);
  t.equal(s.fake.held.byteLength, 0, 'the buffer was drained');
});

t.test('a query and its response → one row on the client → server edge', async (t) => {
  const s = setup();
  const now = monotonicNs();
  s.deliver(lookup(7, 'api.example.test', RCODE.NXDOMAIN, now - 2e9, 12_345_000));
  const b = new FlowBatch(4);
  s.feature.collect(b, Date.now());
  t.equal(b.length, 1);
  t.match(s.rows(b), [{
    transport: 'udp', sourceAddress: '10.0.0.2', sourcePort: 40000, destinationAddress: '10.0.0.53', destinationPort: 53, sourceIsClient: true,
    counters: { dnsRequests: 1, dnsDurationUs: 12_345 },
    attributes: { 'dns.response_code': 'NXDOMAIN', 'dns.question.type': 'A', 'dns.question.name': 'api.example.test' },
  }]);
  const again = new FlowBatch(4);
  s.feature.collect(again, Date.now());
  t.equal(again.length, 0, 'reported once');
});

t.test('kernel-side losses as deltas; records that contradict the layout', async (t) => {
  const s = setup();
  s.fake.stats = [3, 1];
  s.feature.collect(new FlowBatch(1), Date.now());
  s.fake.stats = [5, 1];
  s.feature.collect(new FlowBatch(1), Date.now());
  t.equal(s.counter('podflow_ebpf_dns_lost_total', { reason: 'ringbuf_full' }), 5);
  t.equal(s.counter('podflow_ebpf_dns_lost_total', { reason: 'read_failed' }), 1);
  s.deliver(records({ timeNs: 1, fromClient: true, payload: encodeQuery(1, 'x.test'), family: 9 }));
  t.equal(s.counter('podflow_ebpf_dns_lost_total', { reason: 'invalid_record' }), 1);
});

t.test('hostile payloads are counted, never thrown', async (t) => {
  const s = setup();
  s.deliver(records({ timeNs: 1, fromClient: true, payload: Buffer.from('ab') }, { timeNs: 2, fromClient: false, payload: encodeQuery(2, 'y.test') }));
  t.equal(s.counter('podflow_ebpf_dns_parse_errors_total', { reason: 'short_header' }), 1);
  t.equal(s.counter('podflow_ebpf_dns_parse_errors_total', { reason: 'unexpected_direction' }), 1);
  s.deliver(records({ timeNs: 3, fromClient: false, payload: encodeResponse(encodeQuery(3, 'z.test'), readQuestion(encodeQuery(3, 'z.test'))!, 0, 1) }));
  t.equal(s.counter('podflow_ebpf_dns_unmatched_responses_total'), 1, 'a response without its query');
});

t.test('a query unanswered past the timeout → TIMEOUT row, no duration', async (t) => {
  const s = setup();
  s.deliver(records({ timeNs: monotonicNs() - 5e9, fromClient: true, payload: encodeQuery(9, 'slow.test') }));
  const b = new FlowBatch(2);
  s.feature.collect(b, Date.now());
  t.equal(b.length, 1);
  t.match(s.rows(b), [{ counters: { dnsRequests: 1 }, attributes: { 'dns.response_code': 'TIMEOUT' } }]);
  t.equal(s.rows(b)[0]!.counters!.dnsDurationUs, undefined);
  t.equal(s.counter('podflow_ebpf_dns_timeouts_total'), 1);
});

t.test('close: the records still in the ring buffer become rows; what stays pending is counted; idempotent', async (t) => {
  const s = setup();
  const now = monotonicNs();
  s.fake.rest = new Uint8Array([...new Uint8Array(lookup(1, 'late.test', RCODE.NOERROR, now - 1e6, 5e5)),
    ...new Uint8Array(records({ timeNs: now, fromClient: true, payload: encodeQuery(2, 'open.test') }))]).buffer;
  t.equal(s.telemetry.gauge('podflow_ebpf_dns_pending', '').get(), 0);
  const b = new FlowBatch(2);
  s.feature.close(b, Date.now());
  t.equal(s.fake.closed, 1);
  t.equal(b.length, 1, 'the answered lookup');
  t.match(s.rows(b), [{ counters: { dnsRequests: 1, dnsDurationUs: 500 }, attributes: { 'dns.question.name': 'late.test' } }]);
  t.equal(s.counter('podflow_ebpf_dns_pending_evicted_total', { reason: 'shutdown' }), 1, 'the unanswered query');
  s.feature.close(new FlowBatch(1), Date.now());
  s.feature.collect(new FlowBatch(1), Date.now());
  t.equal(s.fake.closed, 1, 'closed once');
  t.same(s.feature.programStats(), [], 'nothing loaded any more');
});
