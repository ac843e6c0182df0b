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
//     run({chunks, partition: k, partitions: n, ──▶   add(task), in every worker, per chunk:
//         batch: id, last}, {name:'add'}) to          n = 1: all rows → GroupTable.addRows
//         every worker: the chunks copied while       n > 1: hash each row's key, fold the
//         there is room (up to 8 queued), none        rows of partition k where they lie
//         waiting for the reply to the task       (the batch's string table came with its
//         before; the string table rides with      first chunk, kept by id until its last)
//         a batch's first chunk
//                                               ◀──   { folded: rows folded in }, and
//                                                     move(buffers) when transferred
//     buffers back into the BufferPool (shared:
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
import { FlowBatch, type FlowBatchTransfer } from '../../pdata/flow-batch.ts';
import type { HistogramColumn } from '../../pdata/flow-aggregation.ts';
import { compileKeySpec } from './group-key.ts';
import { GroupTable } from './group-table.ts';
import { Partitioner, textHashes } from './partition.ts';
import { RowsCopier, rowsOfBatch, type WorkerRows } from './worker-rows.ts';

export interface AggregateWorkerData {
  groupBy: string[];
  boundaries: Record<HistogramColumn, number[]>;
}

/**
 * An 'add' task: consecutive chunks of one batch, which every worker
 * receives; this one folds in the rows of `partition`. As many chunks per
 * task as there is room for (a whole batch of ~50k flows, usually): one
 * message and one reply per batch and worker rather than per chunk.
 */
export interface AddTask {
  chunks: WorkerRows[];
  partition: number;
  partitions: number;
  /** Which batch the chunks are of: its first chunk carries the string table, kept under this id. */
  batch: number;
  /** The last chunk is the batch's last: its string table is dropped afterwards. */
  last: boolean;
}

/** An 'addBatch' task: a whole batch moved to the only worker (its buffers transferred). */
export interface AddBatchTask {
  batch: FlowBatchTransfer;
}

export interface AddResult {
  /** Rows of the task's partition folded in. */
  folded: number;
  /** The chunks' buffers, handed back when they were transferred (not shared). */
  buffers?: ArrayBuffer[];
}

export interface FlushResult {
  batch: FlowBatchTransfer;
  /** Rows this worker folded in since its previous flush (or since it started). */
  flowsIn: number;
}

const config = workerData as AggregateWorkerData;
const spec = compileKeySpec(config.groupBy);
const table = new GroupTable(spec, config.groupBy, config.boundaries);
let partitioner: Partitioner | undefined;
let mine = new Int32Array(0);
/** The string tables (and their text hashes) of the batches whose chunks are arriving, by batch id. */
const openBatches = new Map<number, { strings: readonly string[]; textHash?: Int32Array }>();

/** Answered once this module has loaded: start() waits for it, so start-up is not paid by the first batches. */
export function ready(): boolean {
  return true;
}

/** Folds this partition's rows of the chunks in; answers how many that was (and hands transferred buffers back). */
export function add(task: AddTask): unknown {
  let folded = 0;
  task.chunks.forEach((rows, j) => {
    folded += foldIn(rows, task, task.last && j === task.chunks.length - 1);
  });
  const buffers = task.chunks.flatMap((c) => (c.buffer instanceof ArrayBuffer ? [c.buffer] : []));
  if (buffers.length === 0) return { folded } satisfies AddResult;
  return move({ [transferableSymbol]: buffers, [valueSymbol]: { folded, buffers } satisfies AddResult });
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

/**
 * The string table of the chunk's batch: carried by its first chunk, kept by
 * id until its last. A moved batch (addBatch) may arrive between two chunks of
 * a batch sent in chunks, with a table of its own, and so may the chunks of
 * another batch whose consume() overlapped: each chunk is read against its
 * own batch's table, not the last one this worker saw.
 */
function batchStrings(rows: WorkerRows, batch: number, last: boolean): { strings: readonly string[]; textHash?: Int32Array } {
  const carried = rows.strings;
  const entry = carried ? { strings: carried } : openBatches.get(batch);
  // A chunk whose batch's first chunk went to a worker that has since been replaced.
  if (!entry) throw new Error(`rows of batch ${batch} without its string table`);
  if (last) openBatches.delete(batch);
  else if (carried) openBatches.set(batch, entry);
  return entry;
}

/** Folds the rows of `task.partition` of one chunk in (`last`: the batch's last chunk). */
function foldIn(rows: WorkerRows, task: AddTask, last: boolean): number {
  const { partition, partitions } = task;
  const entry = batchStrings(rows, task.batch, last);
  // GroupTable resolves a table once, however many chunks carry it.
  rows.strings = entry.strings;
  if (partitions === 1) {
    table.addRows(rows);
    return rows.length;
  }
  entry.textHash ??= textHashes(entry.strings);
  partitioner ??= new Partitioner(spec, partitions);
  const part = partitioner.partitionOfRows(rows, entry.textHash);
  if (mine.length < rows.length) mine = new Int32Array(rows.length);
  let count = 0;
  // Without a branch: half the rows are this partition's, in no order a CPU could predict.
  // ((p ^ partition) - 1) >>> 31 is 1 where p === partition (partitions < 2^31), else 0.
  for (let i = 0; i < part.length; i++) {
    mine[count] = i;
    count += ((part[i]! ^ partition) - 1) >>> 31;
  }
  // Folded where they lie in the shared chunk: copying them out first read
  // and wrote every column of them once more.
  table.addRows(rows, mine.subarray(0, count));
  return count;
}

export function flush(): unknown {
  const batch = table.toBatch();
  const result: FlushResult = { batch: batch.toTransfer(), flowsIn: table.flowsIn };
  const list = batch.transferList();
  table.reset();
  return move({ [transferableSymbol]: list, [valueSymbol]: result });
}
