// Small test-only factories, built with schema.ts, so the config tests do not
// depend on the real components. Each declares what the resolver must handle:
// signals, a deprecated alias, cross-field validation and listen ports.

import type {
  ConsumerComponent, ExporterFactory, ExtensionFactory, ListenResource, ProcessorFactory, ReceiverFactory,
} from '../../src/component/component.ts';
import { Registry } from '../../src/component/registry.ts';
import { checkHostPort, splitHostPort } from '../../src/config/host-port.ts';
import { bool, duration, int, object, optional, string, type Infer } from '../../src/config/schema.ts';

const noop = (): ConsumerComponent => ({
  mutatesData: false,
  start: async () => undefined,
  shutdown: async () => undefined,
  consume: async () => undefined,
});

const listenOn = (endpoint: string | undefined, path: string[]): ListenResource[] => {
  if (!endpoint) return [];
  const { host, port } = splitHostPort(endpoint);
  return [{ kind: 'listen', host, port, path }];
};

// A receiver shaped like the Collector's otlp receiver: two listen endpoints.
const rxSchema = object({
  protocols: object({
    grpc: object({ endpoint: optional(string({ check: checkHostPort })) }),
    http: object({ endpoint: optional(string({ check: checkHostPort })) }),
  }),
  rate: int({ default: 10, min: 1 }),
});
type RxConfig = Infer<typeof rxSchema>;

export const rxFactory: ReceiverFactory<RxConfig> = {
  kind: 'receiver', type: 'rx', aliases: ['rxold'], stability: 'development', description: 'test receiver',
  signals: ['metrics', 'logs'], configSchema: rxSchema,
  resources: (c) => [
    ...listenOn(c.protocols.grpc.endpoint, ['protocols', 'grpc', 'endpoint']),
    ...listenOn(c.protocols.http.endpoint, ['protocols', 'http', 'endpoint']),
  ],
  create: () => noop(),
};

const pxSchema = object({ timeout: duration({ default: 200 }), send_batch_size: int({ default: 8192, min: 0 }), send_batch_max_size: int({ default: 0, min: 0 }) });
type PxConfig = Infer<typeof pxSchema>;

// Cross-field check worded like the Collector's batch processor.
export const pxFactory: ProcessorFactory<PxConfig> = {
  kind: 'processor', type: 'px', stability: 'development', description: 'test processor',
  signals: ['metrics', 'logs', 'traces'], configSchema: pxSchema, mutatesData: false,
  validate: (c) => c.send_batch_max_size > 0 && c.send_batch_max_size < c.send_batch_size
    ? [{ path: ['send_batch_max_size'], message: 'must be greater or equal to send_batch_size' }]
    : [],
  create: () => noop(),
};

const exSchema = object({ endpoint: string({ default: '127.0.0.1:8889', check: checkHostPort }), enabled: bool({ default: true }) });
type ExConfig = Infer<typeof exSchema>;

// Metrics only, like the prometheus exporter.
export const promFactory: ExporterFactory<ExConfig> = {
  kind: 'exporter', type: 'prom', stability: 'development', description: 'test exporter',
  signals: ['metrics'], configSchema: exSchema,
  resources: (c) => listenOn(c.endpoint, ['endpoint']),
  create: () => noop(),
};

const sinkSchema = object({ verbosity: string({ default: 'basic', enum: ['basic', 'normal', 'detailed'] }) });
export const sinkFactory: ExporterFactory<Infer<typeof sinkSchema>> = {
  kind: 'exporter', type: 'sink', aliases: ['oldsink'], stability: 'development', description: 'test exporter',
  signals: ['metrics', 'logs', 'traces'], configSchema: sinkSchema,
  create: () => noop(),
};

const hcSchema = object({ endpoint: string({ default: '0.0.0.0:13133', check: checkHostPort }) });
export const hcFactory: ExtensionFactory<Infer<typeof hcSchema>> = {
  kind: 'extension', type: 'hc', stability: 'development', description: 'test extension',
  configSchema: hcSchema,
  resources: (c) => listenOn(c.endpoint, ['endpoint']),
  create: () => ({ start: async () => undefined, shutdown: async () => undefined }),
};

export function fakeRegistry(): Registry {
  return new Registry([rxFactory, pxFactory, promFactory, sinkFactory, hcFactory]);
}
