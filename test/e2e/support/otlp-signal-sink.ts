// An OTLP logs and traces backend for tests, the counterpart of otlp-sink.ts
// (metrics): a gRPC server and an OTLP/HTTP server that decode every request
// with protobufjs and the official .proto files in
// <repo>/../shared/reference/otlp-proto, independent of the SDK under test.

import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Server as GrpcServer, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const PROTO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..', '..', 'shared/reference/otlp-proto');

export type Kind = 'logs' | 'traces';
export const SERVICES: Record<Kind, { file: string; pkg: string; service: string; request: string; response: string }> = {
  logs: { file: 'opentelemetry/proto/collector/logs/v1/logs_service.proto', pkg: 'opentelemetry.proto.collector.logs.v1', service: 'LogsService', request: 'ExportLogsServiceRequest', response: 'ExportLogsServiceResponse' },
  traces: { file: 'opentelemetry/proto/collector/trace/v1/trace_service.proto', pkg: 'opentelemetry.proto.collector.trace.v1', service: 'TraceService', request: 'ExportTraceServiceRequest', response: 'ExportTraceServiceResponse' },
};

export function loadOtlpTypes(kind: Kind): { request: protobuf.Type; response: protobuf.Type } {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_ROOT, target);
  root.loadSync(SERVICES[kind].file, { keepCase: false });
  const s = SERVICES[kind];
  return { request: root.lookupType(`${s.pkg}.${s.request}`), response: root.lookupType(`${s.pkg}.${s.response}`) };
}

export type AttrValue = string | number | boolean;
interface KV { key: string; value?: { stringValue?: string; intValue?: number; doubleValue?: number; boolValue?: boolean } }
function attrs(kvs: KV[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of kvs ?? []) {
    const v = kv.value ?? {};
    out[kv.key] = v.stringValue ?? v.intValue ?? v.doubleValue ?? v.boolValue ?? '';
  }
  return out;
}

export interface LogRecordOut { resource: Record<string, AttrValue>; body: string; severity: string; timeNs: number; attributes: Record<string, AttrValue> }
export interface SpanOut {
  resource: Record<string, AttrValue>; name: string; kind: string; traceId: string; spanId: string; parentSpanId: string;
  startNs: number; endNs: number; status: string; attributes: Record<string, AttrValue>;
}
export interface SignalRequest { transport: 'grpc' | 'http-proto' | 'http-json'; logs: LogRecordOut[]; spans: SpanOut[] }

interface LogsObj { resourceLogs?: Array<{ resource?: { attributes?: KV[] }; scopeLogs?: Array<{ logRecords?: Array<{ body?: { stringValue?: string }; severityText?: string; timeUnixNano?: number; attributes?: KV[] }> }> }> }
interface SpansObj { resourceSpans?: Array<{ resource?: { attributes?: KV[] }; scopeSpans?: Array<{ spans?: Array<{ name: string; kind?: string; traceId?: string; spanId?: string; parentSpanId?: string; startTimeUnixNano?: number; endTimeUnixNano?: number; status?: { code?: string }; attributes?: KV[] }> }> }> }

function flattenLogs(o: LogsObj): LogRecordOut[] {
  const out: LogRecordOut[] = [];
  for (const rl of o.resourceLogs ?? []) for (const sl of rl.scopeLogs ?? []) for (const r of sl.logRecords ?? []) {
    out.push({ resource: attrs(rl.resource?.attributes), body: r.body?.stringValue ?? '', severity: r.severityText ?? '', timeNs: r.timeUnixNano ?? 0, attributes: attrs(r.attributes) });
  }
  return out;
}

function flattenSpans(o: SpansObj): SpanOut[] {
  const out: SpanOut[] = [];
  for (const rs of o.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) {
    out.push({
      resource: attrs(rs.resource?.attributes), name: s.name, kind: s.kind ?? 'SPAN_KIND_UNSPECIFIED',
      traceId: s.traceId ?? '', spanId: s.spanId ?? '', parentSpanId: s.parentSpanId ?? '',
      startNs: s.startTimeUnixNano ?? 0, endNs: s.endTimeUnixNano ?? 0, status: s.status?.code ?? 'STATUS_CODE_UNSET', attributes: attrs(s.attributes),
    });
  }
  return out;
}

