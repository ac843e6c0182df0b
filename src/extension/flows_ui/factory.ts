// flows_ui: a live service-map page of the node's flows, served by podflow.

import type { ExtensionFactory } from '../../component/component.ts';
import { splitHostPort } from '../../config/host-port.ts';
import { flowsUiConfigSchema, type FlowsUiConfig } from './config.ts';
import { FlowsUi } from './flows-ui.ts';

export const flowsUiFactory: ExtensionFactory<FlowsUiConfig> = {
  kind: 'extension',
  type: 'flows_ui',
  stability: 'alpha',
  description: 'Serves a live service-map page of the node\'s flows (workloads, edges by bytes and health) and its JSON.',
  configSchema: flowsUiConfigSchema,
  resources(config) {
    const { host, port } = splitHostPort(config.endpoint);
    return [{ kind: 'listen', host, port, path: ['endpoint'] }];
  },
  create(settings, config) {
    return new FlowsUi(settings, config);
  },
};
