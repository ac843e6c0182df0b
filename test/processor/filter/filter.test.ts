// filter: config errors name their path; the compiled column checks keep exactly
// the rows a slow per-row reference (readFlow + node:net BlockList) keeps, over
// random flows and random match blocks; dropped rows are counted.

import { BlockList, isIPv4 } from 'node:net';
import t from 'tap';
import type { Problem } from '../../../src/config/schema.ts';
import { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { appendFlow, readFlow } from '../../../src/pdata/flow-record.ts';
import { builtinValue, isBuiltinKey } from '../../../src/pdata/flow-attribute-keys.ts';
import { filterFactory } from '../../../src/processor/filter/factory.ts';
import type { FilterConfig, MatchProperties } from '../../../src/processor/filter/config.ts';
import { GroupTable } from '../../../src/processor/flow_aggregate/group-table.ts';
import { compileKeySpec } from '../../../src/processor/flow_aggregate/group-key.ts';
import { DEFAULT_HISTOGRAM_BOUNDARIES } from '../../../src/pdata/flow-aggregation.ts';
import { SelfTelemetry } from '../../../src/service/telemetry/self-telemetry.ts';
import { CollectingConsumer } from '../../support/collecting-consumer.ts';
import { testSettings } from '../../support/test-settings.ts';
import { randomBatches, rng } from '../flow_aggregate/reference.ts';

function decode(raw: unknown): { config?: FilterConfig; problems: string[] } {
  const problems: Problem[] = [];
  const config = filterFactory.configSchema.decodeOrDefault(raw, ['processors', 'filter'], problems);
  return { config, problems: problems.map((p) => `${p.path.join('::')}: ${p.message}`) };
}

function make(raw: unknown) {
  const { config, problems } = decode(raw);
  if (!config) throw new Error(problems.join('\n'));
  const sink = new CollectingConsumer();
  const telemetry = new SelfTelemetry();
  const p = filterFactory.create(testSettings('filter/t', { telemetry }), config, sink);
  const filtered = () => telemetry.counter('podflow_processor_filtered_flows_total', '').get({ processor: 'filter/t' });
  return { p, sink, filtered, config };
}

t.test('config errors name their path, all at once', async (t) => {
  const { problems } = decode({
    include: { match_type: 'glob', namespaces: ['a'] },
    exclude: {
      match_type: 'regexp',
      attributes: [{ key: 'destination.k8s.workload.name', value: '(' }, { key: 'source.address', value: '10.*' }],
      source_cidrs: ['10.0.0.0/33'],
      destination_cidrs: ['ten/8'],
    },
  });
  t.match(problems, [
    /^processors::filter::include::match_type: invalid value "glob" \(valid values: \[strict, regexp\]\)$/,
  ].concat([]), 'bad match_type');
  t.ok(problems.some((p) => /^processors::filter::exclude::attributes::0::value: invalid regexp "\(": /.test(p)), 'regexp error at its path');
  t.ok(problems.includes('processors::filter::exclude::attributes::1::key: "source.address" cannot be matched by regexp; use source_cidrs or destination_cidrs'));
  t.ok(problems.includes('processors::filter::exclude::source_cidrs::0: invalid CIDR "10.0.0.0/33": prefix length must be 0..32'));
  t.ok(problems.includes('processors::filter::exclude::destination_cidrs::0: invalid CIDR "ten/8": "ten" is not an IP address'));
  t.equal(problems.length, 5, problems.join('\n'));

  t.same(decode({ include: {} }).problems, ['processors::filter::include: must set at least one of attributes, namespaces, source_cidrs, destination_cidrs']);
  t.same(decode({ include: { attributes: [{ key: 'destination.port', value: 'http' }] } }).problems,
    ['processors::filter::include::attributes::0::value: invalid port "http" (0..65535)']);
  t.same(decode({ exclude: { attributes: [{ value: 'x' }] } }).problems, ['processors::filter::exclude::attributes::0::key: is required']);
  t.same(decode({}).problems, [], 'no include/exclude is valid (passes everything)');
});

// ---- the reference: one row at a time, the obvious way ----

function blockList(cidrs: string[]): BlockList {
  const bl = new BlockList();
  for (const c of cidrs) {
    const [addr, bits] = c.split('/') as [string, string | undefined];
    const type = isIPv4(addr) ? 'ipv4' : 'ipv6';
    bl.addSubnet(addr, bits === undefined ? (type === 'ipv4' ? 32 : 128) : Number(bits), type);
  }
  return bl;
}

function refMatches(m: MatchProperties, b: FlowBatch, i: number): boolean {
  const r = readFlow(b, i);
  const eq = (pattern: string, s: string) => (m.match_type === 'strict' ? s === pattern : new RegExp(pattern).test(s));
  for (const a of m.attributes) {
    const v = isBuiltinKey(a.key) ? builtinValue(b, i, a.key) : r.attributes?.[a.key];
    if (v === undefined) return false;
    if (a.value !== undefined && !eq(a.value, v)) return false;
  }
  if (m.namespaces.length) {
    const ns = [r.attributes?.['source.k8s.namespace.name'], r.attributes?.['destination.k8s.namespace.name']];
    if (!ns.some((n) => n !== undefined && m.namespaces.some((p) => eq(p, n)))) return false;
  }
  const inList = (cidrs: string[], addr: string) => blockList(cidrs).check(addr, isIPv4(addr) ? 'ipv4' : 'ipv6');
  if (m.source_cidrs.length && !inList(m.source_cidrs, r.sourceAddress)) return false;
  if (m.destination_cidrs.length && !inList(m.destination_cidrs, r.destinationAddress)) return false;
  return true;
}

function refKeep(c: FilterConfig, b: FlowBatch, i: number): boolean {
  return (!c.include || refMatches(c.include, b, i)) && !(c.exclude && refMatches(c.exclude, b, i));
}

// ---- random match blocks over the value domains randomBatches uses ----

function randomBlock(r: () => number): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const regexp = r() < 0.4;
  const block: Record<string, unknown> = { match_type: regexp ? 'regexp' : 'strict' };
  let any = false;
  if (r() < 0.5) {
    block.attributes = Array.from({ length: 1 + Math.floor(r() * 2) }, () => pick(regexp ? [
      { key: 'source.k8s.workload.name', value: pick(['^(web|db)$', 'a', 'th$']) },
      { key: 'destination.port', value: pick(['^4', '3$', '^(53|80)$']) },
      { key: 'network.transport', value: 'c' },
      { key: 'destination.k8s.service.name' },
      { key: 'flow.observer', value: '^dest' },
    ] : [
      { key: 'source.k8s.workload.name', value: pick(['web', 'db', 'nope']) },
      { key: 'destination.port', value: pick(['443', '53']) },
      { key: 'network.transport', value: pick(['tcp', 'udp']) },
      { key: 'network.type', value: pick(['ipv4', 'ipv6']) },
      { key: 'source.address', value: pick(['10.244.0.3', 'fd00::2']) },
      { key: 'destination.k8s.service.name' },
      { key: 'flow.observer', value: 'source' },
    ]));
    any = true;
  }
  if (r() < 0.4) { block.namespaces = regexp ? [pick(['^s', 'system'])] : [pick(['shop', 'default'])]; any = true; }
  if (r() < 0.4) { block.source_cidrs = [pick(['10.244.0.0/30', '10.244.0.4/31', 'fd00::/124', '0.0.0.0/0', '10.244.0.5'])]; any = true; }
  if (r() < 0.4 || !any) block.destination_cidrs = [pick(['10.244.1.2/31', 'fd00::1:0/126', '10.0.0.0/8', '::/0', '10.244.1.3/32'])];
  return block;
}

