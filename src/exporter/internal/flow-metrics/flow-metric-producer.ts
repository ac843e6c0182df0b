// Feeds the accumulator's series to an sdk-metrics MetricReader (periodic OTLP
// export or the Prometheus scrape handler) through the reader's
// `metricProducers` option, so the official exporters do all the encoding.

import type { Attributes } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { CollectionResult, MetricData, MetricProducer } from '@opentelemetry/sdk-metrics';
import type { ResourceInfo } from '../../../component/component.ts';
import type { FlowMetricsAccumulator } from './flow-metrics-accumulator.ts';

export const SCOPE_NAME = 'podflow';

/** service.name, service.version, host.name and (when known) k8s.node.name. */
export function podflowResource(info: ResourceInfo): Resource {
  const attrs: Attributes = {
    'service.name': 'podflow',
    'service.version': info.serviceVersion,
    'host.name': info.hostName,
  };
  if (info.nodeName) attrs['k8s.node.name'] = info.nodeName;
  return resourceFromAttributes(attrs);
}

export interface ProducerOptions {
  resource: ResourceInfo;
  /** Renames metrics for a backend's conventions (the Prometheus exporter's unit suffixes). */
  rename?: (metric: MetricData) => MetricData;
}

export class FlowMetricProducer implements MetricProducer {
  readonly #acc: FlowMetricsAccumulator;
  readonly #resource: Resource;
  readonly #version: string;
  readonly #rename: ((m: MetricData) => MetricData) | undefined;

  constructor(acc: FlowMetricsAccumulator, opts: ProducerOptions) {
    this.#acc = acc;
    this.#resource = podflowResource(opts.resource);
    this.#version = opts.resource.serviceVersion;
    this.#rename = opts.rename;
  }

  async collect(): Promise<CollectionResult> {
    let metrics = this.#acc.collect();
    if (this.#rename) metrics = metrics.map(this.#rename);
    // No empty scope: the periodic reader skips an export only when there are no scopes at all.
    const scopeMetrics = metrics.length ? [{ scope: { name: SCOPE_NAME, version: this.#version }, metrics }] : [];
    return { resourceMetrics: { resource: this.#resource, scopeMetrics }, errors: [] };
  }
}
