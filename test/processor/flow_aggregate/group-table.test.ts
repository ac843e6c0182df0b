// GroupTable resolves every string of a batch's table up front (so the key
// loop never looks one up); the reduced batch must still carry only the strings
// its groups use, and a batch whose chunks straddle a reset keeps its strings.

import t from 'tap';
import { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { DEFAULT_HISTOGRAM_BOUNDARIES } from '../../../src/pdata/flow-aggregation.ts';
import { compileKeySpec } from '../../../src/processor/flow_aggregate/group-key.ts';
import { GroupTable } from '../../../src/processor/flow_aggregate/group-table.ts';
import { rowsOfBatch } from '../../../src/processor/flow_aggregate/worker-rows.ts';

const GROUP_BY = ['source.k8s.namespace.name', 'destination.k8s.service.name'];

function batch(rows: Array<[string, string | undefined, string]>): FlowBatch {
  const b = new FlowBatch(4);
  for (const [ns, svc, pod] of rows) {
    const i = b.addRow();
    b.setAttribute(i, 'source.k8s.namespace.name', ns);
    if (svc !== undefined) b.setAttribute(i, 'destination.k8s.service.name', svc);
    b.setAttribute(i, 'source.k8s.pod.name', pod); // in the table, never in a key
    b.counters.bytes[i] = 1;
  }
  return b;
}

function groups(out: FlowBatch): string[] {
  return Array.from({ length: out.length }, (_, g) =>
    `${out.getAttribute(g, 'source.k8s.namespace.name')}|${out.getAttribute(g, 'destination.k8s.service.name') ?? '-'}|${out.counters.bytes[g]}`).sort();
}

t.test('the reduced batch holds only the strings its keys use', async (t) => {
  const table = new GroupTable(compileKeySpec(GROUP_BY), GROUP_BY, DEFAULT_HISTOGRAM_BOUNDARIES);
  table.add(batch([['shop', 'db', 'web-1'], ['shop', undefined, 'web-2'], ['pay', 'db', 'api-1'], ['shop', 'db', 'web-3']]));
  const out = table.toBatch();
  t.same(groups(out), ['pay|db|1', 'shop|-|1', 'shop|db|2']);
  t.same([...out.strings.values()].sort(), ['db', 'pay', 'shop'], 'no pod names');
});

t.test('chunks of one batch on both sides of a reset', async (t) => {
  const table = new GroupTable(compileKeySpec(GROUP_BY), GROUP_BY, DEFAULT_HISTOGRAM_BOUNDARIES);
  const b = batch([['shop', 'db', 'web-1'], ['pay', 'cache', 'api-1']]);
  const rows = rowsOfBatch(b);
  table.addRows({ ...rows, length: 1 });
  t.same(groups(table.toBatch()), ['shop|db|1']);
  table.reset();
  // The second chunk: rows without a string table, whose strings were resolved before the reset.
  const { strings: _omitted, ...rest } = rows;
  const second = { ...rest, length: 1, attributes: new Map([...rows.attributes].map(([k, col]) => [k, col.subarray(1)])), counters: { bytes: b.counters.bytes.subarray(1) } };
  table.addRows(second);
  const out = table.toBatch();
  t.same(groups(out), ['pay|cache|1'], 'the new interval names the second chunk from the batch table');
  t.same([...out.strings.values()].sort(), ['cache', 'pay']);
});
