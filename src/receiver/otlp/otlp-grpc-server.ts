// The OTLP/gRPC MetricsService, LogsService and TraceService on @grpc/grpc-js. The request is taken as raw
// bytes and decoded in the handler, so a malformed message gets
// INVALID_ARGUMENT (grpc-js would answer INTERNAL for a failing deserializer).

import { readFileSync } from 'node:fs';
import type { Server, ServerCredentials, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { splitHostPort } from '../../config/host-port.ts';
import { grpcJs } from '../../service/grpc-js.ts';
import type { ServerTlsConfig } from './config.ts';
import type { OtlpSignal } from './otlp-schema.ts';

/** Handles one request's bytes; throws a RequestError for a status other than OK. */
export type ExportHandler = (body: Uint8Array, transport: 'grpc' | 'http-proto' | 'http-json', signal: OtlpSignal) => Promise<void>;

export class RequestError extends Error {
  readonly grpcCode: number;
  readonly httpStatus: number;
  readonly reason: string;
  constructor(message: string, kind: 'invalid' | 'unavailable' | 'unimplemented') {
    super(message);
    const { status } = grpcJs();
    this.grpcCode = kind === 'invalid' ? status.INVALID_ARGUMENT : kind === 'unavailable' ? status.UNAVAILABLE : status.UNIMPLEMENTED;
    this.httpStatus = kind === 'invalid' ? 400 : kind === 'unavailable' ? 503 : 404;
    this.reason = kind === 'invalid' ? 'malformed' : kind === 'unavailable' ? 'unavailable' : 'path';
  }
}

const SERVICE_PATH: Record<OtlpSignal, string> = {
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
};

const service = (signal: OtlpSignal): ServiceDefinition => ({
  Export: {
    path: SERVICE_PATH[signal],
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
});

// Every Export*ServiceResponse without a partial success encodes to zero bytes.
const EMPTY_RESPONSE = Buffer.alloc(0);

export function serverCredentials(tls: ServerTlsConfig | undefined): ServerCredentials {
  const { ServerCredentials } = grpcJs();
  if (!tls) return ServerCredentials.createInsecure();
  const ca = tls.client_ca_file !== undefined ? readFileSync(tls.client_ca_file) : null;
  return ServerCredentials.createSsl(ca, [{ private_key: readFileSync(tls.key_file), cert_chain: readFileSync(tls.cert_file) }], ca !== null);
}

/** Binds; resolves with the bound port. */
export async function startGrpcServer(endpoint: string, tls: ServerTlsConfig | undefined, maxMiB: number, handle: ExportHandler): Promise<{ server: Server; port: number }> {
  const { Server, status } = grpcJs();
  const server = new Server({ 'grpc.max_receive_message_length': maxMiB * 1024 * 1024 });
  for (const signal of ['metrics', 'logs', 'traces'] as const) {
    server.addService(service(signal), {
      Export: (call: { request: Buffer }, cb: (e: Partial<ServiceError> | null, r?: Buffer) => void) => {
        handle(call.request, 'grpc', signal).then(
          () => cb(null, EMPTY_RESPONSE),
          (e: unknown) => cb({ code: e instanceof RequestError ? e.grpcCode : status.INTERNAL, details: (e as Error).message }),
        );
      },
    });
  }
  const { host, port } = splitHostPort(endpoint);
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const bound = await new Promise<number>((res, rej) => server.bindAsync(target, serverCredentials(tls), (e, p) => (e ? rej(e) : res(p))));
  return { server, port: bound };
}
