// service::telemetry: podflow's own metrics endpoint and log output, with the
// Collector's keys and defaults (metrics level "normal" on 127.0.0.1:8888,
// logs at "info" in "console" encoding).

import { checkHostPort } from './host-port.ts';
import { enumOf, object, string, type Infer } from './schema.ts';

export const METRICS_LEVELS = ['none', 'basic', 'normal', 'detailed'] as const;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export const telemetrySchema = object({
  metrics: object({
    level: enumOf(METRICS_LEVELS, { default: 'normal', description: 'How much self-telemetry to serve; "none" turns the endpoint off.' }),
    address: string({ default: '127.0.0.1:8888', check: checkHostPort, description: 'host:port of the Prometheus /metrics endpoint.' }),
  }),
  logs: object({
    level: enumOf(LOG_LEVELS, { default: 'info' }),
    encoding: enumOf(['json', 'console'] as const, { default: 'console' }),
  }),
});

export type TelemetryConfig = Infer<typeof telemetrySchema>;
