// One span per ended TCP connection and reporting socket: a CLIENT span when
// the client's socket reported it, a SERVER span when the server's did (a node
// that hosts both ends emits both). IDs come from connection-ids.ts, so the two
// nodes' halves share a trace and the SERVER span's parent is the CLIENT span.
//
// What the service graphs key on: Tempo's service-graph processor (and the
// metrics-generator) pairs a CLIENT span with a SERVER span of the same trace
// whose parent span ID is the CLIENT span's ID, and names the edge by each
// span's resource `service.name`; for a client whose server half is missing it
// falls back to the CLIENT span's `peer.service`, then `server.address`
// (virtual nodes). Jaeger's dependency view links parent and child spans of
// different `service.name`s. So each span carries: kind, resource service.name
// = this end's workload name (one Resource per workload), `peer.service` =
// the other end's workload name, `server.address`/`server.port`,
// `client.address`/`client.port`, `network.transport`. Status is ERROR for
// reset and failed connections.

import { SpanKind, SpanStatusCode, TraceFlags, type Attributes } from '@opentelemetry/api';
import type { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ResourceInfo } from '../../../component/component.ts';
import { PROTO_TCP, type FlowBatch } from '../../../pdata/flow-batch.ts';
import { joinConnections } from '../flow-connections/connection-join.ts';
import { ConnectionTotals, type TotalsEvents } from '../flow-connections/connection-totals.ts';
import { isEvent, namespaceOf, readConnection, workloadName, type ConnectionFacts } from '../flow-connections/connection-facts.ts';
import { connectionIds, connectionInput, samplingValue } from '../flow-connections/connection-ids.ts';
import type { ItemBuilder, SkipReason } from '../flow-connections/connection-signal-exporter.ts';
import type { TracesConfig } from '../flow-connections/signal-config.ts';
import { SCOPE_NAME } from '../flow-metrics/flow-metric-producer.ts';
import { flowLogAttributes, msToHr } from '../flow-logs/flow-log-records.ts';

/** What the official OTLP trace serializer takes (the SDK's ReadableSpan). */
export type ConnectionSpan = Parameters<typeof ProtobufTraceSerializer.serializeRequest>[0][number];

export class ConnectionSpanBuilder implements ItemBuilder<ConnectionSpan> {
  readonly #config: TracesConfig;
  readonly #info: ResourceInfo;
  readonly #scope: { name: string; version: string };
  /** One Resource object per (service.name, namespace): the OTLP encoder groups spans by Resource identity. */
  readonly #resources = new Map<string, Resource>();
  /** Lifetime byte/packet counts of open connections (exposed for tests and self-metrics). */
  readonly totals: ConnectionTotals;

  constructor(config: TracesConfig, info: ResourceInfo, events?: TotalsEvents) {
    this.totals = new ConnectionTotals(undefined, undefined, events);
    this.#config = config;
    this.#info = info;
    this.#scope = { name: SCOPE_NAME, version: info.serviceVersion };
  }

  build(batch: FlowBatch, skip: (reason: SkipReason) => void): ConnectionSpan[] {
    const out: ConnectionSpan[] = [];
    const c = this.#config;
    const now = batch.endTimeMs || Date.now();
    for (const v of joinConnections(batch)) {
      if (batch.protocol[v.c2s !== -1 ? v.c2s : v.s2c] !== PROTO_TCP) continue;
      const f = readConnection(batch, v);
      // A lookup or a drop beside the connection's rows is no connection of its own.
      if (isEvent(f)) continue;
      // Open connections only add to their running totals: a span covers the whole connection.
      this.totals.accumulate(f, now);
      if (!v.ended) continue;
      // The request edge carries the duration and end reason a span needs.
      if (v.c2s === -1) { skip('no_request_edge'); continue; }
      if (f.durationMs < c.min_duration) { skip('min_duration'); continue; }
      if (f.bytesClientToServer + f.bytesServerToClient < c.min_bytes) { skip('min_bytes'); continue; }
      if (c.sampling_ratio < 1 && samplingValue(f) >= c.sampling_ratio) { skip('sampling'); continue; }
      out.push(this.#span(f, batch));
    }
    return out;
  }

  #span(f: ConnectionFacts, batch: FlowBatch): ConnectionSpan {
    // The close is known to within the interval that reported it: its end.
    const endMs = batch.endTimeMs || Date.now();
    const startMs = endMs - f.durationMs;
    const ids = connectionIds(connectionInput(f, startMs, this.#config.trace_id_bucket));
    const self = f.serverSide ? 'server' : 'client';
    const peer = f.serverSide ? 'client' : 'server';
    const selfName = workloadName(f, self) ?? (f.serverSide ? f.serverAddress : f.clientAddress);
    const peerName = workloadName(f, peer);
    const serverName = workloadName(f, 'server') ?? f.serverAddress;
    const attributes: Attributes = { ...(flowLogAttributes(f, batch) as Attributes) };
    if (peerName !== undefined) attributes['peer.service'] = peerName;
    const bad = f.endReason === 'reset' || f.endReason === 'failed_connect';
    const flags = TraceFlags.SAMPLED;
    const spanId = f.serverSide ? ids.serverSpanId : ids.clientSpanId;
    const start = msToHr(startMs);
    const end = msToHr(endMs);
    return {
      name: `tcp ${serverName}:${f.serverPort}`,
      kind: f.serverSide ? SpanKind.SERVER : SpanKind.CLIENT,
      spanContext: () => ({ traceId: ids.traceId, spanId, traceFlags: flags }),
      ...(f.serverSide ? { parentSpanContext: { traceId: ids.traceId, spanId: ids.clientSpanId, traceFlags: flags, isRemote: true } } : {}),
      startTime: start,
      endTime: end,
      duration: msToHr(endMs - startMs),
      status: bad ? { code: SpanStatusCode.ERROR, message: f.endReason! } : { code: SpanStatusCode.UNSET },
      attributes,
      links: [],
      events: [],
      ended: true,
      resource: this.#resource(selfName, namespaceOf(f, self)),
      instrumentationScope: this.#scope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  }

  #resource(service: string, namespace: string | undefined): Resource {
    const key = `${service}\u0000${namespace ?? ''}`;
    let r = this.#resources.get(key);
    if (!r) {
      const attrs: Attributes = { 'service.name': service, 'host.name': this.#info.hostName, 'telemetry.sdk.name': 'podflow' };
      if (namespace !== undefined) {
        attrs['service.namespace'] = namespace;
        attrs['k8s.namespace.name'] = namespace;
      }
      if (this.#info.nodeName) attrs['k8s.node.name'] = this.#info.nodeName;
      // Bounded: evict all when a node has seen this many workloads (rare; rebuilding is cheap).
      if (this.#resources.size >= 10_000) this.#resources.clear();
      this.#resources.set(key, (r = resourceFromAttributes(attrs)));
    }
    return r;
  }
}
