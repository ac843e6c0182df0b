// Config of the otlp receiver: the Collector's keys
// (protocols.grpc.endpoint/tls, protocols.http.endpoint/tls), server-side TLS
// (configtls: cert_file, key_file, client_ca_file for mutual TLS).

import { existsSync } from 'node:fs';
import { checkHostPort } from '../../config/host-port.ts';
import { int, object, optional, string, type Infer, type Problem } from '../../config/schema.ts';

const serverTls = object({
  cert_file: string({ required: true, description: 'PEM server certificate.' }),
  key_file: string({ required: true, description: 'PEM server key.' }),
  client_ca_file: optional(string({ description: 'PEM CA; when set, clients must present a certificate it signed (mTLS).' })),
});
export type ServerTlsConfig = Infer<typeof serverTls>;

const grpcSchema = object({
  endpoint: string({ default: 'localhost:4317', check: checkHostPort }),
  tls: optional(serverTls),
  max_recv_msg_size_mib: int({ default: 4, min: 1, max: 1024, description: 'Largest request accepted.' }),
});

const httpSchema = object({
  endpoint: string({ default: 'localhost:4318', check: checkHostPort }),
  tls: optional(serverTls),
  max_request_body_size_mib: int({ default: 20, min: 1, max: 1024, description: 'Largest request body accepted (after decompression).' }),
});

export const otlpReceiverConfigSchema = object({
  protocols: object({
    grpc: optional(grpcSchema),
    http: optional(httpSchema),
  }),
});
export type OtlpReceiverConfig = Infer<typeof otlpReceiverConfigSchema>;

export function validateOtlpReceiverConfig(c: OtlpReceiverConfig): Problem[] {
  const problems: Problem[] = [];
  if (!c.protocols.grpc && !c.protocols.http) {
    problems.push({ path: ['protocols'], message: 'must specify at least one protocol (grpc or http)' });
  }
  for (const proto of ['grpc', 'http'] as const) {
    const tls = c.protocols[proto]?.tls;
    if (!tls) continue;
    for (const key of ['cert_file', 'key_file', 'client_ca_file'] as const) {
      const f = tls[key];
      if (f !== undefined && !existsSync(f)) problems.push({ path: ['protocols', proto, 'tls', key], message: `file "${f}" does not exist` });
    }
  }
  return problems;
}
