// Factory and lifecycle types shared by all components.

import type { ObjectSchema, Problem } from '../config/schema.ts';
import type { FlowConsumer } from '../consumer/consumer.ts';
import type { Logger } from '../service/logger.ts';
import type { SelfTelemetry } from '../service/telemetry/self-telemetry.ts';

export type ComponentKind = 'receiver' | 'processor' | 'exporter' | 'extension';
export type Stability = 'development' | 'alpha' | 'beta' | 'stable' | 'deprecated' | 'unmaintained';
export type Signal = 'metrics' | 'logs' | 'traces';
export const SIGNALS: readonly Signal[] = ['metrics', 'logs', 'traces'];

/**
 * start() and shutdown() are idempotent: a second call returns the first
 * call's promise. shutdown() flushes what the component still holds.
 */
export interface Component {
  start(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface ConsumerComponent extends Component, FlowConsumer {}

/** Attributes of the process that every exporter puts on its Resource. */
export interface ResourceInfo {
  hostName: string;
  nodeName: string | undefined;
  serviceVersion: string;
}

/** What the running service tells its components (health_check reads it). */
export type ServiceStatus = 'starting' | 'ready' | 'stopping' | 'stopped' | 'failed';
export interface ServiceHost {
  readonly status: ServiceStatus;
}

export interface CreateSettings {
  /** The full component ID as written in the config, e.g. "otlp_grpc/backup". */
  id: string;
  /** The pipeline signal this instance serves (receivers shared across signals get the first). */
  signal: Signal;
  logger: Logger;
  telemetry: SelfTelemetry;
  resource: ResourceInfo;
  host: ServiceHost;
  /**
   * Receivers only: the heads of the pipelines they feed, by signal. `next`
   * feeds every pipeline the receiver is in; a receiver whose data differs by
   * signal (otlp: metrics, logs and traces requests) routes with this instead.
   */
  consumersBySignal?: Partial<Record<Signal, FlowConsumer>>;
}

/** A network address a component binds, declared so conflicts show up at config time. */
export interface ListenResource {
  kind: 'listen';
  host: string;
  port: number;
  /** The YAML path of the setting, for the error message. */
  path: string[];
}

interface FactoryBase<K extends ComponentKind, C> {
  readonly kind: K;
  readonly type: string;
  /** Deprecated names that still resolve to this factory (e.g. "otlp" for otlp_grpc). */
  readonly aliases?: readonly string[];
  readonly stability: Stability;
  readonly description: string;
  readonly configSchema: ObjectSchema<C>;
  /** Cross-field checks; paths are relative to the component's config. */
  validate?(config: C): Problem[];
  resources?(config: C): ListenResource[];
}

interface PipelineFactory<K extends ComponentKind, C> extends FactoryBase<K, C> {
  /** The pipeline types this component can be used in. */
  readonly signals: readonly Signal[];
}

export interface ReceiverFactory<C = unknown> extends PipelineFactory<'receiver', C> {
  create(settings: CreateSettings, config: C, next: FlowConsumer): Component;
}

export interface ProcessorFactory<C = unknown> extends PipelineFactory<'processor', C> {
  /** True when consume() writes to the batch it is given (the fan-out then clones). */
  readonly mutatesData: boolean;
  /**
   * True when the processor only adds attributes (it never drops, samples or
   * regroups rows): the flow hub (flows_api, flows_ui) is fed after such leading
   * processors so its views carry their names.
   */
  readonly enrichesOnly?: boolean;
  create(settings: CreateSettings, config: C, next: FlowConsumer): ConsumerComponent;
}

export interface ExporterFactory<C = unknown> extends PipelineFactory<'exporter', C> {
  create(settings: CreateSettings, config: C): ConsumerComponent;
}

export interface ExtensionFactory<C = unknown> extends FactoryBase<'extension', C> {
  create(settings: CreateSettings, config: C): Component;
}

export type Factory = ReceiverFactory | ProcessorFactory | ExporterFactory | ExtensionFactory;
