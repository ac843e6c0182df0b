// The otlp receiver: OTLP metrics, logs and traces over gRPC and HTTP, turned
// back into FlowBatches (metrics-to-flows.ts, records-to-flows.ts) and handed
// to the pipelines of the request's signal only (settings.consumersBySignal).
// A request is answered only after the pipeline took the batch, so the sender
// sees backpressure and failures (UNAVAILABLE / 503, which OTLP clients retry).

import type { Server as GrpcServer } from '@grpc/grpc-js';
import type { Server as HttpServer } from 'node:http';
import type { Component, CreateSettings } from '../../component/component.ts';
import { LifecycleComponent } from '../../component/lifecycle.ts';
import type { FlowConsumer } from '../../consumer/consumer.ts';
import type { Counter } from '../../service/telemetry/self-telemetry.ts';
import type { OtlpReceiverConfig } from './config.ts';
import { MetricsToFlows } from './metrics-to-flows.ts';
import { RequestError, startGrpcServer } from './otlp-grpc-server.ts';
import { startHttpServer } from './otlp-http-server.ts';
import { decodeRequest, type LogsRequestObj, type MetricsRequestObj, type OtlpSignal, type TraceRequestObj } from './otlp-schema.ts';
import { recordsToFlows } from './records-to-flows.ts';
import type { FlowBatch } from '../../pdata/flow-batch.ts';

type Transport = 'grpc' | 'http-proto' | 'http-json';

export class OtlpReceiver extends LifecycleComponent implements Component {
  readonly #settings: CreateSettings;
  readonly #config: OtlpReceiverConfig;
  readonly #next: FlowConsumer;
  readonly #convert = new MetricsToFlows();
  readonly #accepted: Counter;
  readonly #refused: Counter;
  readonly #dropped: Counter;
  readonly #acceptedItems: Counter;
  #grpc: GrpcServer | undefined;
  #http: HttpServer | undefined;
  /** Bound ports (tests bind port 0). */
  grpcPort = 0;
  httpPort = 0;

  constructor(settings: CreateSettings, config: OtlpReceiverConfig, next: FlowConsumer) {
    super();
    this.#settings = settings;
    this.#config = config;
    this.#next = next;
    const t = settings.telemetry;
    this.#accepted = t.counter('podflow_receiver_accepted_metric_points_total', 'OTLP metric points the otlp receiver turned into flows and passed on.');
    this.#refused = t.counter('podflow_receiver_refused_requests_total', 'OTLP requests the otlp receiver answered with an error (reason: malformed, unavailable, path, method, content_type, too_large).');
    this.#dropped = t.counter('podflow_receiver_dropped_metric_points_total', 'OTLP metric points (and, with label signal, log records or spans) the otlp receiver could not turn into flows (reason: not_convertible, invalid).');
    this.#acceptedItems = t.counter('podflow_receiver_accepted_records_total', 'OTLP log records (signal=logs) and spans (signal=traces) the otlp receiver turned into flows and passed on.');
  }

  protected async doStart(): Promise<void> {
    const { grpc, http } = this.#config.protocols;
    const handle = (body: Uint8Array, transport: Transport, signal: OtlpSignal) => this.#handle(body, transport, signal);
    try {
      if (grpc) {
        const g = await startGrpcServer(grpc.endpoint, grpc.tls, grpc.max_recv_msg_size_mib, handle);
        this.#grpc = g.server;
        this.grpcPort = g.port;
      }
      if (http) {
        const h = await startHttpServer(http.endpoint, http.tls, http.max_request_body_size_mib, handle,
          (reason, transport) => this.#refused.add(1, { receiver: this.#settings.id, transport, reason }));
        this.#http = h.server;
        this.httpPort = h.port;
      }
    } catch (e) {
      await this.doShutdown();
      throw e;
    }
    this.#settings.logger.info('otlp receiver listening', { grpc: grpc ? grpc.endpoint : 'off', http: http ? http.endpoint : 'off' });
  }

  protected async doShutdown(): Promise<void> {
    const grpc = this.#grpc;
    const http = this.#http;
    this.#grpc = undefined;
    this.#http = undefined;
    if (grpc) await new Promise<void>((res) => grpc.tryShutdown(() => res()));
    if (http) {
      http.closeIdleConnections();
      await new Promise<void>((res) => http.close(() => res()));
    }
  }

  /** The pipelines of a signal: by signal when the service says, else `next` for the receiver's own signal. */
  #consumerFor(signal: OtlpSignal): FlowConsumer | undefined {
    const by = this.#settings.consumersBySignal;
    if (by) return by[signal];
    return signal === this.#settings.signal ? this.#next : undefined;
  }

  async #handle(body: Uint8Array, transport: Transport, signal: OtlpSignal): Promise<void> {
    const labels = { receiver: this.#settings.id, transport };
    const next = this.#consumerFor(signal);
    if (!next) {
      this.#refused.add(1, { ...labels, reason: 'path' });
      throw new RequestError(`no ${signal} pipeline uses this receiver`, 'unimplemented');
    }
    let req: unknown;
    try {
      req = decodeRequest(signal, body, transport === 'http-json');
    } catch (e) {
      this.#refused.add(1, { ...labels, reason: 'malformed' });
      throw new RequestError(`malformed OTLP ${signal} request: ${(e as Error).message}`, 'invalid');
    }
    let batches: FlowBatch[];
    let accepted = 0;
    if (signal === 'metrics') {
      const { batch, notConvertible, invalid } = this.#convert.convert(req as MetricsRequestObj);
      if (notConvertible) this.#dropped.add(notConvertible, { receiver: this.#settings.id, reason: 'not_convertible' });
      if (invalid) this.#dropped.add(invalid, { receiver: this.#settings.id, reason: 'invalid' });
      batches = [batch];
      for (const col of Object.values(batch.counters)) for (let i = 0; i < batch.length; i++) if (col[i]! !== 0) accepted++;
    } else {
      const items = signal === 'logs'
        ? ((req as LogsRequestObj).resourceLogs ?? []).flatMap((rl) => (rl.scopeLogs ?? []).flatMap((sl) => sl.logRecords ?? []))
          .map((r) => ({ attributes: r.attributes, timeMs: Math.round((r.timeUnixNano ?? 0) / 1e6) }))
        : ((req as TraceRequestObj).resourceSpans ?? []).flatMap((rs) => (rs.scopeSpans ?? []).flatMap((ss) => ss.spans ?? []))
          .map((s) => ({ attributes: s.attributes, timeMs: Math.round((s.endTimeUnixNano ?? 0) / 1e6) }));
      const r = recordsToFlows(items);
      if (r.invalid) this.#dropped.add(r.invalid, { receiver: this.#settings.id, reason: 'invalid', signal });
      batches = r.batches;
      accepted = items.length - r.invalid;
    }
    try {
      for (const b of batches) if (b.length > 0) await next.consume(b);
    } catch (e) {
      this.#refused.add(1, { ...labels, reason: 'unavailable' });
      throw new RequestError(`the pipeline refused the data: ${(e as Error).message}`, 'unavailable');
    } finally {
      for (const b of batches) b.release(); // consumed (or refused): their memory goes now
    }
    if (signal === 'metrics') this.#accepted.add(accepted, labels);
    else this.#acceptedItems.add(accepted, { ...labels, signal });
  }
}
