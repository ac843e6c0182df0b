// Factory of the debug exporter.

import type { ExporterFactory } from '../../component/component.ts';
import { debugConfigSchema, type DebugConfig } from './config.ts';
import { DebugConnectionExporter } from './debug-connection-exporter.ts';
import { DebugExporter } from './debug-exporter.ts';

export const debugExporterFactory: ExporterFactory<DebugConfig> = {
  kind: 'exporter',
  type: 'debug',
  stability: 'beta',
  description: 'Writes received flows to the log (basic: per batch; normal: per flow, log record or span; detailed: every attribute).',
  signals: ['metrics', 'logs', 'traces'],
  configSchema: debugConfigSchema,
  create: (settings, config) => (settings.signal === 'metrics' ? new DebugExporter(settings, config) : new DebugConnectionExporter(settings, config)),
};
