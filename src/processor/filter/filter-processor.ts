// filter: keeps the flows that match `include` (all flows when it is not set)
// and do not match `exclude`, as the Collector's filterprocessor does.

import type { ConsumerComponent, CreateSettings } from '../../component/component.ts';
import { LifecycleComponent } from '../../component/lifecycle.ts';
import { attributesReadBy, consumeAndRelease, type FlowConsumer } from '../../consumer/consumer.ts';
import type { FlowBatch } from '../../pdata/flow-batch.ts';
import { selectRows } from '../../pdata/flow-batch-select.ts';
import type { Counter } from '../../service/telemetry/self-telemetry.ts';
import type { FilterConfig } from './config.ts';
import { FlowMatcher } from './flow-matcher.ts';

export class FilterProcessor extends LifecycleComponent implements ConsumerComponent {
  // Kept rows go out as a new batch; the input is only read.
  readonly mutatesData = false;
  readonly #next: FlowConsumer;
  readonly #include: FlowMatcher | undefined;
  readonly #exclude: FlowMatcher | undefined;
  readonly #filtered: Counter;
  readonly #labels: { processor: string };
  #inc = new Uint8Array(0);
  #exc = new Uint8Array(0);

  constructor(settings: CreateSettings, config: FilterConfig, next: FlowConsumer) {
    super();
    this.#next = next;
    this.#include = config.include && new FlowMatcher(config.include);
    this.#exclude = config.exclude && new FlowMatcher(config.exclude);
    this.#labels = { processor: settings.id };
    this.#filtered = settings.telemetry.counter('podflow_processor_filtered_flows_total', 'Flow rows a filter processor dropped.');
    this.#filtered.add(0, this.#labels);
  }

  protected async doStart(): Promise<void> {}
  protected async doShutdown(): Promise<void> {}

  /** What the conditions read, and what follows reads of the rows kept. */
  attributesRead(): ReadonlySet<string> | undefined {
    const after = attributesReadBy(this.#next);
    if (after === undefined) return undefined;
    return new Set([...after, ...(this.#include?.attributesRead ?? []), ...(this.#exclude?.attributesRead ?? [])]);
  }

  async consume(batch: FlowBatch): Promise<void> {
    const n = batch.length;
    if (this.#inc.length < n) {
      this.#inc = new Uint8Array(n);
      this.#exc = new Uint8Array(n);
    }
    const inc = this.#inc;
    const exc = this.#exc;
    if (this.#include) this.#include.mark(batch, inc);
    else inc.fill(1, 0, n);
    if (this.#exclude) this.#exclude.mark(batch, exc);
    else exc.fill(0, 0, n);
    const rows = new Int32Array(n);
    let kept = 0;
    for (let i = 0; i < n; i++) if (inc[i] === 1 && exc[i] === 0) rows[kept++] = i;
    if (kept < n) this.#filtered.add(n - kept, this.#labels);
    if (kept === n) return this.#next.consume(batch);
    if (kept === 0) return;
    // selectRows carries a flow_aggregate batch's histogram columns along.
    return consumeAndRelease(this.#next, selectRows(batch, rows, kept));
  }
}
