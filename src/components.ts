// The registry of every component podflow ships: one line per component.

import { Registry } from './component/registry.ts';
import type { Factory } from './component/component.ts';
import { consoleExporterFactory } from './exporter/console/factory.ts';
import { healthCheckExtensionFactory } from './extension/health_check/factory.ts';
import { syntheticReceiverFactory } from './receiver/synthetic/factory.ts';
import { debugExporterFactory } from './exporter/debug/factory.ts';
import { otlpGrpcExporterFactory } from './exporter/otlp_grpc/factory.ts';
import { otlpHttpExporterFactory } from './exporter/otlp_http/factory.ts';
import { prometheusExporterFactory } from './exporter/prometheus/factory.ts';
import { k8sAttributesFactory } from './processor/k8s_attributes/factory.ts';
import { flowAggregateFactory } from './processor/flow_aggregate/factory.ts';
import { filterFactory } from './processor/filter/factory.ts';
import { batchFactory } from './processor/batch/factory.ts';
import { memoryLimiterFactory } from './processor/memory_limiter/factory.ts';
import { conntrackReceiverFactory } from './receiver/conntrack/factory.ts';
import { flowsApiFactory } from './extension/flows_api/factory.ts';
import { ebpfReceiverFactory } from './receiver/ebpf/factory.ts';
import { flowsUiFactory } from './extension/flows_ui/factory.ts';
import { otlpReceiverFactory } from './receiver/otlp/factory.ts';

export const factories: readonly Factory[] = [
  consoleExporterFactory,
  healthCheckExtensionFactory,
  syntheticReceiverFactory,
  otlpGrpcExporterFactory,
  otlpHttpExporterFactory,
  prometheusExporterFactory,
  debugExporterFactory,
  k8sAttributesFactory,
  flowAggregateFactory,
  filterFactory,
  batchFactory,
  memoryLimiterFactory,
  conntrackReceiverFactory,
  flowsApiFactory,
  ebpfReceiverFactory,
  flowsUiFactory,
  otlpReceiverFactory,
];

export function defaultRegistry(): Registry {
  return new Registry(factories);
}
