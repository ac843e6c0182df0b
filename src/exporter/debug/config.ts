// Config of the debug exporter (the Collector's debug exporter's `verbosity`).

import { enumOf, object, type Infer } from '../../config/schema.ts';

export const debugConfigSchema = object({
  verbosity: enumOf(['basic', 'normal', 'detailed'] as const, { default: 'basic' }),
});
export type DebugConfig = Infer<typeof debugConfigSchema>;
