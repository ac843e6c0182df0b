// The OTLP metrics request and response messages, and google.rpc.Status, as a
// protobufjs reflection schema: only the messages and fields the receiver
// reads (protobufjs skips fields it does not know, so histograms, exemplars
// and the rest pass the decoder and are simply not read). Field numbers and
// types are those of opentelemetry-proto v1 (metrics.proto, common.proto,
// resource.proto, metrics_service.proto); a test checks every field against
// the official .proto files in ../shared/reference/otlp-proto.
//
// Why a schema in code and not the .proto files: the receiver runs in the
// container, where only the package is shipped, and the exporter packages'
// otlp-transformer only encodes (it has no request decoder).

import protobuf from 'protobufjs';

type Fields = Record<string, { id: number; type: string; rule?: 'repeated' }>;
const msg = (fields: Fields, oneofs?: Record<string, { oneof: string[] }>) => ({ fields, ...(oneofs ? { oneofs } : {}) });

const DESCRIPTOR = {
  nested: {
    opentelemetry: { nested: { proto: { nested: {
      common: { nested: { v1: { nested: {
        AnyValue: msg({
          stringValue: { id: 1, type: 'string' }, boolValue: { id: 2, type: 'bool' }, intValue: { id: 3, type: 'int64' },
          doubleValue: { id: 4, type: 'double' }, arrayValue: { id: 5, type: 'ArrayValue' }, kvlistValue: { id: 6, type: 'KeyValueList' },
          bytesValue: { id: 7, type: 'bytes' },
        }, { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] } }),
        ArrayValue: msg({ values: { id: 1, type: 'AnyValue', rule: 'repeated' } }),
        KeyValueList: msg({ values: { id: 1, type: 'KeyValue', rule: 'repeated' } }),
        KeyValue: msg({ key: { id: 1, type: 'string' }, value: { id: 2, type: 'AnyValue' } }),
        InstrumentationScope: msg({ name: { id: 1, type: 'string' }, version: { id: 2, type: 'string' } }),
      } } } },
      resource: { nested: { v1: { nested: {
        Resource: msg({ attributes: { id: 1, type: 'opentelemetry.proto.common.v1.KeyValue', rule: 'repeated' } }),
      } } } },
      metrics: { nested: { v1: { nested: {
        AggregationTemporality: { values: { AGGREGATION_TEMPORALITY_UNSPECIFIED: 0, AGGREGATION_TEMPORALITY_DELTA: 1, AGGREGATION_TEMPORALITY_CUMULATIVE: 2 } },
        ResourceMetrics: msg({
          resource: { id: 1, type: 'opentelemetry.proto.resource.v1.Resource' },
          scopeMetrics: { id: 2, type: 'ScopeMetrics', rule: 'repeated' },
        }),
        ScopeMetrics: msg({
          scope: { id: 1, type: 'opentelemetry.proto.common.v1.InstrumentationScope' },
          metrics: { id: 2, type: 'Metric', rule: 'repeated' },
        }),
        Metric: msg({
          name: { id: 1, type: 'string' }, unit: { id: 3, type: 'string' },
          gauge: { id: 5, type: 'Gauge' }, sum: { id: 7, type: 'Sum' },
        }),
        Gauge: msg({ dataPoints: { id: 1, type: 'NumberDataPoint', rule: 'repeated' } }),
        Sum: msg({
          dataPoints: { id: 1, type: 'NumberDataPoint', rule: 'repeated' },
          aggregationTemporality: { id: 2, type: 'AggregationTemporality' },
          isMonotonic: { id: 3, type: 'bool' },
        }),
        NumberDataPoint: msg({
          attributes: { id: 7, type: 'opentelemetry.proto.common.v1.KeyValue', rule: 'repeated' },
          startTimeUnixNano: { id: 2, type: 'fixed64' }, timeUnixNano: { id: 3, type: 'fixed64' },
          asDouble: { id: 4, type: 'double' }, asInt: { id: 6, type: 'sfixed64' },
        }, { value: { oneof: ['asDouble', 'asInt'] } }),
      } } } },
      logs: { nested: { v1: { nested: {
        ResourceLogs: msg({
          resource: { id: 1, type: 'opentelemetry.proto.resource.v1.Resource' },
          scopeLogs: { id: 2, type: 'ScopeLogs', rule: 'repeated' },
        }),
        ScopeLogs: msg({ logRecords: { id: 2, type: 'LogRecord', rule: 'repeated' } }),
        LogRecord: msg({
          timeUnixNano: { id: 1, type: 'fixed64' },
          attributes: { id: 6, type: 'opentelemetry.proto.common.v1.KeyValue', rule: 'repeated' },
        }),
      } } } },
      trace: { nested: { v1: { nested: {
        ResourceSpans: msg({
          resource: { id: 1, type: 'opentelemetry.proto.resource.v1.Resource' },
          scopeSpans: { id: 2, type: 'ScopeSpans', rule: 'repeated' },
        }),
        ScopeSpans: msg({ spans: { id: 2, type: 'Span', rule: 'repeated' } }),
        Span: msg({
          startTimeUnixNano: { id: 7, type: 'fixed64' }, endTimeUnixNano: { id: 8, type: 'fixed64' },
          attributes: { id: 9, type: 'opentelemetry.proto.common.v1.KeyValue', rule: 'repeated' },
        }),
      } } } },
      collector: { nested: {
        logs: { nested: { v1: { nested: {
          ExportLogsServiceRequest: msg({ resourceLogs: { id: 1, type: 'opentelemetry.proto.logs.v1.ResourceLogs', rule: 'repeated' } }),
        } } } },
        trace: { nested: { v1: { nested: {
          ExportTraceServiceRequest: msg({ resourceSpans: { id: 1, type: 'opentelemetry.proto.trace.v1.ResourceSpans', rule: 'repeated' } }),
        } } } },
        metrics: { nested: { v1: { nested: {
        ExportMetricsServiceRequest: msg({ resourceMetrics: { id: 1, type: 'opentelemetry.proto.metrics.v1.ResourceMetrics', rule: 'repeated' } }),
        ExportMetricsPartialSuccess: msg({ rejectedDataPoints: { id: 1, type: 'int64' }, errorMessage: { id: 2, type: 'string' } }),
        ExportMetricsServiceResponse: msg({ partialSuccess: { id: 1, type: 'ExportMetricsPartialSuccess' } }),
      } } } } } },
    } } } },
    google: { nested: { rpc: { nested: {
      Status: msg({ code: { id: 1, type: 'int32' }, message: { id: 2, type: 'string' } }),
    } } } },
  },
};

