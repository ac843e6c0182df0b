// ResourceMetrics ⇄ JSON text, for the persistent sending queue. Everything in
// a ResourceMetrics is plain data except the Resource, which is rebuilt from
// its attributes (podflow's resources have no asynchronous attributes).

import { resourceFromAttributes } from '@opentelemetry/resources';
import type { Attributes } from '@opentelemetry/api';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { ItemCodec } from '../exporterhelper/queued-retry-sender.ts';

const VERSION = 1;

interface Stored {
  v: number;
  resource: Attributes;
  scopeMetrics: ResourceMetrics['scopeMetrics'];
}

// Histogram min/max can be ±Infinity, which JSON has no literal for.
const replacer = (_k: string, v: unknown) => (v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : v);
const reviver = (_k: string, v: unknown) => (v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : v);

export const resourceMetricsCodec: ItemCodec<ResourceMetrics> = {
  encode(rm) {
    const stored: Stored = { v: VERSION, resource: rm.resource.attributes, scopeMetrics: rm.scopeMetrics };
    return JSON.stringify(stored, replacer);
  },
  decode(text) {
    const s = JSON.parse(text, reviver) as Stored;
    if (s.v !== VERSION || !Array.isArray(s.scopeMetrics)) throw new Error(`not a podflow queue item (version ${String(s.v)})`);
    return { resource: resourceFromAttributes(s.resource ?? {}), scopeMetrics: s.scopeMetrics };
  },
};
