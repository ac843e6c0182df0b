// An OTLP backend (metrics, logs and traces) whose behaviour a test switches at
// run time: accept, be down (port closed), answer UNAVAILABLE with a gRPC
// RetryInfo / 503 with Retry-After, or answer slowly. Requests are decoded with
// protobufjs and the official .proto files (as otlp-sink.ts and
// otlp-signal-sink.ts do) and every attempt is logged with its time and signal,
// so tests can check both what arrived and when retries came.

import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Metadata, Server as GrpcServer, ServerCredentials, status, type ServiceDefinition, type StatusObject } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { encodeStatusWithRetryInfo } from '../../../src/exporter/internal/exporterhelper/grpc-status-details.ts';
import { flatten, type Point } from './otlp-sink.ts';
import { decodeSignalRequest, loadOtlpTypes, SERVICES, type Kind, type LogRecordOut, type SpanOut } from './otlp-signal-sink.ts';

const PROTO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..', '..', 'shared/reference/otlp-proto');

export type Mode = { kind: 'ok' } | { kind: 'throttle'; delayMs: number } | { kind: 'slow'; delayMs: number } | { kind: 'reject'; httpStatus: number }
  /** Accept, and answer that `rejected` units of the request were rejected (OTLP partial success). */
  | { kind: 'partial'; rejected: number; message: string };

export type SignalName = 'metrics' | Kind;

export interface Attempt { at: number; accepted: boolean; signal: SignalName }

export class FlakyOtlpBackend {
  readonly transport: 'grpc' | 'http';
  mode: Mode = { kind: 'ok' };
  /** Accepted requests' points, in arrival order. */
  readonly accepted: Point[][] = [];
  /** Accepted logs and traces requests, decoded, in arrival order. */
  readonly acceptedLogs: LogRecordOut[][] = [];
  readonly acceptedSpans: SpanOut[][] = [];
  readonly attempts: Attempt[] = [];
  port = 0;
  readonly #request: protobuf.Type;
  readonly #response: protobuf.Type;
  readonly #signals = { logs: loadOtlpTypes('logs'), traces: loadOtlpTypes('traces') };
  #grpc: GrpcServer | undefined;
  #http: HttpServer | undefined;

  constructor(transport: 'grpc' | 'http') {
    this.transport = transport;
    const root = new protobuf.Root();
    root.resolvePath = (_o, target) => join(PROTO_ROOT, target);
    root.loadSync('opentelemetry/proto/collector/metrics/v1/metrics_service.proto', { keepCase: false });
    this.#request = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
    this.#response = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse');
  }

  #points(msg: protobuf.Message): Point[] {
    return flatten(this.#request.toObject(msg, { longs: Number, enums: String, defaults: false }) as Parameters<typeof flatten>[0]);
  }

  /** Starts listening (on the previous port after a stop(), so the exporter finds it again). */
  async start(): Promise<void> {
    if (this.transport === 'grpc') await this.#startGrpc();
    else await this.#startHttp();
  }

