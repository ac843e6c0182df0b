// flow_aggregate: reduces flows to one row per group and interval on worker
// threads, so exporters see a few thousand pre-aggregated rows per interval
// instead of every flow update. The message flow is drawn in aggregate.worker.ts.
//
// A batch moves to a worker whole: its buffers are transferred
// (FlowBatch.moveOut) and the last worker to read it frees them, so no row is
// copied and no chunk buffer is kept between intervals. With one worker (the
// default), against copying the key's columns into pooled chunks (what a
// batch that cannot move still gets), bench/pipeline.bench.ts' child with
// input made per interval held its max RSS 6-9 MiB lower (3 interleaved
// pairs: 136.3-140.9 -> 129.9-131.9 MiB) and the main thread's consume() fell
// from 164-173 to 15-35 ms over 40 intervals of ~54k flows. With several, the
// batch visits each worker in turn (see #sendMoved).
//
// Each partition is its own piscina pool of exactly one thread: piscina gives
// us worker start-up, task queueing and replacement of a crashed thread, and a
// one-thread pool keeps a partition's state in one place (a shared pool would
// hand a partition's batches to whichever worker is free).

import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { ConsumerComponent, CreateSettings } from '../../component/component.ts';
import { LifecycleComponent } from '../../component/lifecycle.ts';
import { consumeAndRelease, type FlowConsumer } from '../../consumer/consumer.ts';
import { FlowBatch, type FlowBatchTransfer } from '../../pdata/flow-batch.ts';
import { releaseLargeBuffer } from '../../pdata/release-large-buffer.ts';
import { DEFAULT_HISTOGRAM_BOUNDARIES, HISTOGRAM_COLUMNS, type HistogramColumn } from '../../pdata/flow-aggregation.ts';
import type { Logger } from '../../service/logger.ts';
import type { AddBatchTask, AddResult, AddTask, AggregateWorkerData, FlushResult } from './aggregate.worker.ts';
import type { FlowAggregateConfig } from './config.ts';
import { compileKeySpec } from './group-key.ts';
import { concatReduced } from './merge.ts';
import { AggregateSelfMetrics } from './self-metrics.ts';
import { Partitioner, textHashes } from './partition.ts';
import { BufferPool } from './buffer-pool.ts';
import { CHUNK_ROWS, RowsCopier, type WorkerRows } from './worker-rows.ts';

