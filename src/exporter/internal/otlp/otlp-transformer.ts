// @opentelemetry/otlp-transformer, loaded when a component first needs it
// (JSON encoding, logs and traces, reading a response's partial success)
// rather than with the exporters' modules: it and what it pulls in add ~5 MiB
// of RSS to an agent whose metrics go out as protobuf through podflow's own
// encoder (metrics-request-encoder.ts), which never needs it.

export type OtlpTransformer = typeof import('@opentelemetry/otlp-transformer');

let loading: Promise<OtlpTransformer> | undefined;

export function loadOtlpTransformer(): Promise<OtlpTransformer> {
  return (loading ??= import('@opentelemetry/otlp-transformer'));
}
