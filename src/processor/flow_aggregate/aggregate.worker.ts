// The flow_aggregate worker: holds one partition's groups for the current
// interval. Runs inside a piscina pool of exactly one thread per partition, so
// every batch of a partition reaches the same state, in order.
//
//   main thread (FlowAggregateProcessor)              worker k of n (this file)
//   ────────────────────────────────────              ─────────────────────────
//   start()
//     run(null, {name:'ready'})                 ──▶   ready(): modules loaded
//                                               ◀──   true
//   consume(batch), one worker, batch movable
//     (FlowBatch.moveOut): the whole batch,
//     its buffers transferred, no copy
//     run({batch}, {name:'addBatch'})           ──▶   addBatch(task): GroupTable.add, then
//                                                     the batch's memory freed here
//                                               ◀──   { folded }
//   consume(batch), otherwise
//     WorkerRows chunks (≤ 8192 rows): the key's
//     columns and the non-zero counters, in one
//     pooled buffer: n = 1 an ArrayBuffer,
//     transferred; n > 1 a SharedArrayBuffer
//     run({rows, partition: k, partitions: n},  ──▶   add(task), in every worker:
//         {name:'add'}) to every worker, up to        n = 1: all rows → GroupTable.addRows
//         8 chunks queued, none waiting for the       n > 1: hash each row's key, copy the
//         reply to the one before                     rows of partition k, fold those in
//                                               ◀──   { folded: rows folded in }, and
//                                                     move(buffer) when it was transferred
//     buffer back into the BufferPool (shared:
//     once all n replied)
//   every interval / shutdown, once every chunk
//   sent before has settled (later chunks wait)
//     run(null, {name:'flush'})                 ──▶   flush()
//                                                     GroupTable.toBatch(); reset()
//                                               ◀──   move({ batch, flowsIn }) with the
//                                                     reduced batch's buffers transferred
//     merge partitions → one FlowBatch → next.consume
//     Σ rows folded − flowsIn = rows lost to a crashed worker
//
// The worker is configured once through workerData (group_by and histogram
// boundaries), so no message ever repeats the config.

import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { COUNTER_COLUMNS, FlowBatch, type FlowBatchTransfer } from '../../pdata/flow-batch.ts';
import type { HistogramColumn } from '../../pdata/flow-aggregation.ts';
import { BufferPool } from './buffer-pool.ts';
import { compileKeySpec } from './group-key.ts';
import { GroupTable } from './group-table.ts';
import { Partitioner, textHashes } from './partition.ts';
import { RowsCopier, rowsOfBatch, type WorkerRows } from './worker-rows.ts';

export interface AggregateWorkerData {
  groupBy: string[];
  boundaries: Record<HistogramColumn, number[]>;
}

/** An 'add' task: a chunk every worker receives; this one folds in the rows of `partition`. */
export interface AddTask {
  rows: WorkerRows;
  partition: number;
  partitions: number;
}

/** An 'addBatch' task: a whole batch moved to the only worker (its buffers transferred). */
export interface AddBatchTask {
  batch: FlowBatchTransfer;
}

export interface AddResult {
  /** Rows of the task's partition folded in. */
  folded: number;
  /** The chunk's buffer, handed back when it was transferred (not shared). */
  buffer?: ArrayBuffer;
}

export interface FlushResult {
  batch: FlowBatchTransfer;
  /** Rows this worker folded in since its previous flush (or since it started). */
  flowsIn: number;
}

const config = workerData as AggregateWorkerData;
const spec = compileKeySpec(config.groupBy);
const table = new GroupTable(spec, config.groupBy, config.boundaries);
// This worker's own rows of a chunk are copied into one buffer, reused for every chunk.
const ownRows = new RowsCopier(spec, new BufferPool(1));
let partitioner: Partitioner | undefined;
let mine = new Int32Array(0);
/** Text hashes of the string table of the batch being received (a batch's first chunk carries it). */
let textHash: Int32Array | undefined;

/** Answered once this module has loaded: start() waits for it, so start-up is not paid by the first batches. */
export function ready(): boolean {
  return true;
}

/** Folds this partition's rows of the chunk in; answers how many that was (and hands a transferred buffer back). */
export function add(task: AddTask): unknown {
  const folded = foldIn(task);
  const buffer = task.rows.buffer;
  if (buffer instanceof SharedArrayBuffer || buffer === undefined) return { folded } satisfies AddResult;
  return move({ [transferableSymbol]: [buffer], [valueSymbol]: { folded, buffer } satisfies AddResult });
}

/** Folds every row of a moved batch in, then frees its columns: this thread owns them now. */
export function addBatch(task: AddBatchTask): AddResult {
  const batch = FlowBatch.fromTransfer(task.batch);
  const rows = rowsOfBatch(batch);
  // Columns that are zero on every row add nothing: left out as the chunks leave them out.
  const present = RowsCopier.presentCounters(batch);
  rows.counters = Object.fromEntries(present.map((c) => [c, batch.counters[c]]));
  table.addRows(rows);
  const folded = batch.length;
  batch.release();
  return { folded };
}

function foldIn(task: AddTask): number {
  const { rows, partition, partitions } = task;
  if (partitions === 1) {
    table.addRows(rows);
    return rows.length;
  }
  if (rows.strings) textHash = textHashes(rows.strings);
  else if (!textHash) throw new Error('rows without a string table and none before them');
  partitioner ??= new Partitioner(spec, partitions);
  const part = partitioner.partitionOfRows(rows, textHash);
  if (mine.length < rows.length) mine = new Int32Array(rows.length);
  let count = 0;
  // Without a branch: half the rows are this partition's, in no order a CPU could predict.
  // ((p ^ partition) - 1) >>> 31 is 1 where p === partition (partitions < 2^31), else 0.
  for (let i = 0; i < part.length; i++) {
    mine[count] = i;
    count += ((part[i]! ^ partition) - 1) >>> 31;
  }
  const counters = COUNTER_COLUMNS.filter((c) => rows.counters[c] !== undefined);
  // A chunk with none of this partition's rows still brings the batch's strings for the next ones.
  const own = ownRows.copy(rows, mine, 0, count, counters, rows.strings);
  table.addRows(own);
  ownRows.recycle(own.buffer);
  return count;
}

export function flush(): unknown {
  const batch = table.toBatch();
  const result: FlushResult = { batch: batch.toTransfer(), flowsIn: table.flowsIn };
  const list = batch.transferList();
  table.reset();
  return move({ [transferableSymbol]: list, [valueSymbol]: result });
}
