// The debug exporter in a logs or traces pipeline: writes what otlp_grpc /
// otlp_http would send for each batch, built by the same builders with nothing
// skipped. basic: one line per batch with the count; normal: one line per log
// record (its body) or span (name, kind, IDs); detailed: plus every attribute
// and the resource.

import type { ConsumerComponent, CreateSettings } from '../../component/component.ts';
import { LifecycleComponent } from '../../component/lifecycle.ts';
import { defaultsOf } from '../../config/schema.ts';
import type { FlowBatch } from '../../pdata/flow-batch.ts';
import type { Logger } from '../../service/logger.ts';
import { logsSchema, tracesSchema } from '../internal/flow-connections/signal-config.ts';
import { FlowLogBuilder } from '../internal/flow-logs/flow-log-records.ts';
import { ConnectionSpanBuilder } from '../internal/flow-spans/connection-spans.ts';
import type { DebugConfig } from './config.ts';

const SPAN_KIND = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const noSkip = (): void => undefined;

export class DebugConnectionExporter extends LifecycleComponent implements ConsumerComponent {
  readonly mutatesData = false;
  readonly #logger: Logger;
  readonly #verbosity: DebugConfig['verbosity'];
  readonly #logs: FlowLogBuilder | undefined;
  readonly #spans: ConnectionSpanBuilder | undefined;

  constructor(settings: CreateSettings, config: DebugConfig) {
    super();
    this.#logger = settings.logger;
    this.#verbosity = config.verbosity;
    if (settings.signal === 'logs') this.#logs = new FlowLogBuilder(defaultsOf(logsSchema), settings.resource);
    else this.#spans = new ConnectionSpanBuilder(defaultsOf(tracesSchema), settings.resource);
  }

  protected async doStart(): Promise<void> {}
  protected async doShutdown(): Promise<void> {}

  async consume(batch: FlowBatch): Promise<void> {
    const detailed = this.#verbosity === 'detailed';
    if (this.#logs) {
      const records = this.#logs.build(batch, noSkip);
      this.#logger.info('Logs', { log_records: records.length });
      if (this.#verbosity === 'basic') return;
      for (const r of records) this.#logger.info(String(r.body), detailed ? { severity: r.severityText, ...r.attributes } : undefined);
      return;
    }
    const spans = this.#spans!.build(batch, noSkip);
    this.#logger.info('Traces', { spans: spans.length });
    if (this.#verbosity === 'basic') return;
    for (const s of spans) {
      const ctx = s.spanContext();
      const line = `${SPAN_KIND[s.kind]} ${s.name} trace=${ctx.traceId} span=${ctx.spanId}${s.parentSpanContext ? ` parent=${s.parentSpanContext.spanId}` : ''}`;
      this.#logger.info(line, detailed ? { ...s.resource.attributes, ...s.attributes, status: s.status.code } : undefined);
    }
  }
}
