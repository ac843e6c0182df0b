// flows_api: HTTP JSON view of current flows and connections per endpoint.

import type { ExtensionFactory } from '../../component/component.ts';
import { splitHostPort } from '../../config/host-port.ts';
import { flowsApiConfigSchema, type FlowsApiConfig } from './config.ts';
import { FlowsApi } from './flows-api.ts';

export const flowsApiFactory: ExtensionFactory<FlowsApiConfig> = {
  kind: 'extension',
  type: 'flows_api',
  stability: 'alpha',
  description: 'Serves current flows and connection counts per endpoint as HTTP JSON (k8sconntrack style).',
  configSchema: flowsApiConfigSchema,
  resources(config) {
    const { host, port } = splitHostPort(config.endpoint);
    return [{ kind: 'listen', host, port, path: ['endpoint'] }];
  },
  create(settings, config) {
    return new FlowsApi(settings, config);
  },
};
