// Keys the otlp_grpc and otlp_http exporters share, and how an unset key falls
// back to the OTEL_EXPORTER_OTLP_* environment, then to the Collector's default.

import { duration, enumOf, map, optional, string, type Problem } from '../../../config/schema.ts';
import { deliveryFields, validateDelivery, type DeliveryConfig } from '../exporterhelper/delivery-config.ts';
import { pushFields } from '../flow-metrics/metrics-exporter-config.ts';
import { otlpEnv, parseEnvHeaders, type Env } from './otlp-env.ts';
import { tlsSchema } from './tls-settings.ts';

export const DEFAULT_TIMEOUT_MS = 5_000;

/** Keys shared by both; each exporter adds its `endpoint` with its own check. */
export const otlpCommonFields = {
  tls: tlsSchema,
  headers: optional(map(string())),
  compression: optional(enumOf(['gzip', 'none', ''] as const)),
  timeout: optional(duration({ min: 1 })),
  ...pushFields,
  ...deliveryFields,
};

interface CommonConfig extends Partial<DeliveryConfig> {
  headers?: Record<string, string> | undefined;
  compression?: 'gzip' | 'none' | '' | undefined;
  timeout?: number | undefined;
}

export interface ResolvedCommon {
  headers: Record<string, string>;
  compression: 'gzip' | 'none';
  timeoutMs: number;
}

export function resolveCommon(c: CommonConfig, env: Env = process.env): ResolvedCommon {
  const envHeaders = otlpEnv('HEADERS', env);
  const envCompression = otlpEnv('COMPRESSION', env)?.value;
  const envTimeout = Number(otlpEnv('TIMEOUT', env)?.value);
  const compression = c.compression ?? (envCompression === 'gzip' || envCompression === 'none' ? envCompression : 'gzip');
  return {
    headers: c.headers ?? (envHeaders ? parseEnvHeaders(envHeaders.value) : {}),
    compression: compression === '' ? 'none' : compression,
    timeoutMs: c.timeout ?? (Number.isFinite(envTimeout) && envTimeout > 0 ? envTimeout : DEFAULT_TIMEOUT_MS),
  };
}

// Header names valid both as HTTP tokens and as gRPC metadata keys; "-bin" keys
// would need binary values, which a YAML string is not.
const HEADER_NAME = /^[0-9A-Za-z_.-]+$/;

/** Problems in headers and in environment values the config would fall back to. */
export function validateCommon(c: CommonConfig, env: Env = process.env): Problem[] {
  const problems: Problem[] = [];
  for (const [k, v] of Object.entries(c.headers ?? {})) {
    if (!HEADER_NAME.test(k) || k.toLowerCase().endsWith('-bin')) {
      problems.push({ path: ['headers', k], message: `invalid header name "${k}": use letters, digits, "-", "_" or "." (and no "-bin" suffix)` });
    } else if (/[\r\n\0]/.test(v)) {
      problems.push({ path: ['headers', k], message: 'a header value cannot contain line breaks or NUL' });
    }
  }
  if (c.retry_on_failure && c.sending_queue) {
    problems.push(...validateDelivery({ retry_on_failure: c.retry_on_failure, sending_queue: c.sending_queue, shutdown_timeout: c.shutdown_timeout ?? 0 }));
  }
  const comp = otlpEnv('COMPRESSION', env);
  if (c.compression === undefined && comp && comp.value !== 'gzip' && comp.value !== 'none') {
    problems.push({ path: ['compression'], message: `invalid value "${comp.value}" in ${comp.variable} (valid values: [gzip, none])` });
  }
  const t = otlpEnv('TIMEOUT', env);
  if (c.timeout === undefined && t && !(Number(t.value) > 0)) {
    problems.push({ path: ['timeout'], message: `invalid value "${t.value}" in ${t.variable}: expected milliseconds > 0` });
  }
  return problems;
}
