// Factory of the console exporter (type "console").

import type { ExporterFactory } from '../../component/component.ts';
import { consoleConfigSchema, type ConsoleConfig } from './config.ts';
import { ConsoleExporter } from './console-exporter.ts';

export const consoleExporterFactory: ExporterFactory<ConsoleConfig> = {
  kind: 'exporter',
  type: 'console',
  stability: 'beta',
  description: 'Live table of the top flow edges on stdout: redrawn in place on a terminal, plain blocks otherwise.',
  signals: ['metrics', 'logs', 'traces'],
  configSchema: consoleConfigSchema,
  create: (settings, config) => new ConsoleExporter(settings, config),
};