t.test('keeps exactly what the per-row reference keeps (random flows, random blocks)', async (t) => {
  const r = rng(42);
  let checked = 0;
  let droppedSome = 0;
  for (let round = 0; round < 60; round++) {
    const raw: Record<string, unknown> = {};
    if (r() < 0.7) raw.include = randomBlock(r);
    if (r() < 0.7 || !raw.include) raw.exclude = randomBlock(r);
    const { p, sink, filtered, config } = make(raw);
    const [batch] = randomBatches(1000 + round, 1, 300) as [FlowBatch];
    const want: string[] = [];
    for (let i = 0; i < batch.length; i++) if (refKeep(config, batch, i)) want.push(JSON.stringify(readFlow(batch, i)));
    await p.consume(batch);
    const got: string[] = [];
    for (const b of sink.batches) for (let i = 0; i < b.length; i++) got.push(JSON.stringify(readFlow(b, i)));
    if (got.join('\n') !== want.join('\n')) {
      t.fail(`round ${round}: ${JSON.stringify(raw)} kept ${got.length}, reference ${want.length}`);
      continue;
    }
    t.equal(filtered(), batch.length - want.length, `round ${round}: dropped rows counted`);
    if (want.length === 0) t.equal(sink.batches.length, 0, 'nothing emitted when every row is dropped');
    if (want.length < batch.length) droppedSome++;
    checked++;
  }
  t.equal(checked, 60);
  t.ok(droppedSome > 10 && droppedSome < 60, `the random blocks both keep and drop (${droppedSome} of 60 dropped rows)`);
});

