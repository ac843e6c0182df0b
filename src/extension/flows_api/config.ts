// flows_api settings (README.md lists them with their defaults).

import { checkHostPort } from '../../config/host-port.ts';
import { duration, int, object, string, type Infer } from '../../config/schema.ts';

export const DEFAULT_FLOWS_API_ENDPOINT = '127.0.0.1:13180';

export const flowsApiConfigSchema = object({
  endpoint: string({ default: DEFAULT_FLOWS_API_ENDPOINT, check: checkHostPort, description: 'host:port the HTTP JSON API listens on.' }),
  flow_ttl: duration({ default: 300_000, min: 1000, description: 'A flow with no traffic for this long leaves the table.' }),
  max_flows: int({ default: 100_000, min: 1, max: 10_000_000, description: 'Upper bound on flows kept; more are dropped and counted.' }),
});

export type FlowsApiConfig = Infer<typeof flowsApiConfigSchema>;
