// The OTEL_EXPORTER_OTLP_* environment variables of the OTel exporter spec,
// used where the config leaves a key unset. The signal-specific variable
// (OTEL_EXPORTER_OTLP_METRICS_X) wins over the generic one (OTEL_EXPORTER_OTLP_X).

export type OtlpEnvKey =
  | 'ENDPOINT' | 'HEADERS' | 'TIMEOUT' | 'COMPRESSION' | 'INSECURE'
  | 'CERTIFICATE' | 'CLIENT_KEY' | 'CLIENT_CERTIFICATE';

export type Env = Readonly<Record<string, string | undefined>>;

export interface EnvValue {
  value: string;
  /** The variable it came from, for error messages. */
  variable: string;
  /** True when it came from the signal-specific variable. */
  specific: boolean;
}

export function otlpEnv(key: OtlpEnvKey, env: Env = process.env): EnvValue | undefined {
  for (const [variable, specific] of [[`OTEL_EXPORTER_OTLP_METRICS_${key}`, true], [`OTEL_EXPORTER_OTLP_${key}`, false]] as const) {
    const value = env[variable]?.trim();
    if (value) return { value, variable, specific };
  }
  return undefined;
}

/** Parses "k1=v1,k2=v2" (values URL-encoded), as the spec writes OTEL_EXPORTER_OTLP_HEADERS. */
export function parseEnvHeaders(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    out[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(pair.slice(eq + 1).trim());
  }
  return out;
}
