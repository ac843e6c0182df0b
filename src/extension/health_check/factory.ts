// Factory of the health_check extension (type "health_check", the Collector's name).

import type { ExtensionFactory } from '../../component/component.ts';
import { splitHostPort } from '../../config/host-port.ts';
import { healthCheckConfigSchema, type HealthCheckConfig } from './config.ts';
import { HealthCheckExtension } from './health-check.ts';

export const healthCheckExtensionFactory: ExtensionFactory<HealthCheckConfig> = {
  kind: 'extension',
  type: 'health_check',
  stability: 'beta',
  description: 'HTTP endpoint for liveness and readiness probes: 200 while the service is ready, 503 otherwise.',
  configSchema: healthCheckConfigSchema,
  // Declared so that two components on one port are reported at config time; the path is relative to this config.
  resources: (config) => {
    const { host, port } = splitHostPort(config.endpoint);
    return [{ kind: 'listen', host, port, path: ['endpoint'] }];
  },
  create: (settings, config) => new HealthCheckExtension(settings, config),
};