// aggregate.worker.js in the build (dist/), aggregate.worker.ts when run from src/: the extension of this module.
const WORKER_FILE = new URL(`./aggregate.worker${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url).href;

/**
 * Workers inherit the parent's Node flags, as Node does by default, unless the
 * parent has module hooks (--import, --require, --loader): the worker runs only
 * podflow's own code through Node's type stripping, and a hook (an
 * instrumentation agent, a test runner's TypeScript compiler) would load again
 * in every worker, costing seconds of start-up and megabytes each. Then the
 * worker gets no flags at all: it needs none, and Node rejects some that are
 * valid for the process (V8 flags such as --expose-gc) in a worker's execArgv.
 */
function workerExecArgv(): string[] | undefined {
  const hook = /^(--import|--require|-r|--loader|--experimental-loader)(=|$)/;
  return process.execArgv.some((a) => hook.test(a)) ? [] : undefined;
}

/**
 * Chunks (of CHUNK_ROWS rows) that may be queued before consume() waits:
 * enough for a whole receiver interval of ~50k flows (7 chunks), so that
 * consume() returns while the workers fold it and the main thread names the
 * next batch meanwhile, few enough that a slow worker pushes back on the
 * receiver instead of buffering without bound (about 1.3 MiB per chunk with
 * the default group_by; every worker reads the same chunks). With 3, the main
 * thread waited for a worker reply at nearly every chunk: bench/pipeline.bench.ts'
 * main thread went 457-470 -> 385-405 ns/flow and its wall time 1.84-1.89 -> 1.11-1.16 s
 * (this and posting chunks without waiting for the previous reply, below).
 */
export const MAX_IN_FLIGHT = 8;
// Moved batches are bounded by rows instead: MAX_IN_FLIGHT × CHUNK_ROWS of
// them per worker, or a single batch of any size (see #sendMoved).

interface Partition {
  pool: Piscina;
  /**
   * Settles once every task posted so far has settled (a moved batch's with
   * its later hops): a flush waits for it, so that it comes after exactly the
   * tasks posted before it and `sent` counts all of them.
   */
  tail: Promise<unknown>;
  /**
   * Settles once the last flush has; chunks and batches sent after a flush
   * began wait for it (a moved batch's later hops do not: they belong to the
   * interval it was sent in). Otherwise a task is posted at once, without
   * waiting for the previous one's reply (the worker folds its messages in
   * order). The flush itself is posted only once every earlier task has
   * settled (`tail`), so a task posted meanwhile would reach the worker
   * before it and be folded into the interval being emitted, uncounted in its `sent`.
   */
  gate: Promise<unknown>;
  /**
   * Rows of this partition the worker has acknowledged (or, for a chunk
   * whose task failed, that the chunk held) since the last flush: what its
   * flush must report, so any shortfall was lost with a crashed worker.
   */
  sent: number;
}

export class FlowAggregateProcessor extends LifecycleComponent implements ConsumerComponent {
  /**
   * A batch moves to a worker whole (FlowBatch.moveOut), so this stage takes
   * what it is given and says so (the fan-out hands it a batch of its own
   * when others read the same one).
   */
  readonly mutatesData = true;
  readonly #config: FlowAggregateConfig;
  readonly #next: FlowConsumer;
  readonly #attributesRead: ReadonlySet<string>;
  readonly #log: Logger;
  readonly #metrics: AggregateSelfMetrics;
  readonly #partitioner: Partitioner;
  readonly #copier: RowsCopier;
  #partitions: Partition[] = [];
  /** Chunks and moved batches sent whose tasks have not all settled (each resolves when its memory is free again). */
  #inFlight: Array<Promise<unknown>> = [];
  /** Per partition, rows of the moved batches that went to its worker first and are still in #inFlight. */
  #routingRows: number[] = [];
  #nextFirst = 0;
  /** Numbers the batches sent in chunks, so a worker finds each chunk's string table. */
  #nextBatchId = 0;
  #timer: NodeJS.Timeout | undefined;
  #intervalStartMs = Date.now();
  #flushes: Promise<void> = Promise.resolve();
  #accepting = false;

  constructor(settings: CreateSettings, config: FlowAggregateConfig, next: FlowConsumer) {
    super();
    this.#config = config;
    this.#next = next;
    this.#log = settings.logger;
    this.#metrics = new AggregateSelfMetrics(settings.telemetry, settings.id);
    const spec = compileKeySpec(config.group_by);
    this.#attributesRead = new Set(spec.attributeNames);
    this.#partitioner = new Partitioner(spec, config.workers);
    // A buffer for every chunk that can be in flight, plus the one being filled.
    // One worker gets each chunk's buffer transferred; several share it. V8
    // fills a shared buffer with relaxed atomic moves rather than memcpy:
    // 21-23 ns/row against 5.5-5.9 into an unshared one (a 54k-row batch,
    // ~130 bytes a row, measured alone), still less than a private copy per
    // worker cost in bench/pipeline.bench.ts' child (bench/README.md).
    this.#copier = new RowsCopier(spec, new BufferPool(MAX_IN_FLIGHT + 1, config.workers > 1));
  }

  protected async doStart(): Promise<void> {
    const workerData: AggregateWorkerData = {
      groupBy: this.#config.group_by,
      boundaries: Object.fromEntries(HISTOGRAM_COLUMNS.map((c) => [c, [...DEFAULT_HISTOGRAM_BOUNDARIES[c]]])) as Record<HistogramColumn, number[]>,
    };
    for (let k = 0; k < this.#config.workers; k++) {
      const pool = new Piscina({
        // Chunks go out without waiting for each other (see Partition.gate): up to MAX_IN_FLIGHT at once.
        filename: WORKER_FILE, minThreads: 1, maxThreads: 1, concurrentTasksPerWorker: MAX_IN_FLIGHT,
        idleTimeout: Number.MAX_SAFE_INTEGER, workerData,
        // Tasks arrive as messages rather than through a blocking Atomics.wait,
        // so the worker's event loop stays live between tasks (Worker.cpuUsage(),
        // heap statistics and the inspector answer); a chunk is ~1 MiB of rows,
        // so the dispatch cost does not show.
        atomics: 'disabled',
        ...(workerExecArgv() ? { execArgv: workerExecArgv() } : {}),
      });
      let created = 0;
      pool.on('workerCreate', () => {
        if (created++ > 0) this.#metrics.workerRestarted();
      });
      // A worker error outside a task (piscina replaces the thread); the lost rows are counted at flush.
      pool.on('error', (err: unknown) => this.#log.warn('flow_aggregate worker failed', { partition: k, error: err }));
      this.#partitions.push({ pool, tail: Promise.resolve(), gate: Promise.resolve(), sent: 0 });
      this.#routingRows.push(0);
    }
    // A worker that cannot load fails start() here, with its error, instead of the first batches.
    await Promise.all(this.#partitions.map((p) => p.pool.run(null, { name: 'ready' })));
    this.#intervalStartMs = Date.now();
    this.#timer = setInterval(() => void this.flush(), this.#config.interval);
    this.#timer.unref();
    this.#accepting = true;
  }

  /**
   * Only the group_by attributes: a group keeps no others, so nothing after
   * this stage can read them.
   */
  attributesRead(): ReadonlySet<string> {
    return this.#attributesRead;
  }

  async consume(batch: FlowBatch): Promise<void> {
    if (batch.length === 0) return;
    if (!this.#accepting) {
      // Only reachable when an upstream stage outlives this one; the rows cannot be aggregated.
      this.#metrics.dropped(batch.length, 'not_running');
      return;
    }
    this.#metrics.flowsIn(batch.length);
    const n = batch.length;
    const moved = batch.moveOut();
    if (moved) return this.#sendMoved(moved.transfer, moved.transferList, n);
    // Copied once per batch: the caller may intern more strings once consume() returns.
    const strings = batch.strings.values().slice();
    const id = this.#nextBatchId++;
    // Chunks are copied only when there is room, so at most MAX_IN_FLIGHT
    // exist at once (memory stays bounded whatever the batch size). Those
    // copied while there is room go to the workers as one task each.
    let group: WorkerRows[] = [];
    for (let from = 0; from < n; from += CHUNK_ROWS) {
      if (this.#inFlight.length + group.length >= MAX_IN_FLIGHT) {
        if (group.length > 0) this.#send(group, strings, id, false);
        group = [];
        while (this.#inFlight.length >= MAX_IN_FLIGHT) await this.#inFlight[0];
        if (!this.#accepting) {
          // Shut down while this batch waited for room: its last interval is already out.
          this.#metrics.dropped(n - from, 'not_running');
          return;
        }
      }
      const count = Math.min(CHUNK_ROWS, n - from);
      const counters = RowsCopier.presentCounters(batch, from, count);
      group.push(this.#copier.copy(batch, from, count, counters, from === 0 ? strings : undefined));
    }
    this.#send(group, strings, id, true);
  }

  /**
   * Transfers a moved batch to one worker, which folds it and frees it. With
   * several, the batch visits each worker whose partition has rows in it:
   * the first hashes every row's key to find its partition, each folds its
   * own rows in where they lie and hands the batch back (its buffers
   * transferred, with the rows' partitions) to be posted to the next; the
   * last frees it. Nothing is copied, on this thread or any worker: against
   * every worker reading a shared copy of each batch (21-23 ns/row to write,
   * on this thread), this thread posts each batch once per partition, and
   * only the first worker hashes. Batches take turns as to which worker is
   * first (the one with the fewest rows of moved batches in flight).
   *
   * The batch's memory was the caller's already, but a batch in flight is one
   * the caller cannot free: as with chunks, at most MAX_IN_FLIGHT ×
   * CHUNK_ROWS rows per worker may be in flight before consume() waits (one
   * batch always may).
   */
  async #sendMoved(transfer: FlowBatchTransfer, transferList: ArrayBuffer[], n: number): Promise<void> {
    const partitions = this.#partitions.length;
    while (this.#inFlight.length > 0 && this.#movedRows() + n > MAX_IN_FLIGHT * CHUNK_ROWS * partitions) await this.#inFlight[0];
    if (!this.#accepting) {
      this.#metrics.dropped(n, 'not_running');
      for (const b of transferList) releaseLargeBuffer(b);
      return;
    }
    const k = this.#firstWorker();
    const task: AddBatchTask = partitions === 1 ? { batch: transfer } : { batch: transfer, route: { partition: k, partitions } };
    this.#routingRows[k]! += n;
    this.#track(this.#runMoved(k, task, transferList, n).then(() => {
      this.#routingRows[k]! -= n;
    }));
  }

  /** Rows of the moved batches in #inFlight. */
  #movedRows(): number {
    return this.#routingRows.reduce((sum, rows) => sum + rows, 0);
  }

  /**
   * Runs a moved batch's task on partition k, then its next hops, if any:
   * settles once the last has. `unfolded`: the batch's rows no partition has
   * folded yet, all counted as this partition's if its task fails. Only the
   * first hop waits at the gate: the others belong to the interval it was
   * sent in, whose flush waits for them.
   */
  #runMoved(k: number, task: AddBatchTask, transferList: ArrayBuffer[], unfolded: number, gated = true): Promise<void> {
    return this.#run(k, 'addBatch', task, transferList, () => unfolded, (r) => {
      if (!r.pass) return;
      const { batch, route, buffers } = r.pass;
      return this.#runMoved(route.partition, { batch, route }, buffers, unfolded - r.folded, false);
    }, gated);
  }

  /** The partition whose worker sees the next moved batch first: the one with the fewest rows in flight, in turn among equals. */
  #firstWorker(): number {
    const count = this.#routingRows.length;
    let best = this.#nextFirst % count;
    for (let j = 1; j < count; j++) {
      const k = (this.#nextFirst + j) % count;
      if (this.#routingRows[k]! < this.#routingRows[best]!) best = k;
    }
    this.#nextFirst = best + 1;
    return best;
  }

  /**
   * Queues `chunks` (of batch `id`, ending it when `last`) for every worker,
   * as one task each; their buffers are reused once all have replied.
   */
  #send(chunks: WorkerRows[], strings: readonly string[], id: number, last: boolean): void {
    const partitions = this.#partitions.length;
    const shared = chunks[0]!.buffer instanceof SharedArrayBuffer;
    const transferList = shared ? undefined : chunks.map((c) => c.buffer as ArrayBuffer);
    let counts: Int32Array | undefined;
    const rowsOf = (k: number): number => {
      if (!counts) {
        counts = new Int32Array(partitions);
        const hashes = partitions === 1 ? undefined : textHashes(strings);
        for (const c of chunks) {
          if (!hashes) counts[0]! += c.length;
          else this.#partitioner.countOfRows(c, hashes).forEach((v, j) => { counts![j]! += v; });
        }
      }
      return counts[k]!;
    };
    const tasks = this.#partitions.map((_, k) => {
      const task: AddTask = { chunks, partition: k, partitions, batch: id, last };
      return this.#run(k, 'add', task, transferList, () => rowsOf(k), (r) => r.buffers?.forEach((b) => this.#copier.recycle(b)));
    });
    // A transferred buffer is detached here (byteLength 0): the pool ignores it.
    this.#track(Promise.all(tasks).then(() => chunks.forEach((c) => this.#copier.recycle(c.buffer))), chunks.length);
  }

  /**
   * Runs `task` on partition k once its gate opens (`gated`), or at once. The
   * rows the worker folds count as sent; if the task fails (the worker died
   * with or before it), the rows it held (`held()`) count as sent instead, so
   * the flush finds them missing and counts them lost. `replied` may start
   * more tasks (a moved batch's next partition): the task settles, in its
   * partition's tail too, only once what `replied` returns has, so a flush
   * that waits for the tails waits for every hop of the batches before it.
   */
  #run(
    k: number, name: 'add' | 'addBatch', task: AddTask | AddBatchTask, transferList: ArrayBuffer[] | undefined,
    held: () => number, replied?: (r: AddResult) => Promise<void> | void, gated = true,
  ): Promise<void> {
    const p = this.#partitions[k]!;
    const start = (): Promise<void> => {
      const done = p.pool.run(task, { name, ...(transferList ? { transferList } : {}) }).then(
        (r: AddResult) => {
          p.sent += r.folded;
          return replied?.(r);
        },
        (err: unknown) => {
          p.sent += held();
          this.#log.warn('flow_aggregate worker lost a batch', { partition: k, error: err });
        },
      );
      // Only tasks already posted: a flush waits for the tail, and a task held at its gate waits for the flush.
      p.tail = Promise.all([p.tail, done]);
      return done;
    };
    return gated ? p.gate.then(start) : start();
  }

  /**
   * Keeps `settled` in #inFlight until it settles, once per chunk buffer it
   * holds: consume() waits on the oldest for room, settled() on all.
   */
  #track(settled: Promise<unknown>, chunks = 1): void {
    for (let j = 0; j < chunks; j++) this.#inFlight.push(settled);
    void settled.finally(() => {
      this.#inFlight = this.#inFlight.filter((p) => p !== settled);
    });
  }

  /** Resolves once every batch queued so far has been folded into its worker's groups. */
  async settled(): Promise<void> {
    await Promise.all(this.#inFlight);
  }

  /** Emits the current interval's groups downstream (also run by the timer and at shutdown). */
  flush(): Promise<void> {
    this.#flushes = this.#flushes.then(() => this.#flushNow()).catch((err: unknown) => {
      this.#log.warn('flow_aggregate could not emit an interval', { error: err });
    });
    return this.#flushes;
  }

  async #flushNow(): Promise<void> {
    const endMs = Date.now();
    const startMs = this.#intervalStartMs;
    this.#intervalStartMs = endMs;
    // Chained behind every task posted so far, so each flush compares the
    // worker's count with exactly the rows those tasks held for it. First
    // every partition's: a moved batch is posted on to the next partition
    // once one has folded it (its task settles once every hop after it has),
    // and its rows there belong to this interval too.
    const posted = Promise.all(this.#partitions.map((p) => p.tail));
    const results = this.#partitions.map((p) => {
      let sent = 0;
      const flushed = posted.then(() => p.tail).then(() => {
        // Every task posted before this flush, and every forward of theirs, has settled and counted its rows.
        sent = p.sent;
        p.sent = 0;
        return p.pool.run(null, { name: 'flush' });
      });
      // Gated tasks wait until this partition's flush is done (and are only then posted).
      p.gate = flushed.catch(() => undefined);
      return flushed.then(
        (r: FlushResult) => {
          if (sent > r.flowsIn) this.#metrics.dropped(sent - r.flowsIn, 'worker_crash');
          return FlowBatch.fromTransfer(r.batch);
        },
        () => {
          this.#metrics.dropped(sent, 'worker_crash');
          return undefined;
        },
      );
    });
    const parts = (await Promise.all(results)).filter((b): b is FlowBatch => b !== undefined && b.length > 0);
    const groups = parts.reduce((n, b) => n + b.length, 0);
    this.#metrics.interval(groups);
    if (groups === 0) return;
    const out = concatReduced(parts, this.#config.group_by);
    // The workers' batches are this stage's own, and so is their concatenation (FlowBatch.release).
    for (const b of parts) if (b !== out) b.release();
    out.startTimeMs = startMs;
    out.endTimeMs = endMs;
    await consumeAndRelease(this.#next, out);
  }

  protected async doShutdown(): Promise<void> {
    this.#accepting = false;
    clearInterval(this.#timer);
    await this.settled();
    await this.flush();
    await Promise.all(this.#partitions.map((p) => p.pool.destroy()));
    this.#partitions = [];
  }

  /** Chunks of rows this thread has copied for the workers: batches it could not move (for diagnostics and tests). */
  get copiedChunks(): number {
    return this.#copier.chunks;
  }

  /** The live worker threads, one per partition (for diagnostics and the crash test). */
  workerThreads(): Worker[] {
    return this.#partitions.flatMap((p) => p.pool.threads);
  }
}
