// Every worker decides from the chunk it received which rows are its own, and
// the main thread counts a failed chunk's rows per partition the same way: both
// must agree with the partition of the rows in the original batch, or a crash
// would be counted wrong and a group could be folded in by two workers.

import t from 'tap';
import { DEFAULT_HISTOGRAM_BOUNDARIES } from '../../../src/pdata/flow-aggregation.ts';
import { selectRows } from '../../../src/pdata/flow-batch-select.ts';
import { BufferPool } from '../../../src/processor/flow_aggregate/buffer-pool.ts';
import { DEFAULT_GROUP_BY } from '../../../src/processor/flow_aggregate/config.ts';
import { compileKeySpec } from '../../../src/processor/flow_aggregate/group-key.ts';
import { GroupTable } from '../../../src/processor/flow_aggregate/group-table.ts';
import { Partitioner, textHashes } from '../../../src/processor/flow_aggregate/partition.ts';
import { RowsCopier } from '../../../src/processor/flow_aggregate/worker-rows.ts';
import { difference, fromReduced, randomBatches, referenceAggregate } from './reference.ts';

const GROUPINGS = [
  [...DEFAULT_GROUP_BY],
  ['source.address', 'destination.address', 'destination.port', 'network.transport', 'source.port'],
  ['destination.k8s.service.name', 'flow.observer', 'network.type', 'source.k8s.pod.name'],
];

for (const [gi, groupBy] of GROUPINGS.entries()) {
  t.test(`a chunk's rows fall in the partitions of the batch's rows: grouping ${gi}`, async (t) => {
    const spec = compileKeySpec(groupBy);
    const copier = new RowsCopier(spec, new BufferPool(2, true));
    for (let seed = 1; seed <= 10; seed++) {
      const [b] = randomBatches(seed * 131 + gi, 1, 200 + seed * 37);
      const strings = b!.strings.values().slice();
      const chunk = copier.copy(b!, 0, b!.length, RowsCopier.presentCounters(b!), strings);
      t.ok(chunk.buffer instanceof SharedArrayBuffer, 'chunks are shared, not copied per worker');
      for (const parts of [2, 3, 5]) {
        const p = new Partitioner(spec, parts);
        const want = Array.from(p.partitionOf(b!));
        t.ok(new Set(want).size > 1, `seed ${seed}, ${parts} partitions: rows spread over partitions`);
        t.same(Array.from(p.partitionOfRows(chunk, textHashes(strings))), want, `seed ${seed}, ${parts} partitions: same split from the chunk`);
        const counts = p.countOfRows(chunk, textHashes(strings));
        t.same(Array.from(counts), Array.from({ length: parts }, (_, k) => want.filter((x) => x === k).length), 'counts per partition');
        // What a worker folds in, where the rows lie in the chunk: its rows only, every key and counter column read.
        const mine = Int32Array.from(want.flatMap((x, i) => (x === 1 ? [i] : [])));
        t.equal(mine.length, counts[1]);
        const table = new GroupTable(spec, groupBy, DEFAULT_HISTOGRAM_BOUNDARIES);
        table.addRows(chunk, mine);
        t.equal(table.flowsIn, mine.length);
        t.equal(difference(fromReduced(table.toBatch()), referenceAggregate([selectRows(b!, mine, mine.length)], groupBy)), undefined,
          'the selected rows folded in place equal those rows folded alone');
      }
      copier.recycle(chunk.buffer);
    }
  });
}