export const otlpRoot = protobuf.Root.fromJSON(DESCRIPTOR as protobuf.INamespace);
export const MetricsRequest = otlpRoot.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
export const MetricsResponse = otlpRoot.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse');
export const RpcStatus = otlpRoot.lookupType('google.rpc.Status');
export const LogsRequest = otlpRoot.lookupType('opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest');
export const TraceRequest = otlpRoot.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');

export type OtlpSignal = 'metrics' | 'logs' | 'traces';
const REQUEST: Record<OtlpSignal, protobuf.Type> = { metrics: MetricsRequest, logs: LogsRequest, traces: TraceRequest };

export interface LogsRequestObj { resourceLogs?: Array<{ scopeLogs?: Array<{ logRecords?: Array<{ timeUnixNano?: number; attributes?: KeyValueObj[] }> }> }> }
export interface TraceRequestObj { resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: Array<{ startTimeUnixNano?: number; endTimeUnixNano?: number; attributes?: KeyValueObj[] }> }> }> }

/** Decodes a request of any signal, protobuf or JSON; throws on malformed input. */
export function decodeRequest(signal: OtlpSignal, body: Uint8Array, json: boolean): unknown {
  const type = REQUEST[signal];
  if (!json) return type.toObject(type.decode(body), TO_OBJECT);
  const parsed: unknown = JSON.parse(Buffer.from(body).toString('utf8'));
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new TypeError('the body is not a JSON object');
  return type.toObject(type.fromObject(parsed), TO_OBJECT);
}

/** The decoded request as plain objects (int64 as numbers, enums as numbers). */
export interface KeyValueObj { key: string; value?: { stringValue?: string; boolValue?: boolean; intValue?: number; doubleValue?: number } }

export type AttributeValue = string | number | boolean;

/** An OTLP attribute list as a map; values of other kinds (arrays, maps, bytes) are left out. */
export function attributeMap(kvs: KeyValueObj[] | undefined): Map<string, AttributeValue> {
  const out = new Map<string, AttributeValue>();
  for (const kv of kvs ?? []) {
    const v = kv.value ?? {};
    const x = v.stringValue ?? v.intValue ?? v.doubleValue ?? v.boolValue;
    if (x !== undefined) out.set(kv.key, x);
  }
  return out;
}
export interface NumberPointObj { attributes?: KeyValueObj[]; startTimeUnixNano?: number; timeUnixNano?: number; asDouble?: number; asInt?: number }
export interface MetricObj { name?: string; unit?: string; gauge?: { dataPoints?: NumberPointObj[] }; sum?: { dataPoints?: NumberPointObj[]; aggregationTemporality?: number; isMonotonic?: boolean } }
export interface MetricsRequestObj {
  resourceMetrics?: Array<{ resource?: { attributes?: KeyValueObj[] }; scopeMetrics?: Array<{ metrics?: MetricObj[] }> }>;
}

export const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: Number, defaults: false };

/** Decodes protobuf bytes; throws with the decoder's message on malformed input. */
export function decodeMetricsProto(body: Uint8Array): MetricsRequestObj {
  return MetricsRequest.toObject(MetricsRequest.decode(body), TO_OBJECT) as MetricsRequestObj;
}

/** Decodes OTLP/JSON (camelCase keys, enums as numbers, int64 as strings or numbers). */
export function decodeMetricsJson(text: string): MetricsRequestObj {
  const parsed: unknown = JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new TypeError('the body is not a JSON object');
  // fromObject, not verify(): OTLP/JSON writes 64-bit integers as strings, which verify() rejects.
  return MetricsRequest.toObject(MetricsRequest.fromObject(parsed), TO_OBJECT) as MetricsRequestObj;
}
