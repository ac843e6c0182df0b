// The `logs` and `traces` keys of the exporters that serve those pipelines:
// what is skipped before export. Nothing is skipped unless configured.

import { bool, duration, int, number, object, optional, string, type Infer } from '../../../config/schema.ts';
import { parseHttpUrl } from '../otlp/otlp-endpoint.ts';

export const logsSchema = object({
  min_bytes: int({ default: 0, min: 0, description: 'Skip records of connections that moved fewer bytes (both directions, this interval).' }),
  sampling_ratio: number({ default: 1, min: 0, max: 1, description: 'Share of connections kept, chosen by a hash of the 5-tuple (every node keeps the same ones).' }),
  include_active: bool({ default: true, description: 'Also one record per export interval for connections still open.' }),
});

export const tracesSchema = object({
  min_duration: duration({ default: 0, description: 'Skip connections shorter than this.' }),
  min_bytes: int({ default: 0, min: 0, description: 'Skip connections that moved fewer bytes (both directions, as this node counted them).' }),
  sampling_ratio: number({ default: 1, min: 0, max: 1, description: 'Share of connections kept, chosen by a hash of the 5-tuple (both nodes keep the same ones).' }),
  trace_id_bucket: duration({ default: 300_000, min: 1_000, description: 'Width of the start-time bucket in the trace ID input; must be equal on all nodes.' }),
});

export const flowSignalFields = { logs: logsSchema, traces: tracesSchema };

export type LogsConfig = Infer<typeof logsSchema>;
export type TracesConfig = Infer<typeof tracesSchema>;

/** otlp_http only: full URLs for logs and traces, as the Collector's otlphttp exporter has them. */
export const httpSignalEndpointFields = {
  logs_endpoint: optional(string({ check: urlProblem, description: 'Full URL for logs; overrides endpoint + "/v1/logs".' })),
  traces_endpoint: optional(string({ check: urlProblem, description: 'Full URL for traces; overrides endpoint + "/v1/traces".' })),
};

function urlProblem(endpoint: string): string | undefined {
  try {
    parseHttpUrl(endpoint);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
