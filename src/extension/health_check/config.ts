// Config of the health_check extension: the Collector's keys and defaults.

import { checkHostPort } from '../../config/host-port.ts';
import { object, string, type Infer } from '../../config/schema.ts';

export const healthCheckConfigSchema = object({
  endpoint: string({ default: 'localhost:13133', check: checkHostPort, description: 'host:port the health check listens on.' }),
  path: string({ default: '/', pattern: /^\//, description: 'URL path that answers the probe.' }),
  response_body: object({
    healthy: string({ default: '', description: 'Body returned while ready, instead of the JSON status.' }),
    unhealthy: string({ default: '', description: 'Body returned while not ready, instead of the JSON status.' }),
  }),
});

export type HealthCheckConfig = Infer<typeof healthCheckConfigSchema>;
