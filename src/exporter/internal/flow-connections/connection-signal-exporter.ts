// A logs or traces exporter over FlowBatches, on the exporterhelper like the
// metrics exporters: each consumed batch becomes items (log records or spans)
// at once, serialized into one OTLP export request with the official
// serializers, and offered to a QueuedRetrySender, so a slow or down backend
// never holds the pipeline back and nothing is lost that the queue can hold:
//
//   consume ─▶ build items ─▶ serialize ─▶ [ sending_queue (storage_dir/<signal>) ] ─▶ send × num_consumers
//                                                 │ full: queue_full (counted)            ▲ retry_on_failure
//                                                 ▼                                       └ permanent / too late: counted
//
// Shutdown: what is queued drains for up to shutdown_timeout; what is left is
// kept on disk (storage_dir) or dropped with reason `shutdown`.

import { join } from 'node:path';
import type { ConsumerComponent, CreateSettings } from '../../../component/component.ts';
import { LifecycleComponent } from '../../../component/lifecycle.ts';
import type { FlowBatch } from '../../../pdata/flow-batch.ts';
import type { Counter } from '../../../service/telemetry/self-telemetry.ts';
import type { DeliveryConfig } from '../exporterhelper/delivery-config.ts';
import { encodedRequestCodec, type EncodedRequest } from '../exporterhelper/encoded-request.ts';
import type { Verdict } from '../exporterhelper/export-error.ts';
import { QueuedRetrySender } from '../exporterhelper/queued-retry-sender.ts';
import { SenderSelfMetrics, type SignalUnit } from '../exporterhelper/sender-self-metrics.ts';

export type SkipReason = 'min_bytes' | 'min_duration' | 'sampling' | 'active' | 'no_request_edge';

export interface ItemBuilder<T> {
  /** Items for one batch; calls skip() for each connection left out by configuration. */
  build(batch: FlowBatch, skip: (reason: SkipReason) => void): T[];
}

/** One transport's way of sending a serialized request and judging its failures. */
export interface RequestSender {
  /** Resolves with the response message (its bytes, maybe empty) when the backend accepted the request. */
  send(body: Uint8Array, signal: AbortSignal): Promise<Uint8Array>;
  classify(e: unknown): Verdict;
  close(): void;
}

export interface SignalExporterOptions<T> {
  /** "log_records" or "spans": names the self-metrics. */
  item: SignalUnit;
  /** For logs. */
  endpoint: string;
  builder: ItemBuilder<T>;
  /** The official OTLP serializer of the transport's encoding; undefined when it cannot encode. */
  serialize: (items: T[]) => Uint8Array | undefined;
  /** What an accepted request's response says the backend rejected (OTLP partial success). */
  rejected: (response: Uint8Array) => { count: number; message: string } | undefined;
  delivery: DeliveryConfig;
  /** Builds the transport at start (reads certificate files, opens no connection yet). */
  createSender: () => RequestSender;
  /** Awaited at start, before anything is serialized: loads what serialize and rejected need. */
  prepare?: () => Promise<void>;
}

export class ConnectionSignalExporter<T> extends LifecycleComponent implements ConsumerComponent {
  readonly mutatesData = false;
  readonly #settings: CreateSettings;
  readonly #opts: SignalExporterOptions<T>;
  readonly #stats: SenderSelfMetrics;
  readonly #skipped: Counter;
  readonly #sender: QueuedRetrySender<EncodedRequest>;
  #transport: RequestSender | undefined;
  /** start() has run prepare(): serialize may be called. */
  #prepared = false;

  constructor(settings: CreateSettings, opts: SignalExporterOptions<T>) {
    super();
    this.#settings = settings;
    this.#opts = opts;
    this.#stats = new SenderSelfMetrics(settings.telemetry, settings.id, opts.item);
    this.#skipped = settings.telemetry.counter('podflow_exporter_connections_skipped_total',
      'Connections a logs or traces exporter left out (reason: min_bytes, min_duration, sampling, active as configured; no_request_edge: an ended connection whose batch held only its reply edge, so no span).');
    const { sending_queue: queue, retry_on_failure: retry } = opts.delivery;
    // Built now, started in doStart: a batch offered before start or after
    // shutdown is counted (reason shutdown) instead of vanishing.
    this.#sender = new QueuedRetrySender<EncodedRequest>({
      queue,
      retry,
      send: async (r, signal) => this.#partialSuccess(await this.#transport!.send(r.body, signal)),
      classify: (e) => this.#transport!.classify(e),
      size: (r) => r.count,
      stats: this.#stats,
      logger: settings.logger,
      // One exporter ID can serve metrics, logs and traces with one storage_dir:
      // each signal keeps its items in its own subdirectory.
      ...(queue.storage_dir !== undefined ? { persist: { dir: join(queue.storage_dir, settings.signal), codec: encodedRequestCodec } } : {}),
    });
  }

  /** Requests waiting in the sending queue plus those being sent. */
  get pending(): number {
    return this.#sender.size + this.#sender.inFlight;
  }

  protected async doStart(): Promise<void> {
    await this.#opts.prepare?.();
    this.#prepared = true;
    this.#transport = this.#opts.createSender();
    this.#sender.start();
    this.#stats.observeQueue(() => this.#sender.size, this.#sender.capacity);
    this.#settings.logger.info(`${this.#settings.signal} exporter started`, {
      endpoint: this.#opts.endpoint, queue_size: this.#sender.capacity, persistent: this.#opts.delivery.sending_queue.storage_dir !== undefined,
    });
  }

  protected async doShutdown(): Promise<void> {
    await this.#sender.shutdown(this.#opts.delivery.shutdown_timeout);
    this.#transport?.close();
  }

  /**
   * The backend accepted the request but may have rejected part of it: those
   * units are lost at the backend, not retried (the OTLP spec: the client must
   * not retry a partial success), and counted, as the Collector logs them.
   */
  #partialSuccess(response: Uint8Array): void {
    let r: { count: number; message: string } | undefined;
    try {
      r = response.byteLength ? this.#opts.rejected(response) : undefined;
    } catch {
      return; // an unreadable response to an accepted request: nothing to learn from it
    }
    if (!r || !(r.count > 0)) return;
    this.#stats.rejected(r.count);
    this.#settings.logger.warn('Partial success response: the backend rejected part of the data.', {
      [`rejected_${this.#opts.item}`]: r.count, error_message: r.message,
    });
  }

  async consume(batch: FlowBatch): Promise<void> {
    const labels = this.#stats.labels;
    const items = this.#opts.builder.build(batch, (reason) => this.#skipped.add(1, { ...labels, reason }));
    if (items.length === 0) return;
    if (!this.#prepared) {
      // Not started: what the sender counts for an item offered before start.
      this.#stats.dropped(items.length, 'shutdown');
      return;
    }
    let body: Uint8Array | undefined;
    try {
      body = this.#opts.serialize(items);
    } catch (e) {
      this.#settings.logger.warn('Could not serialize an export request. Dropping data.', { error: (e as Error).message, [`dropped_${this.#opts.item}`]: items.length });
    }
    if (!body) {
      this.#stats.dropped(items.length, 'non_retryable');
      return;
    }
    // Refused items are counted by the sender (queue_full, or shutdown when not running).
    this.#sender.offer({ count: items.length, body });
  }
}
