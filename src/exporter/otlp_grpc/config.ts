// Config of the otlp_grpc exporter: the Collector's otlp exporter keys, plus
// podflow's temporality, export_interval, cardinality_limit and series_expiry.

import { object, optional, string, type Infer, type Problem } from '../../config/schema.ts';
import { flowSignalFields } from '../internal/flow-connections/signal-config.ts';
import { otlpCommonFields, validateCommon } from '../internal/otlp/otlp-common-config.ts';
import { parseGrpcEndpoint, type GrpcTarget } from '../internal/otlp/otlp-endpoint.ts';
import { otlpEnv, type Env } from '../internal/otlp/otlp-env.ts';
import { insecureSetting, validateTls, type TlsConfig } from '../internal/otlp/tls-settings.ts';

export const otlpGrpcConfigSchema = object({
  endpoint: optional(string({ check: grpcEndpointProblem, description: 'host:port, http://host:port or https://host:port; falls back to OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT.' })),
  ...otlpCommonFields,
  ...flowSignalFields,
});
export type OtlpGrpcConfig = Infer<typeof otlpGrpcConfigSchema>;

function grpcEndpointProblem(endpoint: string): string | undefined {
  try {
    parseGrpcEndpoint(endpoint);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The OTel SDK's default when neither the config nor the environment names an endpoint. */
export const DEFAULT_GRPC_ENDPOINT = 'http://localhost:4317';

export interface ResolvedGrpcTarget extends GrpcTarget {
  /** Where the endpoint came from: "endpoint", an env variable, or "default". */
  source: string;
  insecure: boolean;
}

/** The endpoint and whether it is plaintext; throws a TypeError naming the problem. */
export function resolveGrpcTarget(c: { endpoint?: string | undefined; tls: TlsConfig }, env: Env = process.env): ResolvedGrpcTarget {
  const fromEnv = c.endpoint === undefined ? otlpEnv('ENDPOINT', env) : undefined;
  const raw = c.endpoint ?? fromEnv?.value ?? DEFAULT_GRPC_ENDPOINT;
  let target: GrpcTarget;
  try {
    target = parseGrpcEndpoint(raw);
  } catch (e) {
    throw new TypeError(fromEnv ? `${(e as Error).message} (from ${fromEnv.variable})` : (e as Error).message);
  }
  // An explicit scheme decides; a bare host:port is TLS unless tls.insecure (the Collector's rule).
  const insecure = target.tls === undefined ? insecureSetting(c.tls, env) : !target.tls;
  const url = insecure ? target.url.replace(/^https:/, 'http:') : target.url;
  return { ...target, url, insecure, source: c.endpoint !== undefined ? 'endpoint' : fromEnv?.variable ?? 'default' };
}

export function validateOtlpGrpcConfig(c: OtlpGrpcConfig, env: Env = process.env): Problem[] {
  const problems: Problem[] = [];
  try {
    resolveGrpcTarget(c, env);
  } catch (e) {
    problems.push({ path: ['endpoint'], message: (e as Error).message });
  }
  problems.push(...validateTls(c.tls, env), ...validateCommon(c, env));
  return problems;
}
