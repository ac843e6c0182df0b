// The flow_aggregate worker: holds one partition's groups for the current
// interval. Runs inside a piscina pool of exactly one thread per partition, so
// every batch of a partition reaches the same state, in order.
//
//   main thread (FlowAggregateProcessor)              worker k of n (this file)
//   ────────────────────────────────────              ─────────────────────────
//   start()
//     run(null, {name:'ready'})                 ──▶   ready(): modules loaded
//                                               ◀──   true
//   consume(batch), batch movable (FlowBatch.moveOut):
//     the whole batch, its buffers transferred, no copy
//     one worker:
//     run({batch}, {name:'addBatch'})           ──▶   addBatch(task): GroupTable.addRows, then
//                                                     the batch's memory freed here
//                                               ◀──   { folded }
//     n workers: to one of them first (the one
//     with the fewest moved rows in flight)
//     run({batch, route: {partition: k,         ──▶   addBatch(task) in worker k: hash each
//         partitions: n}}, {name:'addBatch'})         row's key (its partition, a byte per
//                                                     row), fold the rows of k where they lie
//                                               ◀──   move({ folded, pass: {batch, route} })
//                                                     with the batch's buffers and the
//                                                     partitions transferred back
//     run({batch, route: {partition: j, part,   ──▶   addBatch(task) in worker j: fold the
//         next}}) to the next partition with           rows of j; the last frees the batch
//         rows, not waiting at the flush gate    ◀──   { folded } (or pass on, for n > 2)
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
//   every interval / shutdown, once every task
//   posted before has settled, each moved batch
//   with all its hops (later tasks wait)
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
import { FlowBatch, type CounterColumn, type FlowBatchTransfer } from '../../pdata/flow-batch.ts';
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

/**
 * An 'addBatch' task: a whole batch moved to one worker (its buffers
 * transferred). With several partitions it visits each worker whose
 * partition has rows in it, in turn: each folds its own rows in where they
 * lie and hands the batch back to be passed on; the last frees it.
 */
export interface AddBatchTask {
  batch: FlowBatchTransfer;
  route?: Route;
}

export interface Route {
  /** The partition this worker folds, of how many. */
  partition: number;
  partitions: number;
  /** Each row's partition: computed by the batch's first worker (absent there), carried on after. */
  part?: Uint8Array;
  /** The partitions still to visit after this one. */
  next?: number[];
  /** The counter columns with a non-zero row (the first worker finds them). */
  counters?: CounterColumn[];
}

export interface AddResult {
  /** Rows of the task's partition folded in. */
  folded: number;
  /** The chunks' buffers, handed back when they were transferred (not shared). */
  buffers?: ArrayBuffer[];
  /** A routed batch not yet folded by every partition with rows in it: to pass on to `route.partition`. */
  pass?: { batch: FlowBatchTransfer; route: Route; buffers: ArrayBuffer[] };
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

/**
 * Folds a moved batch's rows of this partition in (with one partition, every
 * row), then frees its columns, this thread owning them now, or hands the
 * batch back to be passed on to the next partition with rows in it.
 */
export function addBatch(task: AddBatchTask): unknown {
  const batch = FlowBatch.fromTransfer(task.batch);
  const rows = rowsOfBatch(batch);
  const route = task.route;
  // Columns that are zero on every row add nothing: left out as the chunks leave them out.
  const present = route?.counters ?? RowsCopier.presentCounters(batch);
  rows.counters = Object.fromEntries(present.map((c) => [c, batch.counters[c]]));
  if (!route) {
    table.addRows(rows);
    const folded = batch.length;
    batch.release();
    return { folded } satisfies AddResult;
  }
  const part = route.part ?? partsOf(rows, route.partitions);
  const next = route.next ?? others(part, route.partition, route.partitions);
  const folded = foldPartition(rows, part, route.partition);
  if (next.length === 0) {
    batch.release();
    return { folded } satisfies AddResult;
  }
  const pass: Route = { partition: next[0]!, partitions: route.partitions, part, next: next.slice(1), counters: present };
  const transfer = [...batch.transferList(), part.buffer as ArrayBuffer];
  return move({ [transferableSymbol]: transfer, [valueSymbol]: { folded, pass: { batch: batch.toTransfer(), route: pass, buffers: transfer } } satisfies AddResult });
}

/** Each row's partition (partitions ≤ 64: a byte each). */
function partsOf(rows: WorkerRows, partitions: number): Uint8Array {
  partitioner ??= new Partitioner(spec, partitions);
  return Uint8Array.from(partitioner.partitionOfRows(rows, textHashes(rows.strings!)));
}

/** The partitions other than `own` that some row belongs to, in order. */
function others(part: Uint8Array, own: number, partitions: number): number[] {
  const seen = new Uint8Array(partitions);
  for (let i = 0; i < part.length; i++) seen[part[i]!] = 1;
  const out: number[] = [];
  for (let k = 0; k < partitions; k++) if (k !== own && seen[k]) out.push(k);
  return out;
}

/** Folds the rows whose partition is `partition` in, where they lie; answers how many. */
function foldPartition(rows: WorkerRows, part: Uint8Array | Int32Array, partition: number): number {
  if (mine.length < rows.length) mine = new Int32Array(rows.length);
  let count = 0;
  // Without a branch: half the rows are this partition's, in no order a CPU could predict.
  // ((p ^ partition) - 1) >>> 31 is 1 where p === partition (partitions < 2^31), else 0.
  for (let i = 0; i < part.length; i++) {
    mine[count] = i;
    count += ((part[i]! ^ partition) - 1) >>> 31;
  }
  table.addRows(rows, mine.subarray(0, count));
  return count;
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
  // Folded where they lie in the shared chunk: copying them out first read
  // and wrote every column of them once more.
  return foldPartition(rows, partitioner.partitionOfRows(rows, entry.textHash), partition);
}

export function flush(): unknown {
  const batch = table.toBatch();
  const result: FlushResult = { batch: batch.toTransfer(), flowsIn: table.flowsIn };
  const list = batch.transferList();
  table.reset();
  return move({ [transferableSymbol]: list, [valueSymbol]: result });
}