  /** What the mode says for one request: an error to answer, or accept (after a delay when slow). */
  #answer(signal: SignalName, accept: () => void, fail: (grpcCode: number, httpStatus: number, retryDelayMs?: number) => void): void {
    const m = this.mode;
    if (m.kind === 'throttle') {
      this.attempts.push({ at: Date.now(), accepted: false, signal });
      return fail(status.UNAVAILABLE, 503, m.delayMs);
    }
    if (m.kind === 'reject') {
      this.attempts.push({ at: Date.now(), accepted: false, signal });
      return fail(status.INVALID_ARGUMENT, m.httpStatus);
    }
    const ok = () => {
      this.attempts.push({ at: Date.now(), accepted: true, signal });
      accept();
    };
    if (m.kind === 'slow') setTimeout(ok, m.delayMs);
    else ok();
  }

  #record(signal: SignalName, msg: protobuf.Message): void {
    if (signal === 'metrics') this.accepted.push(this.#points(msg));
    else {
      const d = decodeSignalRequest(this.#signals[signal].request, signal, msg);
      if (signal === 'logs') this.acceptedLogs.push(d.logs);
      else this.acceptedSpans.push(d.spans);
    }
  }

  /** The response message: empty, or a partial success in the signal's own field. */
  #responseFor(signal: SignalName, type: protobuf.Type): protobuf.Message {
    const m = this.mode;
    if (m.kind !== 'partial') return type.create({});
    const field = signal === 'logs' ? 'rejectedLogRecords' : signal === 'traces' ? 'rejectedSpans' : 'rejectedDataPoints';
    return type.fromObject({ partialSuccess: { [field]: m.rejected, errorMessage: m.message } });
  }

  #types(signal: SignalName): { request: protobuf.Type; response: protobuf.Type } {
    return signal === 'metrics' ? { request: this.#request, response: this.#response } : this.#signals[signal];
  }

  async #startGrpc(): Promise<void> {
    this.#grpc = new GrpcServer();
    const paths: Record<SignalName, string> = {
      metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
      logs: `/${SERVICES.logs.pkg}.${SERVICES.logs.service}/Export`,
      traces: `/${SERVICES.traces.pkg}.${SERVICES.traces.service}/Export`,
    };
    for (const signal of ['metrics', 'logs', 'traces'] as const) {
      const { request: req, response: res } = this.#types(signal);
      const service: ServiceDefinition = {
        Export: {
          path: paths[signal],
          requestStream: false, responseStream: false,
          requestSerialize: (m: protobuf.Message) => Buffer.from(req.encode(m).finish()),
          requestDeserialize: (b: Buffer) => req.decode(b),
          responseSerialize: (m: protobuf.Message) => Buffer.from(res.encode(m).finish()),
          responseDeserialize: (b: Buffer) => res.decode(b),
        },
      };
      this.#grpc.addService(service, {
        Export: (call: { request: protobuf.Message }, cb: (e: Partial<StatusObject> | null, r?: protobuf.Message) => void) => {
          this.#answer(signal, () => {
            this.#record(signal, call.request);
            cb(null, this.#responseFor(signal, res));
          }, (code, _http, delayMs) => {
            if (delayMs === undefined) return cb({ code, details: 'bad data' });
            const md = new Metadata();
            md.set('grpc-status-details-bin', Buffer.from(encodeStatusWithRetryInfo(code, 'try later', delayMs)));
            cb({ code, details: 'try later', metadata: md });
          });
        },
      });
    }
    const addr = `127.0.0.1:${this.port}`;
    this.port = await new Promise<number>((ok, fail) =>
      this.#grpc!.bindAsync(addr, ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))));
  }

  async #startHttp(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const signal: SignalName = req.url === '/v1/logs' ? 'logs' : req.url === '/v1/traces' ? 'traces' : 'metrics';
        this.#answer(signal, () => {
          let body = Buffer.concat(chunks);
          if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
          const t = this.#types(signal);
          this.#record(signal, t.request.decode(body));
          res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(t.response.encode(this.#responseFor(signal, t.response)).finish()));
        }, (_grpc, httpStatus, delayMs) => {
          if (delayMs === undefined) return res.writeHead(httpStatus).end('bad data');
          res.writeHead(httpStatus, { 'retry-after': String(Math.ceil(delayMs / 1000)) }).end('overloaded');
        });
      });
    };
    this.#http = createServer(handler);
    await new Promise<void>((ok) => this.#http!.listen(this.port, '127.0.0.1', () => ok()));
    this.port = (this.#http.address() as AddressInfo).port;
  }

  /** Closes the port: the exporter sees connection refused / UNAVAILABLE. */
  async stop(): Promise<void> {
    this.#grpc?.forceShutdown();
    this.#grpc = undefined;
    const http = this.#http;
    this.#http = undefined;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((ok) => http.close(() => ok()));
    }
  }

  /** Sum of a metric's values over every accepted request. */
  total(metric: string): number {
    let n = 0;
    for (const r of this.accepted) for (const p of r) if (p.metric === metric) n += p.value as number;
    return n;
  }

  async waitFor(pred: () => boolean, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${ms}ms (${this.accepted.length} accepted, ${this.attempts.length} attempts)`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
