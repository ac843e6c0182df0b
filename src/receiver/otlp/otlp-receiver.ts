// The otlp receiver: OTLP metrics over gRPC and HTTP, turned back into
// FlowBatches (metrics-to-flows.ts) and handed to the pipeline. A request is
// answered only after the pipeline took the batch, so the sender sees
// backpressure and failures (UNAVAILABLE / 503, which OTLP clients retry).

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
import { decodeMetricsJson, decodeMetricsProto, type MetricsRequestObj } from './otlp-schema.ts';

type Transport = 'grpc' | 'http-proto' | 'http-json';

export class OtlpReceiver extends LifecycleComponent implements Component {
  readonly #settings: CreateSettings;
  readonly #config: OtlpReceiverConfig;
  readonly #next: FlowConsumer;
  readonly #convert = new MetricsToFlows();
  readonly #accepted: Counter;
  readonly #refused: Counter;
  readonly #dropped: Counter;
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
    this.#dropped = t.counter('podflow_receiver_dropped_metric_points_total', 'OTLP metric points the otlp receiver could not turn into flows (reason: not_convertible, invalid).');
  }

  protected async doStart(): Promise<void> {
    const { grpc, http } = this.#config.protocols;
    const handle = (body: Uint8Array, transport: Transport) => this.#handle(body, transport);
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

  async #handle(body: Uint8Array, transport: Transport): Promise<void> {
    const labels = { receiver: this.#settings.id, transport };
    let req: MetricsRequestObj;
    try {
      req = transport === 'http-json' ? decodeMetricsJson(Buffer.from(body).toString('utf8')) : decodeMetricsProto(body);
    } catch (e) {
      this.#refused.add(1, { ...labels, reason: 'malformed' });
      throw new RequestError(`malformed OTLP metrics request: ${(e as Error).message}`, 'invalid');
    }
    const { batch, notConvertible, invalid } = this.#convert.convert(req);
    if (notConvertible) this.#dropped.add(notConvertible, { receiver: this.#settings.id, reason: 'not_convertible' });
    if (invalid) this.#dropped.add(invalid, { receiver: this.#settings.id, reason: 'invalid' });
    if (batch.length === 0) return;
    try {
      await this.#next.consume(batch);
    } catch (e) {
      this.#refused.add(1, { ...labels, reason: 'unavailable' });
      throw new RequestError(`the pipeline refused the data: ${(e as Error).message}`, 'unavailable');
    }
    let points = 0;
    for (const col of Object.values(batch.counters)) for (let i = 0; i < batch.length; i++) if (col[i]! !== 0) points++;
    this.#accepted.add(points, labels);
  }
}
