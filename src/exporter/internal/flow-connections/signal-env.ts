// The OTEL_EXPORTER_OTLP_{LOGS,TRACES}_* variables for the logs and traces
// instances of an exporter. The shared resolvers (otlp-env.ts) read the
// METRICS-specific variable first; a view of the environment in which those
// names hold the logs or traces values lets them serve every signal unchanged.

import type { Signal } from '../../../component/component.ts';
import type { Env } from '../otlp/otlp-env.ts';

export function signalEnv(signal: Signal, env: Env = process.env): Env {
  if (signal === 'metrics') return env;
  const from = `OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_`;
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (!k.startsWith('OTEL_EXPORTER_OTLP_METRICS_')) out[k] = v;
  for (const [k, v] of Object.entries(env)) if (k.startsWith(from)) out['OTEL_EXPORTER_OTLP_METRICS_' + k.slice(from.length)] = v;
  return out;
}

/**
 * The OTLP/HTTP URL of logs or traces: <signal>_endpoint, else endpoint +
 * /v1/<signal>, else OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT as is, else
 * OTEL_EXPORTER_OTLP_ENDPOINT + /v1/<signal>, else http://localhost:4318/v1/<signal>.
 */
export function signalHttpUrl(
  c: { endpoint?: string | undefined; logs_endpoint?: string | undefined; traces_endpoint?: string | undefined },
  signal: 'logs' | 'traces', env: Env = process.env,
): string {
  const path = `/v1/${signal}`;
  const base = (u: string) => u.trim().replace(/\/+$/, '') + path;
  const specific = signal === 'logs' ? c.logs_endpoint : c.traces_endpoint;
  if (specific !== undefined) return specific;
  if (c.endpoint !== undefined) return base(c.endpoint);
  const fromEnv = env[`OTEL_EXPORTER_OTLP_${signal.toUpperCase()}_ENDPOINT`]?.trim();
  if (fromEnv) return fromEnv;
  const generic = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
  return base(generic || 'http://localhost:4318');
}
