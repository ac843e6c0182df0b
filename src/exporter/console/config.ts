// Config of the console exporter (the live top-flows view).

import { duration, enumOf, int, object, type Infer } from '../../config/schema.ts';
import { SORT_KEYS } from './top-flows.ts';

export const consoleConfigSchema = object({
  refresh: duration({ default: 1000, min: 50, description: 'How often the table is redrawn; each view covers the flows since the last.' }),
  top: int({ default: 15, min: 1, max: 1000, description: 'How many flow edges the table shows.' }),
  sort_by: enumOf(SORT_KEYS, { default: 'bytes', description: 'The column the edges are ranked by.' }),
});

export type ConsoleConfig = Infer<typeof consoleConfigSchema>;
