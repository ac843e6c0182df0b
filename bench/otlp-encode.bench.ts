// Cost of encoding one export of flow metrics as an OTLP/protobuf request:
// podflow's encodeMetricsRequest against the official
// ProtobufMetricsSerializer (@opentelemetry/otlp-transformer) on the same
// ResourceMetrics, whose bytes it must equal (checked first).
//
// The request is shaped like the pipeline benchmark's exports: 2,664 series
// with podflow's 11 default attributes (server port, transport, IP version,
// observer, both ends' namespace, workload kind and name, the destination's
// Service), every podflow flow metric, points per metric in the proportions
// those exports have (bytes and packets on every series, RTT on 43%,
// retransmits on 30%, connection counts and durations on 17%, DNS on 7%,
// resets, failures and drops on <1%): ~9.5k points, ~4.8 MB.
//
// - warm: the same series export after export (cumulative, or delta with the
//   same series coming back): their frozen attribute sets are encoded once and
//   kept;
// - cold: every attribute set new (each series' first export): the encoder
//   pays to encode and keep them.
// CPU time per encode, median of interleaved runs.

import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality, DataPointType, type DataPoint, type Histogram, type MetricData, type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { HISTOGRAM_METRICS, SUM_METRICS } from '../src/exporter/internal/flow-metrics/metric-definitions.ts';
import { encodeMetricsRequest } from '../src/exporter/internal/otlp/metrics-request-encoder.ts';

interface BenchResult { name: string; value: number; unit: string; baseline: number; ratio: number; extra?: Record<string, number | string> }

const SERIES = 2664;
/** Share of the series with a point, per metric (ALL_METRICS order: sums, then histograms). */
const SHARE: Record<string, number> = {
  'network.flow.bytes': 1, 'network.flow.packets': 1, 'network.flow.tcp.retransmits': 0.3, 'network.flow.tcp.resets': 0.01,
  'network.flow.connections.opened': 0.17, 'network.flow.connections.failed': 0.004, 'network.flow.connections.closed': 0.17,
  'network.flow.drops': 0.004, 'network.flow.drop.bytes': 0.004, 'network.flow.dns.requests': 0.07,
  'network.flow.tcp.rtt': 0.43, 'network.flow.connection.duration': 0.17, 'network.flow.tcp.connect.duration': 0.17, 'network.flow.dns.duration': 0.07,
};

function seriesAttributes(i: number, tag: string): Attributes {
  const ns = `shop-${i % 12}`;
  return Object.freeze({
    'destination.port': [80, 443, 5432, 6379, 8080, 9090][i % 6]!,
    'network.transport': i % 20 === 0 ? 'udp' : 'tcp',
    'network.type': 'ipv4',
    'flow.observer': i % 2 ? 'destination' : 'source',
    'destination.k8s.namespace.name': ns,
    'destination.k8s.service.name': `svc-${i % 97}${tag}`,
    'destination.k8s.workload.kind': 'Deployment',
    'destination.k8s.workload.name': `backend-${i % 97}`,
    'source.k8s.namespace.name': `shop-${(i >> 3) % 12}`,
    'source.k8s.workload.kind': i % 5 ? 'Deployment' : 'StatefulSet',
    'source.k8s.workload.name': `frontend-${i % 211}`,
  });
}

/** One export's ResourceMetrics; `tag` makes every attribute set a new object (and a new value). */
function request(tag: string): ResourceMetrics {
  const attrs = Array.from({ length: SERIES }, (_, i) => seriesAttributes(i, tag));
  const start: HrTime = [1_795_700_000, 0];
  const end: HrTime = [1_795_700_010, 123_456_789];
  const has = (name: string, i: number) => ((i * 2654435761) >>> 0) / 2 ** 32 < SHARE[name]!;
  const metrics: MetricData[] = [];
  for (const def of SUM_METRICS) {
    const dataPoints: DataPoint<number>[] = [];
    for (let i = 0; i < SERIES; i++) if (has(def.name, i)) dataPoints.push({ startTime: start, endTime: end, attributes: attrs[i]!, value: 1000 + i * 37 });
    metrics.push({
      descriptor: { name: def.name, description: def.description, unit: def.unit, valueType: ValueType.INT },
      aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints,
    });
  }
  for (const def of HISTOGRAM_METRICS) {
    const dataPoints: DataPoint<Histogram>[] = [];
    for (let i = 0; i < SERIES; i++) {
      if (!has(def.name, i)) continue;
      const counts = def.boundaries.map((_, b) => (b * 7 + i) % 5).concat([1]);
      dataPoints.push({
        startTime: start, endTime: end, attributes: attrs[i]!,
        value: { buckets: { boundaries: def.boundaries as number[], counts }, count: counts.reduce((a, b) => a + b, 0), sum: 0.5 + i / 1000, min: 0.0001, max: 2.5 },
      });
    }
    metrics.push({
      descriptor: { name: def.name, description: def.description, unit: def.unit, valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.HISTOGRAM, dataPoints,
    });
  }
  return { resource: resourceFromAttributes({ 'service.name': 'podflow', 'host.name': 'node-1' }), scopeMetrics: [{ scope: { name: 'podflow' }, metrics }] };
}

function cpuMs(f: () => void): number {
  const c = process.cpuUsage();
  f();
  const u = process.cpuUsage(c);
  return (u.user + u.system) / 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

export default async function run(opts: { quick: boolean }): Promise<BenchResult[]> {
  const rounds = opts.quick ? 5 : 25;
  const warm = request('');
  const expected = Buffer.from(ProtobufMetricsSerializer.serializeRequest(warm)!);
  if (!Buffer.from(encodeMetricsRequest(warm)).equals(expected)) throw new Error('encodeMetricsRequest and the official serializer disagree');
  const points = warm.scopeMetrics[0]!.metrics.reduce((n, m) => n + m.dataPoints.length, 0);

  const official: number[] = [];
  const ours: number[] = [];
  const oursCold: number[] = [];
  const officialCold: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Interleaved, so drift on a shared machine hits both.
    official.push(cpuMs(() => ProtobufMetricsSerializer.serializeRequest(warm)));
    ours.push(cpuMs(() => encodeMetricsRequest(warm)));
    const cold = request(`-${r}`);
    oursCold.push(cpuMs(() => encodeMetricsRequest(cold)));
    officialCold.push(cpuMs(() => ProtobufMetricsSerializer.serializeRequest(cold)));
  }
  const o = median(official);
  const p = median(ours);
  const oc = median(officialCold);
  const pc = median(oursCold);
  const extra = { points, series: SERIES, requestBytes: expected.length, rounds };
  return [
    {
      name: 'otlp encode, series seen before (encodes per second)', value: 1000 / p, unit: 'requests/s', baseline: 1000 / o, ratio: o / p,
      extra: { ...extra, msPerRequest: +p.toFixed(2), baselineMsPerRequest: +o.toFixed(2), usPerPoint: +(p * 1000 / points).toFixed(2), baselineUsPerPoint: +(o * 1000 / points).toFixed(2) },
    },
    {
      name: 'otlp encode, every series new (encodes per second)', value: 1000 / pc, unit: 'requests/s', baseline: 1000 / oc, ratio: oc / pc,
      extra: { ...extra, msPerRequest: +pc.toFixed(2), baselineMsPerRequest: +oc.toFixed(2) },
    },
  ];
}