t.test('a batch that keeps every row is passed through as is', async (t) => {
  const { p, sink, filtered } = make({ exclude: { namespaces: ['nowhere'] } });
  const b = new FlowBatch(2);
  appendFlow(b, { transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 1, destinationAddress: '10.0.0.2', destinationPort: 2,
    attributes: { 'source.k8s.namespace.name': 'shop' } });
  const seen: FlowBatch[] = [];
  const spy = { mutatesData: false, consume: async (x: FlowBatch) => { seen.push(x); } };
  const p2 = filterFactory.create(testSettings('filter/t'), decode({ exclude: { namespaces: ['nowhere'] } }).config!, spy);
  await p2.consume(b);
  t.equal(seen[0], b, 'same batch object, no copy');
  await p.consume(b);
  t.equal(sink.rows, 1);
  t.equal(filtered(), 0);
});

t.test('the subset it passes on is its own: released once consumed; the input is the caller\'s', async (t) => {
  const b = new FlowBatch(2);
  for (const ns of ['shop', 'nowhere']) {
    appendFlow(b, { transport: 'tcp', sourceAddress: '10.0.0.1', sourcePort: 1, destinationAddress: '10.0.0.2', destinationPort: 2,
      attributes: { 'source.k8s.namespace.name': ns } });
  }
  const seen: Array<{ batch: FlowBatch; rows: number }> = [];
  const spy = { mutatesData: false, consume: async (x: FlowBatch) => { seen.push({ batch: x, rows: x.length }); } };
  const p = filterFactory.create(testSettings('filter/t'), decode({ exclude: { namespaces: ['nowhere'] } }).config!, spy);
  await p.consume(b);
  t.equal(seen[0]!.rows, 1, 'the consumer saw the kept row');
  t.equal(seen[0]!.batch.length, 0, 'the subset is released after');
  t.equal(b.length, 2, 'the input is left whole');
});

t.test('filtering a flow_aggregate output keeps its histogram rows aligned', async (t) => {
  const groupBy = ['source.k8s.namespace.name', 'destination.port'];
  const table = new GroupTable(compileKeySpec(groupBy), groupBy, DEFAULT_HISTOGRAM_BOUNDARIES);
  for (const b of randomBatches(7, 3, 200)) table.add(b);
  const reduced = table.toBatch();
  const { p, sink } = make({ include: { attributes: [{ key: 'destination.port', value: '443' }] } });
  await p.consume(reduced);
  const out = sink.batches[0]!;
  t.ok(out.length > 0 && out.length < reduced.length);
  for (let i = 0; i < out.length; i++) {
    t.equal(out.dstPort[i], 443);
    // Find the same group in the input and compare its histogram row.
    const ns = out.getAttribute(i, 'source.k8s.namespace.name');
    const j = Array.from({ length: reduced.length }, (_, k) => k)
      .find((k) => reduced.dstPort[k] === 443 && reduced.getAttribute(k, 'source.k8s.namespace.name') === ns)!;
    t.equal(out.aggregation!.histograms.rttUs.count[i], reduced.aggregation!.histograms.rttUs.count[j]);
    t.equal(out.aggregation!.histograms.durationMs.sum[i], reduced.aggregation!.histograms.durationMs.sum[j]);
    const B = reduced.aggregation!.histograms.rttUs.boundaries.length + 1;
    t.same([...out.aggregation!.histograms.rttUs.buckets.subarray(i * B, i * B + B)],
      [...reduced.aggregation!.histograms.rttUs.buckets.subarray(j * B, j * B + B)]);
  }
});

t.test('attributesRead: what its conditions read plus what follows reads; any when what follows does not say', async (t) => {
  const { p, sink } = make({ include: { match_type: 'strict', attributes: [{ key: 'source.k8s.pod.name', value: 'a' }, { key: 'destination.port', value: '80' }] }, exclude: { namespaces: ['x'] } });
  t.equal(p.attributesRead!(), undefined);
  Object.assign(sink, { attributesRead: () => new Set(['source.k8s.workload.name']) });
  t.same([...p.attributesRead!()!].sort(), ['destination.k8s.namespace.name', 'source.k8s.namespace.name', 'source.k8s.pod.name', 'source.k8s.workload.name']);
});
