// One OTLP log record per connection per batch: for every connection that
// ended in the interval (FLAG_CONNECTION_ENDED), and, with logs.include_active,
// for every connection still open that moved data in it (receivers report one
// batch per export interval, so that is one record per interval for
// long-lived connections). The two edges of a connection are joined first
// (connection-join.ts), so one record carries both directions.
//
// Attributes: client.address/port and server.address/port (OTel semantic
// conventions), network.transport/type, destination.original.address/port
// under NAT, every attribute column of the client → server row as is
// (source.* = client, destination.* = server, e.g. the k8s names), and the
// counters under flow.*: see ../../otlp_grpc/README.md "Flow logs".

import type { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import type { AnyValueMap } from '@opentelemetry/api-logs';
import type { Resource } from '@opentelemetry/resources';
import type { ResourceInfo } from '../../../component/component.ts';
import type { FlowBatch } from '../../../pdata/flow-batch.ts';
import { joinConnections } from '../flow-connections/connection-join.ts';
import { isEvent, readConnection, type ConnectionFacts } from '../flow-connections/connection-facts.ts';
import { samplingValue } from '../flow-connections/connection-ids.ts';
import type { ItemBuilder, SkipReason } from '../flow-connections/connection-signal-exporter.ts';
import type { LogsConfig } from '../flow-connections/signal-config.ts';
import { podflowResource, SCOPE_NAME } from '../flow-metrics/flow-metric-producer.ts';

/** What the official OTLP logs serializer takes (the SDK's ReadableLogRecord). */
export type FlowLogRecord = Parameters<typeof ProtobufLogsSerializer.serializeRequest>[0][number];

// api-logs SeverityNumber values (a const enum there, so not importable as a value here).
const SEVERITY_INFO = 9;
const SEVERITY_WARN = 13;

export class FlowLogBuilder implements ItemBuilder<FlowLogRecord> {
  readonly #config: LogsConfig;
  readonly #resource: Resource;
  readonly #scope: { name: string; version: string };

  constructor(config: LogsConfig, resource: ResourceInfo) {
    this.#config = config;
    this.#resource = podflowResource(resource);
    this.#scope = { name: SCOPE_NAME, version: resource.serviceVersion };
  }

  build(batch: FlowBatch, skip: (reason: SkipReason) => void): FlowLogRecord[] {
    const out: FlowLogRecord[] = [];
    const c = this.#config;
    const time = msToHr(batch.endTimeMs || Date.now());
    const observed = msToHr(Date.now());
    for (const v of joinConnections(batch)) {
      const f = readConnection(batch, v);
      const event = isEvent(f);
      if (!event && !f.ended && !c.include_active) { skip('active'); continue; }
      if (!event && f.bytesClientToServer + f.bytesServerToClient < c.min_bytes) { skip('min_bytes'); continue; }
      if (c.sampling_ratio < 1 && samplingValue(f) >= c.sampling_ratio) { skip('sampling'); continue; }
      // A lookup that got no answer or an error, a dropped packet: worth a warning.
      const bad = f.endReason === 'reset' || f.endReason === 'failed_connect'
        || (event && (f.dropsClientToServer + f.dropsServerToClient > 0 || (f.attributes['dns.response_code'] ?? 'NOERROR') !== 'NOERROR'));
      out.push({
        hrTime: time,
        hrTimeObserved: observed,
        severityNumber: (bad ? SEVERITY_WARN : SEVERITY_INFO) as FlowLogRecord['severityNumber'],
        severityText: bad ? 'WARN' : 'INFO',
        body: logBody(f),
        resource: this.#resource,
        instrumentationScope: this.#scope,
        attributes: flowLogAttributes(f, batch),
        droppedAttributesCount: 0,
      });
    }
    return out;
  }
}

export function flowLogAttributes(f: ConnectionFacts, batch: FlowBatch): AnyValueMap {
  const a: AnyValueMap = {
    'network.transport': f.transport,
    'network.type': f.family === 6 ? 'ipv6' : 'ipv4',
    'client.address': f.clientAddress,
    'client.port': f.clientPort,
    'server.address': f.serverAddress,
    'server.port': f.serverPort,
    'flow.observer': f.serverSide ? 'server' : 'client',
    'flow.state': f.ended ? 'ended' : 'active',
    'flow.bytes.client_to_server': f.bytesClientToServer,
    'flow.bytes.server_to_client': f.bytesServerToClient,
    'flow.packets.client_to_server': f.packetsClientToServer,
    'flow.packets.server_to_client': f.packetsServerToClient,
    'flow.retransmits': f.retransmits,
    'flow.interval.start_ms': batch.startTimeMs,
    'flow.interval.end_ms': batch.endTimeMs,
  };
  if (f.rttUs > 0) a['flow.rtt_us'] = f.rttUs;
  // Only where there is something to say: most records are plain traffic.
  for (const [key, v] of [
    ['flow.connect_us', f.connectUs],
    ['flow.dns.requests', f.dnsRequests],
    ['flow.dns.duration_us', f.dnsDurationUs],
    ['flow.drops.client_to_server', f.dropsClientToServer],
    ['flow.drops.server_to_client', f.dropsServerToClient],
    ['flow.drop_bytes.client_to_server', f.dropBytesClientToServer],
    ['flow.drop_bytes.server_to_client', f.dropBytesServerToClient],
  ] as const) if (v > 0) a[key] = v;
  if (f.ended) {
    a['flow.end_reason'] = f.endReason!;
    a['flow.duration_ms'] = f.durationMs;
  }
  if (f.originalServerAddress !== undefined) {
    a['destination.original.address'] = f.originalServerAddress;
    a['destination.original.port'] = f.originalServerPort!;
  }
  for (const [k, v] of Object.entries(f.attributes)) a[k] = v;
  return a;
}

function endpointText(addr: string, port: number): string {
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** "tcp 10.0.0.1:40000 -> 10.0.0.2:8080 fin 1500/300 bytes 12 ms" */
export function logBody(f: ConnectionFacts): string {
  const ends = `${f.transport} ${endpointText(f.clientAddress, f.clientPort)} -> ${endpointText(f.serverAddress, f.serverPort)}`;
  if (isEvent(f)) {
    // "udp 10.0.0.1:40000 -> 10.0.0.2:53 dns A cart.shop.svc.cluster.local NXDOMAIN in 0.83 ms"
    if (f.dnsRequests > 0) {
      const a = f.attributes;
      const took = f.dnsDurationUs > 0 ? ` in ${(f.dnsDurationUs / 1000).toFixed(2)} ms` : '';
      return `${ends} dns ${a['dns.question.type'] ?? '?'}${a['dns.question.name'] ? ` ${a['dns.question.name']}` : ''} ${a['dns.response_code'] ?? '?'}${took}`;
    }
    return `${ends} ${f.dropsClientToServer}/${f.dropsServerToClient} packets dropped (client's/server's), ${f.attributes['drop.reason'] ?? 'unknown'}`;
  }
  const state = f.ended ? `${f.endReason} after ${f.durationMs} ms` : 'active';
  return `${ends} ${state}, ${f.bytesClientToServer}/${f.bytesServerToClient} bytes sent/received by the client`;
}

export function msToHr(ms: number): [number, number] {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}
