// Sends already-serialized OTLP export requests over gRPC (one unary call per
// request) and rejects with grpc-js's own ServiceError, whose code and
// trailers (RetryInfo) classifyGrpcError reads. podflow calls the service
// itself, as the SDK's gRPC transport does underneath, so the bytes a
// persistent queue stored are sent as they are and a shutdown that gives up
// can cancel the call in flight.

import type { ChannelCredentials, Client, Metadata, ServiceError } from '@grpc/grpc-js';
import { grpcJs } from '../../../service/grpc-js.ts';
import type { Env } from './otlp-env.ts';
import { readTlsFiles, type TlsConfig } from './tls-settings.ts';

export type OtlpGrpcService = 'metrics' | 'logs' | 'traces';

const PATHS: Record<OtlpGrpcService, string> = {
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
};

// grpc-js compression algorithm numbers (compression-algorithms.ts there).
const GRPC_COMPRESSION = { none: 0, gzip: 2 } as const;

export interface GrpcTransportOptions {
  /** host:port as grpc-js takes it (no scheme). */
  address: string;
  credentials: ChannelCredentials;
  headers: Record<string, string>;
  compression: 'gzip' | 'none';
  timeoutMs: number;
}

const identity = (b: Buffer) => b;

type ExportClient = Client & {
  export(body: Buffer, md: Metadata, opts: { deadline: number }, cb: (e: ServiceError | null, response?: Buffer) => void): { cancel(): void };
};

export class OtlpGrpcTransport {
  readonly #o: GrpcTransportOptions;
  readonly #client: ExportClient;
  readonly #metadata: Metadata;

  constructor(service: OtlpGrpcService, o: GrpcTransportOptions) {
    this.#o = o;
    const { makeGenericClientConstructor, Metadata } = grpcJs();
    this.#metadata = new Metadata();
    const Ctor = makeGenericClientConstructor({
      export: {
        path: PATHS[service], requestStream: false, responseStream: false,
        requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity,
      },
    }, `otlp-${service}`);
    // The channel connects lazily, on the first call.
    this.#client = new Ctor(o.address, o.credentials, {
      'grpc.default_compression_algorithm': GRPC_COMPRESSION[o.compression],
      'grpc.primary_user_agent': 'podflow',
    }) as unknown as ExportClient;
    for (const [k, v] of Object.entries(o.headers)) this.#metadata.set(k, v);
  }

  /** Resolves with the response message (bytes) when the server answered OK; rejects with the ServiceError otherwise. */
  send(body: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      const call = this.#client.export(buf, this.#metadata, { deadline: Date.now() + this.#o.timeoutMs }, (e, response) => {
        signal?.removeEventListener('abort', cancel);
        if (e) reject(e);
        else resolve(response ?? new Uint8Array());
      });
      function cancel() {
        call.cancel();
      }
      if (signal?.aborted) cancel();
      else signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  close(): void {
    this.#client.close();
  }
}

/** The channel credentials of an otlp_grpc exporter: plaintext, or TLS with the configured files. */
export function grpcChannelCredentials(insecure: boolean, tls: TlsConfig, env: Env = process.env): ChannelCredentials {
  const { credentials } = grpcJs();
  if (insecure) return credentials.createInsecure();
  const f = readTlsFiles(tls, env);
  return credentials.createSsl(f.ca ?? null, f.key ?? null, f.cert ?? null,
    tls.insecure_skip_verify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {});
}
