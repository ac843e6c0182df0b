// An OTLP metrics backend for tests: a gRPC server (@grpc/grpc-js) and an
// OTLP/HTTP server (node:http) that decode every request with protobufjs and the
// official .proto files in <repo>/../shared/reference/otlp-proto (an encoder
// independent of the SDK under test), and flatten them into points to check.

import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Server as GrpcServer, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const PROTO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..', '..', 'shared/reference/otlp-proto');

function loadTypes() {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_ROOT, target);
  root.loadSync('opentelemetry/proto/collector/metrics/v1/metrics_service.proto', { keepCase: false });
  return {
    request: root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest'),
    response: root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse'),
  };
}

export type AttrValue = string | number | boolean;
export interface HistogramValue { count: number; sum: number; bucketCounts: number[]; explicitBounds: number[]; min?: number; max?: number }
export interface Point {
  metric: string;
  unit: string;
  kind: 'sum' | 'histogram' | 'gauge';
  temporality: 'cumulative' | 'delta' | 'unspecified';
  monotonic: boolean;
  attributes: Record<string, AttrValue>;
  resource: Record<string, AttrValue>;
  scope: string;
  startNs: number;
  timeNs: number;
  value: number | HistogramValue;
}

interface AnyValueObj { stringValue?: string; intValue?: number; doubleValue?: number; boolValue?: boolean }
interface KV { key: string; value?: AnyValueObj }
interface NumberPointObj { attributes?: KV[]; startTimeUnixNano?: number; timeUnixNano?: number; asInt?: number; asDouble?: number }
interface HistPointObj extends NumberPointObj { count?: number; sum?: number; bucketCounts?: number[]; explicitBounds?: number[]; min?: number; max?: number }
interface MetricObj {
  name: string; unit?: string;
  sum?: { dataPoints?: NumberPointObj[]; aggregationTemporality?: string; isMonotonic?: boolean };
  gauge?: { dataPoints?: NumberPointObj[] };
  histogram?: { dataPoints?: HistPointObj[]; aggregationTemporality?: string };
}
interface RequestObj {
  resourceMetrics?: Array<{ resource?: { attributes?: KV[] }; scopeMetrics?: Array<{ scope?: { name?: string }; metrics?: MetricObj[] }> }>;
}

function attrs(kvs: KV[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of kvs ?? []) {
    const v = kv.value ?? {};
    out[kv.key] = v.stringValue ?? v.intValue ?? v.doubleValue ?? v.boolValue ?? '';
  }
  return out;
}

function temporality(t: string | undefined): Point['temporality'] {
  return t === 'AGGREGATION_TEMPORALITY_CUMULATIVE' ? 'cumulative' : t === 'AGGREGATION_TEMPORALITY_DELTA' ? 'delta' : 'unspecified';
}

export function flatten(req: RequestObj): Point[] {
  const out: Point[] = [];
  for (const rm of req.resourceMetrics ?? []) {
    const resource = attrs(rm.resource?.attributes);
    for (const sm of rm.scopeMetrics ?? []) {
      for (const m of sm.metrics ?? []) {
        const base = { metric: m.name, unit: m.unit ?? '', resource, scope: sm.scope?.name ?? '' };
        for (const p of m.sum?.dataPoints ?? []) {
          out.push({ ...base, kind: 'sum', temporality: temporality(m.sum!.aggregationTemporality), monotonic: m.sum!.isMonotonic ?? false,
            attributes: attrs(p.attributes), startNs: p.startTimeUnixNano ?? 0, timeNs: p.timeUnixNano ?? 0, value: p.asInt ?? p.asDouble ?? 0 });
        }
        for (const p of m.histogram?.dataPoints ?? []) {
          out.push({ ...base, kind: 'histogram', temporality: temporality(m.histogram!.aggregationTemporality), monotonic: false,
            attributes: attrs(p.attributes), startNs: p.startTimeUnixNano ?? 0, timeNs: p.timeUnixNano ?? 0,
            value: { count: p.count ?? 0, sum: p.sum ?? 0, bucketCounts: p.bucketCounts ?? [], explicitBounds: p.explicitBounds ?? [], min: p.min, max: p.max } });
        }
      }
    }
  }
  return out;
}

