// The console exporter: the live view of `podflow run`. Every `refresh` it
// shows the top flow edges since the previous view. On a terminal it redraws
// in place, cut to the terminal's size; otherwise (a pipe, a log file, kubectl
// logs) it prints one plain block per refresh so the log stays readable.

import type { ConsumerComponent, CreateSettings } from '../../component/component.ts';
import { LifecycleComponent } from '../../component/lifecycle.ts';
import type { FlowBatch } from '../../pdata/flow-batch.ts';
import type { Logger } from '../../service/logger.ts';
import type { ConsoleConfig } from './config.ts';
import { formatTable } from './flow-table.ts';
import { EdgeAggregator, topEdges } from './top-flows.ts';

/** The part of a tty.WriteStream the view uses; injectable for tests. */
export interface ConsoleOutput {
  write(chunk: string): unknown;
  on?(event: 'error', listener: (e: Error) => void): unknown;
  off?(event: 'error', listener: (e: Error) => void): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

export interface ConsoleExporterOptions {
  out?: ConsoleOutput;
  now?: () => number;
}

const CLEAR_HOME = '\x1b[2J\x1b[H';
const IDLE_REFRESHES_SHOWN_EMPTY = 3;

export class ConsoleExporter extends LifecycleComponent implements ConsumerComponent {
  readonly mutatesData = false;
  readonly #config: ConsoleConfig;
  readonly #out: ConsoleOutput;
  readonly #now: () => number;
  readonly #agg = new EdgeAggregator();
  #timer: NodeJS.Timeout | undefined;
  #lastRefresh: number;
  #idle = 0;
  #closed = false;
  readonly #logger: Logger;
  // A closed stdout (`podflow run | head`) must stop the view, not crash the agent with EPIPE.
  readonly #onError = (e: Error) => {
    if (!this.#closed) this.#logger.warn('console output failed; the view stops', { error: e });
    this.#closed = true;
  };

  constructor(settings: CreateSettings, config: ConsoleConfig, opts: ConsoleExporterOptions = {}) {
    super();
    this.#logger = settings.logger;
    this.#config = config;
    this.#out = opts.out ?? process.stdout;
    this.#now = opts.now ?? Date.now;
    this.#lastRefresh = this.#now();
  }

  async consume(batch: FlowBatch): Promise<void> {
    this.#agg.add(batch);
  }

  /** Draws the view of the flows since the last refresh and starts a new window (the timer calls this). */
  refresh(): void {
    if (this.#closed) {
      this.#agg.drain();
      return;
    }
    const now = this.#now();
    const tty = this.#out.isTTY === true;
    if (this.#agg.pendingRows === 0) {
      // An idle pipeline does not fill a log with empty tables; a terminal keeps the
      // last view through a little jitter between the batches' and the view's timers.
      this.#idle++;
      if (!tty || this.#idle < IDLE_REFRESHES_SHOWN_EMPTY) {
        this.#lastRefresh = now;
        return;
      }
    } else {
      this.#idle = 0;
    }
    const w = this.#agg.drain();
    // Rates over the span the batches cover; the wall-clock window when they carry none.
    const spanMs = w.endTimeMs > w.startTimeMs ? w.endTimeMs - w.startTimeMs : now - this.#lastRefresh;
    this.#lastRefresh = now;
    const { sort_by: sortBy, top } = this.#config;
    const edges = topEdges(w.edges, sortBy, top);
    const header = `podflow top flows ${new Date(now).toISOString()}  window ${(spanMs / 1000).toFixed(1)}s  `
      + `${w.rows} rows  ${w.edges.length} edges  top ${edges.length} by ${sortBy}`;
    // A terminal that reports no size (0 columns and rows: a pty nobody sized,
    // as `script` or some `kubectl exec -t` give) would cut every line to
    // nothing: 80 columns then, and no limit on rows, as `podflow top` does.
    const width = tty ? this.#out.columns || 80 : undefined;
    let lines = [header, ...(edges.length ? formatTable(edges, spanMs / 1000, width) : ['(no flows in this window)'])];
    if (tty) {
      lines = lines.map((l) => (l.length > width! ? l.slice(0, width) : l));
      if (this.#out.rows) lines = lines.slice(0, Math.max(1, this.#out.rows - 1)); // 0: unknown, not cut
      this.#out.write(CLEAR_HOME + lines.join('\n') + '\n');
    } else {
      this.#out.write(lines.join('\n') + '\n\n');
    }
  }

  protected async doStart(): Promise<void> {
    this.#lastRefresh = this.#now();
    this.#out.on?.('error', this.#onError);
    this.#timer = setInterval(() => this.refresh(), this.#config.refresh);
    this.#timer.unref();
  }

  protected async doShutdown(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    // The last window is shown rather than lost.
    if (this.#agg.pendingRows > 0) this.refresh();
    this.#out.off?.('error', this.#onError);
  }
}
