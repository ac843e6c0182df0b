// An OTLP metrics backend whose behaviour a test switches at run time: accept,
// be down (port closed), answer UNAVAILABLE with a gRPC RetryInfo / 503 with
// Retry-After, or answer slowly. Requests are decoded with protobufjs and the
// official .proto files (as otlp-sink.ts does) and every attempt is logged with
// its time, so tests can check both what arrived and when retries came.

import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Metadata, Server as GrpcServer, ServerCredentials, status, type ServiceDefinition, type StatusObject } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { encodeStatusWithRetryInfo } from '../../../src/exporter/internal/exporterhelper/grpc-status-details.ts';
import { flatten, type Point } from './otlp-sink.ts';

const PROTO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..', '..', 'shared/reference/otlp-proto');

export type Mode = { kind: 'ok' } | { kind: 'throttle'; delayMs: number } | { kind: 'slow'; delayMs: number } | { kind: 'reject'; httpStatus: number };

export interface Attempt { at: number; accepted: boolean }

export class FlakyOtlpBackend {
  readonly transport: 'grpc' | 'http';
  mode: Mode = { kind: 'ok' };
  /** Accepted requests' points, in arrival order. */
  readonly accepted: Point[][] = [];
  readonly attempts: Attempt[] = [];
  port = 0;
  readonly #request: protobuf.Type;
  readonly #response: protobuf.Type;
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

  async #startGrpc(): Promise<void> {
    const req = this.#request;
    const res = this.#response;
    const service: ServiceDefinition = {
      Export: {
        path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
        requestStream: false, responseStream: false,
        requestSerialize: (m: protobuf.Message) => Buffer.from(req.encode(m).finish()),
        requestDeserialize: (b: Buffer) => req.decode(b),
        responseSerialize: (m: protobuf.Message) => Buffer.from(res.encode(m).finish()),
        responseDeserialize: (b: Buffer) => res.decode(b),
      },
    };
    this.#grpc = new GrpcServer();
    this.#grpc.addService(service, {
      Export: (call: { request: protobuf.Message }, cb: (e: Partial<StatusObject> | null, r?: protobuf.Message) => void) => {
        const m = this.mode;
        if (m.kind === 'throttle') {
          this.attempts.push({ at: Date.now(), accepted: false });
          const md = new Metadata();
          md.set('grpc-status-details-bin', Buffer.from(encodeStatusWithRetryInfo(status.UNAVAILABLE, 'try later', m.delayMs)));
          return cb({ code: status.UNAVAILABLE, details: 'try later', metadata: md });
        }
        if (m.kind === 'reject') {
          this.attempts.push({ at: Date.now(), accepted: false });
          return cb({ code: status.INVALID_ARGUMENT, details: 'bad data' });
        }
        const accept = () => {
          this.attempts.push({ at: Date.now(), accepted: true });
          this.accepted.push(this.#points(call.request));
          cb(null, res.create({}));
        };
        if (m.kind === 'slow') setTimeout(accept, m.delayMs);
        else accept();
      },
    });
    const addr = `127.0.0.1:${this.port}`;
    this.port = await new Promise<number>((ok, fail) =>
      this.#grpc!.bindAsync(addr, ServerCredentials.createInsecure(), (e, p) => (e ? fail(e) : ok(p))));
  }

  async #startHttp(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const m = this.mode;
        if (m.kind === 'throttle') {
          this.attempts.push({ at: Date.now(), accepted: false });
          return res.writeHead(503, { 'retry-after': String(Math.ceil(m.delayMs / 1000)) }).end('overloaded');
        }
        if (m.kind === 'reject') {
          this.attempts.push({ at: Date.now(), accepted: false });
          return res.writeHead(m.httpStatus).end('bad data');
        }
        const accept = () => {
          let body = Buffer.concat(chunks);
          if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
          this.attempts.push({ at: Date.now(), accepted: true });
          this.accepted.push(this.#points(this.#request.decode(body)));
          res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(this.#response.encode(this.#response.create({})).finish()));
        };
        if (m.kind === 'slow') setTimeout(accept, m.delayMs);
        else accept();
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
