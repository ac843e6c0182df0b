// The Collector's client `tls` block (configtls) as podflow supports it, with the
// OTEL_EXPORTER_OTLP_{CERTIFICATE,CLIENT_KEY,CLIENT_CERTIFICATE,INSECURE} fallbacks.

import { existsSync, readFileSync } from 'node:fs';
import { bool, object, optional, string, type Infer, type Problem } from '../../../config/schema.ts';
import { otlpEnv, type Env } from './otlp-env.ts';

export const tlsSchema = object({
  insecure: optional(bool({ description: 'Plaintext connection (gRPC host:port endpoints only; http:// URLs are always plaintext).' })),
  ca_file: optional(string({ description: 'PEM file of the CA that signed the server certificate.' })),
  cert_file: optional(string({ description: 'PEM client certificate, for mutual TLS.' })),
  key_file: optional(string({ description: 'PEM client key, for mutual TLS.' })),
  insecure_skip_verify: bool({ default: false, description: 'Do not verify the server certificate.' }),
});
export type TlsConfig = Infer<typeof tlsSchema>;

export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

/** The certificate paths, config first, then the environment; each with the path to blame. */
function filePaths(tls: TlsConfig, env: Env): Array<{ which: keyof TlsFiles; file: string; path: string[] }> {
  const out: Array<{ which: keyof TlsFiles; file: string; path: string[] }> = [];
  const pick = (which: keyof TlsFiles, key: 'ca_file' | 'cert_file' | 'key_file', envKey: 'CERTIFICATE' | 'CLIENT_CERTIFICATE' | 'CLIENT_KEY') => {
    const fromConfig = tls[key];
    if (fromConfig) return out.push({ which, file: fromConfig, path: ['tls', key] });
    const e = otlpEnv(envKey, env);
    if (e) out.push({ which, file: e.value, path: ['tls', `${key} (from ${e.variable})`] });
    return 0;
  };
  pick('ca', 'ca_file', 'CERTIFICATE');
  pick('cert', 'cert_file', 'CLIENT_CERTIFICATE');
  pick('key', 'key_file', 'CLIENT_KEY');
  return out;
}

export function validateTls(tls: TlsConfig, env: Env = process.env): Problem[] {
  const problems: Problem[] = [];
  const files = filePaths(tls, env);
  for (const f of files) if (!existsSync(f.file)) problems.push({ path: f.path, message: `file "${f.file}" does not exist` });
  const has = (w: keyof TlsFiles) => files.some((f) => f.which === w);
  if (has('cert') !== has('key')) {
    problems.push({ path: ['tls'], message: 'cert_file and key_file must be set together (mutual TLS needs both)' });
  }
  return problems;
}

export function readTlsFiles(tls: TlsConfig, env: Env = process.env): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const out: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  for (const f of filePaths(tls, env)) out[f.which] = readFileSync(f.file);
  return out;
}

/** tls.insecure, else OTEL_EXPORTER_OTLP_INSECURE, else false. */
export function insecureSetting(tls: TlsConfig, env: Env = process.env): boolean {
  if (tls.insecure !== undefined) return tls.insecure;
  return otlpEnv('INSECURE', env)?.value.toLowerCase() === 'true';
}
