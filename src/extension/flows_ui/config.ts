// flows_ui settings (README.md lists them with their defaults).

import { checkHostPort } from '../../config/host-port.ts';
import { duration, int, object, string, type Infer } from '../../config/schema.ts';

export const DEFAULT_FLOWS_UI_ENDPOINT = '127.0.0.1:13190';

export const flowsUiConfigSchema = object({
  endpoint: string({ default: DEFAULT_FLOWS_UI_ENDPOINT, check: checkHostPort, description: 'host:port the page and its JSON listen on.' }),
  window: duration({ default: 10_000, min: 1000, description: 'The graph shows the flows of this last span of time; rates divide by it.' }),
  max_edges: int({ default: 1000, min: 1, max: 100_000, description: 'Most edges the graph holds (the largest by bytes); the rest are left out and counted.' }),
});

export type FlowsUiConfig = Infer<typeof flowsUiConfigSchema>;
