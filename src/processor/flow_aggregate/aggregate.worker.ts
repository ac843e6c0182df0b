// The flow_aggregate worker: holds one partition's groups for the current
// interval. Runs inside a piscina pool of exactly one thread per partition, so
// every batch of a partition reaches the same state, in order.
//
//   main thread (FlowAggregateProcessor)              worker k (this file)
//   ────────────────────────────────────              ────────────────────
//   consume(batch)
//     rows split by key hash → partition k
//     selectRows(...) copy, own buffers
//     run(transfer, {name:'add',                ──▶   add(transfer)
//         transferList: batch buffers})               fromTransfer (no copy)
//                                                     GroupTable.add: rows → groups
//                                               ◀──   (undefined)
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
import { FlowBatch, type FlowBatchTransfer } from '../../pdata/flow-batch.ts';
import type { HistogramColumn } from '../../pdata/flow-aggregation.ts';
import { compileKeySpec } from './group-key.ts';
import { GroupTable } from './group-table.ts';

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

export function add(t: FlowBatchTransfer): void {
  table.add(FlowBatch.fromTransfer(t));
}

export function flush(): unknown {
  const batch = table.toBatch();
  const result: FlushResult = { batch: batch.toTransfer(), flowsIn: table.flowsIn };
  const list = batch.transferList();
  table.reset();
  return move({ [transferableSymbol]: list, [valueSymbol]: result });
}
