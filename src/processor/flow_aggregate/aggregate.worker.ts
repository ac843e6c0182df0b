// The flow_aggregate worker: holds one partition's groups for the current
// interval. Runs inside a piscina pool of exactly one thread per partition, so
// every batch of a partition reaches the same state, in order.
//
//   main thread (FlowAggregateProcessor)              worker k (this file)
//   ────────────────────────────────────              ────────────────────
//   start()
//     run(null, {name:'ready'})                 ──▶   ready(): modules loaded
//                                               ◀──   true
//   consume(batch)
//     rows split by key hash → partition k
//     WorkerRows chunks (≤ 8192 rows): the key's
//     columns and the non-zero counters, in pooled buffers
//     run(rows, {name:'add',                    ──▶   add(rows)
//         transferList: its buffers})                 GroupTable.addRows: rows → groups
//     buffers back into the BufferPool          ◀──   move(buffers): the same ArrayBuffers
//   every interval / shutdown
//     run(null, {name:'flush'})                 ──▶   flush()
//                                                     GroupTable.toBatch(); reset()
//                                               ◀──   move({ batch, flowsIn }) with the
//                                                     reduced batch's buffers transferred
//     merge partitions → one FlowBatch → next.consume
//     sent − flowsIn = rows lost to a crashed worker
//
// The worker is configured once through workerData (group_by and histogram
// boundaries), so no message ever repeats the config.

import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { FlowBatchTransfer } from '../../pdata/flow-batch.ts';
import type { HistogramColumn } from '../../pdata/flow-aggregation.ts';
import { compileKeySpec } from './group-key.ts';
import { GroupTable } from './group-table.ts';
import { rowsTransferList, type WorkerRows } from './worker-rows.ts';

export interface AggregateWorkerData {
  groupBy: string[];
  boundaries: Record<HistogramColumn, number[]>;
}

export interface FlushResult {
  batch: FlowBatchTransfer;
  /** Rows this worker folded in since its previous flush (or since it started). */
  flowsIn: number;
}

const config = workerData as AggregateWorkerData;
const table = new GroupTable(compileKeySpec(config.groupBy), config.groupBy, config.boundaries);

/** Answered once this module has loaded: start() waits for it, so start-up is not paid by the first batches. */
export function ready(): boolean {
  return true;
}

/** Folds the rows in, then hands their buffers back (only them) for the main thread to reuse. */
export function add(rows: WorkerRows): unknown {
  table.addRows(rows);
  const buffers = rowsTransferList(rows);
  return move({ [transferableSymbol]: buffers, [valueSymbol]: buffers });
}

export function flush(): unknown {
  const batch = table.toBatch();
  const result: FlushResult = { batch: batch.toTransfer(), flowsIn: table.flowsIn };
  const list = batch.transferList();
  table.reset();
  return move({ [transferableSymbol]: list, [valueSymbol]: result });
}
