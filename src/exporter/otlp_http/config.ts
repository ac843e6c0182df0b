// Config of the otlp_http exporter: the Collector's otlphttp exporter keys
// (endpoint as a base URL, metrics_endpoint, encoding), plus podflow's own.

import { enumOf, object, optional, string, type Infer, type Problem } from '../../config/schema.ts';
import { flowSignalFields, httpSignalEndpointFields } from '../internal/flow-connections/signal-config.ts';
import { otlpCommonFields, validateCommon } from '../internal/otlp/otlp-common-config.ts';
import { appendMetricsPath, parseHttpUrl } from '../internal/otlp/otlp-endpoint.ts';
import { otlpEnv, type Env } from '../internal/otlp/otlp-env.ts';
import { validateTls } from '../internal/otlp/tls-settings.ts';

export const otlpHttpConfigSchema = object({
  endpoint: optional(string({ check: urlProblem, description: 'Base URL; /v1/metrics is appended. Falls back to OTEL_EXPORTER_OTLP_ENDPOINT.' })),
  ...otlpCommonFields,
  metrics_endpoint: optional(string({ check: urlProblem, description: 'Full URL for metrics; overrides endpoint + "/v1/metrics".' })),
  encoding: enumOf(['proto', 'json'] as const, { default: 'proto' }),
  ...flowSignalFields,
  ...httpSignalEndpointFields,
});
export type OtlpHttpConfig = Infer<typeof otlpHttpConfigSchema>;

function urlProblem(endpoint: string): string | undefined {
  try {
    parseHttpUrl(endpoint);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The OTel SDK's default when neither the config nor the environment names an endpoint. */
export const DEFAULT_HTTP_ENDPOINT = 'http://localhost:4318';

export interface ResolvedHttpUrl {
  url: string;
  /** The key or env variable the URL came from, for errors. */
  source: string;
}

/**
 * The metrics URL: metrics_endpoint, else endpoint + /v1/metrics, else
 * OTEL_EXPORTER_OTLP_METRICS_ENDPOINT as is, else OTEL_EXPORTER_OTLP_ENDPOINT +
 * /v1/metrics, else the default. Throws a TypeError naming the problem.
 */
export function resolveHttpUrl(c: { endpoint?: string | undefined; metrics_endpoint?: string | undefined }, env: Env = process.env): ResolvedHttpUrl {
  let url: string;
  let source: string;
  if (c.metrics_endpoint !== undefined) [url, source] = [c.metrics_endpoint, 'metrics_endpoint'];
  else if (c.endpoint !== undefined) [url, source] = [appendMetricsPath(c.endpoint), 'endpoint'];
  else {
    const e = otlpEnv('ENDPOINT', env);
    if (e) [url, source] = [e.specific ? e.value : appendMetricsPath(e.value), e.variable];
    else [url, source] = [appendMetricsPath(DEFAULT_HTTP_ENDPOINT), 'default'];
  }
  const raw = source === 'endpoint' ? c.endpoint! : source === 'metrics_endpoint' ? c.metrics_endpoint! : url;
  try {
    parseHttpUrl(raw);
    parseHttpUrl(url);
  } catch (e) {
    throw new TypeError(source.startsWith('OTEL_') ? `${(e as Error).message} (from ${source})` : (e as Error).message);
  }
  return { url, source };
}

export function validateOtlpHttpConfig(c: OtlpHttpConfig, env: Env = process.env): Problem[] {
  const problems: Problem[] = [];
  try {
    resolveHttpUrl(c, env);
  } catch (e) {
    // Keys set in the config were checked by the schema: what is left comes from the environment.
    problems.push({ path: ['endpoint'], message: (e as Error).message });
  }
  problems.push(...validateTls(c.tls, env), ...validateCommon(c, env));
  return problems;
}