/** A decoded logs or traces export request, flattened; trace and span IDs as hex (the W3C text form). */
export function decodeSignalRequest(type: protobuf.Type, kind: Kind, msg: protobuf.Message): { logs: LogRecordOut[]; spans: SpanOut[] } {
  const obj = type.toObject(msg, { longs: Number, enums: String, bytes: String, defaults: false });
  const hex = (b64: unknown) => (typeof b64 === 'string' ? Buffer.from(b64, 'base64').toString('hex') : '');
  if (kind === 'traces') {
    for (const rs of (obj as SpansObj).resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) {
      s.traceId = hex(s.traceId); s.spanId = hex(s.spanId); s.parentSpanId = hex(s.parentSpanId);
    }
  }
  return { logs: kind === 'logs' ? flattenLogs(obj as LogsObj) : [], spans: kind === 'traces' ? flattenSpans(obj as SpansObj) : [] };
}

export class OtlpSignalSink {
  readonly requests: SignalRequest[] = [];
  grpcPort = 0;
  httpPort = 0;
  readonly #types = { logs: loadOtlpTypes('logs'), traces: loadOtlpTypes('traces') };
  #grpc: GrpcServer | undefined;
  #http: HttpServer | undefined;

  #decode(kind: Kind, msg: protobuf.Message, transport: SignalRequest['transport']): void {
    this.requests.push({ transport, ...decodeSignalRequest(this.#types[kind].request, kind, msg) });
  }

  get logs(): LogRecordOut[] { return this.requests.flatMap((r) => r.logs); }
  get spans(): SpanOut[] { return this.requests.flatMap((r) => r.spans); }

  async start(): Promise<void> {
    this.#grpc = new GrpcServer();
    for (const kind of ['logs', 'traces'] as const) {
      const { request, response } = this.#types[kind];
      const s = SERVICES[kind];
      const def: ServiceDefinition = {
        Export: {
          path: `/${s.pkg}.${s.service}/Export`, requestStream: false, responseStream: false,
          requestSerialize: (m: protobuf.Message) => Buffer.from(request.encode(m).finish()),
          requestDeserialize: (b: Buffer) => request.decode(b),
          responseSerialize: (m: protobuf.Message) => Buffer.from(response.encode(m).finish()),
          responseDeserialize: (b: Buffer) => response.decode(b),
        },
      };
      this.#grpc.addService(def, {
        Export: (call: { request: protobuf.Message }, cb: (e: Error | null, r: protobuf.Message) => void) => {
          this.#decode(kind, call.request, 'grpc');
          cb(null, response.create({}));
        },
      });
    }
    this.grpcPort = await new Promise<number>((res, rej) =>
      this.#grpc!.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, port) => (e ? rej(e) : res(port))));
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let body = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
        const kind: Kind | undefined = req.url === '/v1/logs' ? 'logs' : req.url === '/v1/traces' ? 'traces' : undefined;
        if (!kind) { res.writeHead(404).end(); return; }
        const { request, response } = this.#types[kind];
        const json = String(req.headers['content-type']).startsWith('application/json');
        const msg = json ? request.fromObject(hexIdsToBase64(JSON.parse(body.toString('utf8'))) as Record<string, unknown>) : request.decode(body);
        this.#decode(kind, msg, json ? 'http-json' : 'http-proto');
        res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
        res.end(json ? '{}' : Buffer.from(response.encode(response.create({})).finish()));
      });
    };
    this.#http = createServer(handler);
    await new Promise<void>((res) => this.#http!.listen(0, '127.0.0.1', () => res()));
    this.httpPort = (this.#http.address() as AddressInfo).port;
  }

  async waitFor<T>(pick: () => T | undefined, ms = 15_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = pick();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`no matching OTLP data within ${ms}ms (got ${this.requests.length} requests)`);
      await new Promise((r) => setTimeout(r, 50));
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

/** OTLP/JSON writes trace and span IDs as hex; protobufjs reads JSON bytes as base64. */
function hexIdsToBase64(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(hexIdsToBase64);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] = (k === 'traceId' || k === 'spanId' || k === 'parentSpanId') && typeof x === 'string'
      ? Buffer.from(x, 'hex').toString('base64') : hexIdsToBase64(x);
  }
  return out;
}