export interface ReceivedRequest {
  transport: 'grpc' | 'http-proto' | 'http-json';
  headers: Record<string, string>;
  points: Point[];
  /** Size of the request message, decompressed. */
  bytes: number;
}

/** PEM material for a TLS sink; with `ca` set, clients must present a certificate it signed (mTLS). */
export interface SinkTls { key: Buffer; cert: Buffer; ca?: Buffer }

export class OtlpSink {
  readonly requests: ReceivedRequest[] = [];
  grpcPort = 0;
  httpPort = 0;
  /** HTTP status to answer with (tests of failure handling). */
  httpStatus = 200;
  readonly #types = loadTypes();
  #grpc: GrpcServer | undefined;
  #http: HttpServer | undefined;
  #waiters: Array<() => void> = [];
  /** Size of each gRPC request message as it arrived. */
  readonly #grpcBytes = new WeakMap<protobuf.Message, number>();

  #record(r: ReceivedRequest): void {
    this.requests.push(r);
    for (const w of this.#waiters.splice(0)) w();
  }

  #toObject(msg: protobuf.Message): RequestObj {
    return this.#types.request.toObject(msg, { longs: Number, enums: String, defaults: false }) as RequestObj;
  }

  async start(tls?: SinkTls): Promise<void> {
    const { request, response } = this.#types;
    const service: ServiceDefinition = {
      Export: {
        path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
        requestStream: false,
        responseStream: false,
        requestSerialize: (m: protobuf.Message) => Buffer.from(request.encode(m).finish()),
        requestDeserialize: (b: Buffer) => {
          const m = request.decode(b);
          this.#grpcBytes.set(m, b.length);
          return m;
        },
        responseSerialize: (m: protobuf.Message) => Buffer.from(response.encode(m).finish()),
        responseDeserialize: (b: Buffer) => response.decode(b),
      },
    };
    this.#grpc = new GrpcServer();
    this.#grpc.addService(service, {
      Export: (call: { request: protobuf.Message; metadata: { getMap(): Record<string, unknown> } }, cb: (e: Error | null, r: protobuf.Message) => void) => {
        const headers = Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)]));
        this.#record({ transport: 'grpc', headers, points: flatten(this.#toObject(call.request)), bytes: this.#grpcBytes.get(call.request) ?? -1 });
        cb(null, response.create({}));
      },
    });
    this.grpcPort = await new Promise<number>((res, rej) =>
      this.#grpc!.bindAsync('127.0.0.1:0', tls
        ? ServerCredentials.createSsl(tls.ca ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], tls.ca !== undefined)
        : ServerCredentials.createInsecure(), (e, port) => (e ? rej(e) : res(port))));

    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        if (req.url !== '/v1/metrics' || this.httpStatus !== 200) {
          res.writeHead(req.url !== '/v1/metrics' ? 404 : this.httpStatus, { 'content-type': 'text/plain' }).end('backend says no');
          return;
        }
        const json = String(req.headers['content-type']).startsWith('application/json');
        const msg = json ? request.fromObject(JSON.parse(body.toString('utf8')) as Record<string, unknown>) : request.decode(body);
        this.#record({ transport: json ? 'http-json' : 'http-proto', headers, points: flatten(this.#toObject(msg)), bytes: body.length });
        res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
        res.end(json ? '{}' : Buffer.from(response.encode(response.create({})).finish()));
      });
    };
    this.#http = tls
      ? createHttpsServer({ key: tls.key, cert: tls.cert, ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) }, handler)
      : createHttpServer(handler);
    await new Promise<void>((res) => this.#http!.listen(0, '127.0.0.1', () => res()));
    this.httpPort = (this.#http.address() as AddressInfo).port;
  }

  /** Resolves once a request matching `pred` has arrived. */
  async waitFor(pred: (r: ReceivedRequest) => boolean, ms = 15_000): Promise<ReceivedRequest> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.requests.find(pred);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching OTLP request within ${ms}ms (got ${this.requests.length})`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, 100);
        this.#waiters.push(() => { clearTimeout(t); res(); });
      });
    }
  }

  async stop(): Promise<void> {
    this.#grpc?.forceShutdown();
    const http = this.#http;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((res) => http.close(() => res()));
    }
  }
}
