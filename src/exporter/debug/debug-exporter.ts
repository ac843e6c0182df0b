// Writes what it receives through the logger, as the Collector's debug exporter
// does: `basic` one line per batch with totals, `normal` one line per flow,
// `detailed` one line per flow with every attribute and counter.

import type { ConsumerComponent, CreateSettings } from '../../component/component.ts';
import { LifecycleComponent } from '../../component/lifecycle.ts';
import { ADDITIVE_COLUMNS } from '../../pdata/flow-aggregation.ts';
import type { CounterColumn, FlowBatch } from '../../pdata/flow-batch.ts';
import { readFlow, type FlowRecord } from '../../pdata/flow-record.ts';
import type { Logger } from '../../service/logger.ts';
import type { DebugConfig } from './config.ts';

export class DebugExporter extends LifecycleComponent implements ConsumerComponent {
  readonly mutatesData = false;
  readonly #logger: Logger;
  readonly #verbosity: DebugConfig['verbosity'];

  constructor(settings: CreateSettings, config: DebugConfig) {
    super();
    this.#logger = settings.logger;
    this.#verbosity = config.verbosity;
  }

  protected async doStart(): Promise<void> {}
  protected async doShutdown(): Promise<void> {}

  async consume(batch: FlowBatch): Promise<void> {
    this.#logger.info('Flows', { flows: batch.length, ...batchTotals(batch), interval_ms: batch.endTimeMs - batch.startTimeMs });
    if (this.#verbosity === 'basic') return;
    for (let i = 0; i < batch.length; i++) {
      const r = readFlow(batch, i);
      if (this.#verbosity === 'normal') this.#logger.info(flowLine(r));
      else this.#logger.info(flowLine(r), detailedFields(r));
    }
  }
}

/** Sums of the additive counters over the batch (RTT and duration are not additive). */
export function batchTotals(batch: FlowBatch): Partial<Record<CounterColumn, number>> {
  const out: Partial<Record<CounterColumn, number>> = {};
  for (const c of ADDITIVE_COLUMNS) {
    let sum = 0;
    const col = batch.counters[c];
    for (let i = 0; i < batch.length; i++) sum += col[i]!;
    out[c] = sum;
  }
  return out;
}

function endpoint(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** "tcp 10.0.0.1:40000 -> 10.0.0.2:8080 bytes=1500 packets=2" */
export function flowLine(r: FlowRecord): string {
  const counters = Object.entries(r.counters ?? {}).map(([k, v]) => `${k}=${v}`).join(' ');
  const via = r.originalDestinationAddress !== undefined
    ? ` (via ${endpoint(r.originalDestinationAddress, r.originalDestinationPort ?? 0)})` : '';
  return `${r.transport} ${endpoint(r.sourceAddress, r.sourcePort)} -> ${endpoint(r.destinationAddress, r.destinationPort)}${via}${counters ? ' ' + counters : ''}`;
}

function detailedFields(r: FlowRecord): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    'network.transport': r.transport,
    'source.address': r.sourceAddress,
    'source.port': r.sourcePort,
    'destination.address': r.destinationAddress,
    'destination.port': r.destinationPort,
    'flow.observer': r.observer,
    'source.is_client': r.sourceIsClient,
    'connection.ended': r.connectionEnded,
  };
  if (r.originalDestinationAddress !== undefined) {
    fields['destination.original.address'] = r.originalDestinationAddress;
    fields['destination.original.port'] = r.originalDestinationPort;
  }
  if (r.originalSourceAddress !== undefined) {
    fields['source.original.address'] = r.originalSourceAddress;
    fields['source.original.port'] = r.originalSourcePort;
  }
  return { ...fields, ...r.attributes, counters: r.counters };
}
