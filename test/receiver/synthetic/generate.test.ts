import t from 'tap';
import type { Problem } from '../../../src/config/schema.ts';
import {
  FLAG_CONNECTION_ENDED, FLAG_HAS_ORIGINAL_DST, FLAG_SOURCE_IS_CLIENT, PROTO_TCP, PROTO_UDP, type FlowBatch,
} from '../../../src/pdata/flow-batch.ts';
import { readFlow } from '../../../src/pdata/flow-record.ts';
import { syntheticConfigSchema, type SyntheticConfig } from '../../../src/receiver/synthetic/config.ts';
import { churnCount, generateInterval, intervalWindow } from '../../../src/receiver/synthetic/generate.ts';

function config(over: Record<string, unknown> = {}): SyntheticConfig {
  const problems: Problem[] = [];
  const c = syntheticConfigSchema.decodeOrDefault(over, ['receivers', 'synthetic'], problems);
  if (!c) throw new Error(JSON.stringify(problems));
  return c;
}

const PER_CONNECTION = ['opened', 'closed', 'failed', 'resets', 'rttUs', 'durationMs'] as const;

function rowsOf(b: FlowBatch): string {
  return JSON.stringify(Array.from({ length: b.length }, (_, i) => readFlow(b, i)));
}

/** Every column byte for byte plus the string table (tap's deep compare of typed arrays is too slow). */
function columnsOf(b: FlowBatch): string {
  const t = b.toTransfer();
  const arrays = [t.family, t.protocol, t.flags, t.srcAddr, t.dstAddr, t.origDstAddr, t.origSrcAddr, t.srcPort, t.dstPort,
    t.origDstPort, t.origSrcPort, ...Object.values(t.counters), ...Object.values(t.attributes)];
  const bytes = arrays.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64'));
  return JSON.stringify([t.length, t.startTimeMs, t.endTimeMs, Object.keys(t.attributes), t.strings, bytes]);
}

t.test('the same seed gives identical batches; another seed or interval does not', async (t) => {
  const c = config();
  const a = generateInterval(c, 7, 1000);
  const b = generateInterval({ ...c }, 7, 1000);
  t.equal(columnsOf(b), columnsOf(a), 'same config and interval: same batch, column for column');
  t.equal(rowsOf(generateInterval(config(), 7, 1000)), rowsOf(a), 'a freshly decoded config reproduces it');
  t.not(rowsOf(generateInterval(config({ seed: 2 }), 7, 1000)), rowsOf(a), 'seed 2 differs');
  t.not(rowsOf(generateInterval(c, 8, 1000)), rowsOf(a), 'interval 8 differs');
  t.equal(rowsOf(generateInterval(c, 7, 5000)), rowsOf(a), 'the epoch moves the window, not the flows');
  t.same({ start: a.startTimeMs, end: a.endTimeMs }, { start: 8000, end: 9000 });
  t.same(intervalWindow(c, 7, 1000), { startTimeMs: 8000, endTimeMs: 9000 });
  t.throws(() => generateInterval(c, -1), RangeError);
});

t.test('row count: two edges per long-lived flow and per new connection; churn keeps its long-run rate', async (t) => {
  const c = config({ interval: '250ms', connections_per_second: 10, flows_per_interval: 20 });
  const counts = Array.from({ length: 8 }, (_, i) => churnCount(c, i));
  t.same(counts, [2, 3, 2, 3, 2, 3, 2, 3], '2.5 connections per 250ms interval');
  const b = generateInterval(c, 1);
  const paired = 2 * (20 + 3);
  t.ok(b.length >= paired, 'the pairs first');
  for (let r = paired; r < b.length; r++) {
    if (!(b.counters.dnsRequests[r]! > 0 || b.counters.drops[r]! > 0)) t.fail(`row ${r} after the pairs is neither DNS lookups nor a drop`);
  }
  t.equal(generateInterval(config({ flows_per_interval: 0, connections_per_second: 0 }), 0).length, 0);
});

t.test('TCP connections have both edges; per-connection counters only on client→server', async (t) => {
  const c = config({ flows_per_interval: 300, connections_per_second: 400 });
  const seen = { opened: 0, closed: 0, failed: 0, resets: 0, retransmits: 0, udp: 0, tcp: 0 };
  for (let i = 0; i < 6; i++) {
    const b = generateInterval(c, i);
    for (let r = 0; r < 2 * (300 + churnCount(c, i)); r += 2) {
      const req = readFlow(b, r);
      const rsp = readFlow(b, r + 1);
      if (!req.sourceIsClient || rsp.sourceIsClient) t.fail(`row ${r}: client→server then server→client`);
      if (req.sourceAddress !== rsp.destinationAddress || req.destinationAddress !== rsp.sourceAddress
        || req.sourcePort !== rsp.destinationPort || req.destinationPort !== rsp.sourcePort) {
        t.fail(`rows ${r}/${r + 1} are not the two directions of one flow`);
      }
      if (req.transport !== rsp.transport || req.connectionEnded !== rsp.connectionEnded) t.fail(`rows ${r}/${r + 1} disagree`);
      for (const k of PER_CONNECTION) if (rsp.counters?.[k]) t.fail(`reply row ${r + 1} carries ${k}`);
      for (const f of [req, rsp]) {
        const bytes = f.counters?.bytes ?? 0;
        const packets = f.counters?.packets ?? 0;
        if (packets < 1 || bytes / packets > 1500 || bytes / packets < 40) t.fail(`row ${r}: ${bytes} bytes in ${packets} packets`);
        if ((f.counters?.retransmits ?? 0) > packets) t.fail(`row ${r}: more retransmits than packets`);
        seen.retransmits += f.counters?.retransmits ?? 0;
      }
      if (req.transport === 'udp') {
        seen.udp++;
        if (req.destinationPort !== 53) t.fail(`row ${r}: UDP flows are DNS, got port ${req.destinationPort}`);
        if (PER_CONNECTION.some((k) => req.counters?.[k])) t.fail('UDP rows have no connection counters');
        continue;
      }
      seen.tcp++;
      if (!(req.counters?.rttUs ?? 0) && !req.counters?.failed) t.fail(`row ${r}: an established connection has an RTT sample`);
      if (req.counters?.closed && !req.counters.durationMs) t.fail(`row ${r}: closed without a duration`);
      if ((req.counters?.closed || req.counters?.failed) && !req.connectionEnded) t.fail(`row ${r}: ended without the flag`);
      for (const k of ['opened', 'closed', 'failed', 'resets'] as const) seen[k] += req.counters?.[k] ?? 0;
    }
  }
  t.ok(seen.opened > 0 && seen.closed > 0 && seen.failed > 0 && seen.resets > 0 && seen.retransmits > 0,
    `opened ${seen.opened}, closed ${seen.closed}, failed ${seen.failed}, resets ${seen.resets}, retransmits ${seen.retransmits}`);
  const udpShare = seen.udp / (6 * 300);
  t.ok(udpShare > 0.1 && udpShare < 0.2, `UDP share of long-lived flows ${udpShare.toFixed(3)} is near udp_ratio 0.15`);
});

t.test('Kubernetes names: workload, kind and the kind-specific owner column on both ends', async (t) => {
  const b = generateInterval(config({ namespaces: 6, workloads_per_namespace: 8 }), 0);
  const kinds = new Set<string>();
  for (let r = 0; r < b.length; r++) {
    for (const side of ['source', 'destination']) {
      const kind = b.getAttribute(r, `${side}.k8s.workload.kind`)!;
      const name = b.getAttribute(r, `${side}.k8s.workload.name`)!;
      kinds.add(kind);
      const col = { Deployment: 'deployment', StatefulSet: 'statefulset', DaemonSet: 'daemonset' }[kind];
      if (!col || b.getAttribute(r, `${side}.k8s.${col}.name`) !== name) t.fail(`row ${r}: ${side} ${kind} ${name}`);
      for (const k of ['namespace', 'pod', 'node']) if (!b.getAttribute(r, `${side}.k8s.${k}.name`)) t.fail(`row ${r}: no ${side} ${k}`);
      const pod = b.getAttribute(r, `${side}.k8s.pod.name`)!;
      if (!pod.startsWith(`${name}-`)) t.fail(`pod ${pod} is not named after ${name}`);
    }
  }
  t.same([...kinds].sort(), ['DaemonSet', 'Deployment', 'StatefulSet'], 'all three kinds occur');
});

t.test('NAT: every client→server edge dialled a ClusterIP; the row keeps it and names the Service', async (t) => {
  const b = generateInterval(config(), 3);
  let dns = 0;
  for (let r = 0; r < b.length; r++) {
    const f = readFlow(b, r);
    if (!f.sourceIsClient) {
      if (b.flags[r]! & FLAG_HAS_ORIGINAL_DST) t.fail(`reply row ${r} carries an original destination`);
      continue;
    }
    if (!/^10\.(9[6-9]|10\d|11[01])\./.test(f.originalDestinationAddress ?? '')) t.fail(`row ${r}: ${f.originalDestinationAddress}`);
    if (!/^10\.244\./.test(f.destinationAddress)) t.fail(`row ${r}: translated destination is a pod, got ${f.destinationAddress}`);
    const svc = f.attributes?.['destination.k8s.service.name'];
    if (!svc) t.fail(`row ${r}: no service name`);
    if (b.protocol[r] === PROTO_UDP) {
      dns++;
      t.same([f.originalDestinationAddress, f.originalDestinationPort, svc, f.attributes?.['destination.k8s.namespace.name']],
        ['10.96.0.10', 53, 'kube-dns', 'kube-system'], `DNS row ${r} dialled kube-dns`, { diagnostic: false });
    } else if (f.originalDestinationPort === f.destinationPort && f.destinationPort === 8080) {
      t.fail(`row ${r}: web services map port 80 to 8080`);
    }
  }
  t.ok(dns > 0, `${dns} DNS flows`);
});

t.test('Zipf skew is visible in the top talker share; exponent 0 is flat', async (t) => {
  const topShare = (zipf: number) => {
    const perPair = new Map<string, number>();
    let n = 0;
    for (let i = 0; i < 5; i++) {
      const b = generateInterval(config({ zipf_exponent: zipf, connections_per_second: 200 }), i);
      for (let r = 0; r < b.length; r++) {
        if (!(b.flags[r]! & FLAG_SOURCE_IS_CLIENT) || b.protocol[r] !== PROTO_TCP) continue;
        const key = ['source', 'destination'].map((s) =>
          `${b.getAttribute(r, `${s}.k8s.namespace.name`)}/${b.getAttribute(r, `${s}.k8s.workload.name`)}`).join('>');
        perPair.set(key, (perPair.get(key) ?? 0) + 1);
        n++;
      }
    }
    return Math.max(...perPair.values()) / n;
  };
  const flat = topShare(0);
  const skewed = topShare(1.1);
  t.ok(skewed > 3 * flat, `top pair carries ${(skewed * 100).toFixed(1)}% of connections with s=1.1, ${(flat * 100).toFixed(1)}% with s=0`);
  t.ok(skewed > 0.15, 'the top talker is far above an even share');
});

t.test('IPv6 when asked: dual-stack pods and ClusterIPs', async (t) => {
  const v4 = generateInterval(config(), 0);
  t.ok(v4.family.subarray(0, v4.length).every((f) => f === 4), 'ipv6_ratio 0: all IPv4');
  const v6 = generateInterval(config({ ipv6_ratio: 1 }), 0);
  for (let r = 0; r < v6.length; r++) {
    const f = readFlow(v6, r);
    if (v6.family[r] !== 6 || !f.sourceAddress.startsWith('fd00:10:244:') || !f.destinationAddress.startsWith('fd00:10:244:')) {
      t.fail(`row ${r}: ${f.sourceAddress} → ${f.destinationAddress}`);
    }
    if (f.sourceIsClient && !f.originalDestinationAddress?.startsWith('fd00:10:96:')) t.fail(`row ${r}: VIP ${f.originalDestinationAddress}`);
  }
  const mixed = generateInterval(config({ ipv6_ratio: 0.5, flows_per_interval: 400 }), 0);
  const share = mixed.family.subarray(0, mixed.length).filter((f) => f === 6).length / mixed.length;
  t.ok(share > 0.35 && share < 0.65, `ipv6_ratio 0.5 gives ${share.toFixed(2)} IPv6 rows`);
});

t.test('long-lived connections persist across intervals and are replaced when they end', async (t) => {
  const c = config({ flows_per_interval: 50, connections_per_second: 0, udp_ratio: 0 });
  const key = (b: FlowBatch, r: number) => `${readFlow(b, r).sourceAddress}:${b.srcPort[r]}`;
  const a = generateInterval(c, 10);
  const b = generateInterval(c, 11);
  let same = 0;
  let replaced = 0;
  for (let r = 0; r < a.length; r += 2) {
    if (key(a, r) === key(b, r)) same++;
    if (a.flags[r]! & FLAG_CONNECTION_ENDED) {
      replaced++;
      t.equal(b.counters.opened[r], 1, 'the replacement opens in the next interval');
    }
  }
  t.ok(same >= 40, `${same} of 50 connections continue`);
  t.ok(same + replaced === 50, 'every flow either continues or was replaced');
});

t.test('a large cluster stays within the pod-address plan', async (t) => {
  const c = config({ namespaces: 200, workloads_per_namespace: 16, pods_per_workload: 16, flows_per_interval: 2000 });
  const b = generateInterval(c, 0);
  t.ok(b.length >= 2 * (2000 + 50));
  const pods = new Set<string>();
  for (let r = 0; r < b.length; r++) pods.add(readFlow(b, r).sourceAddress);
  t.ok(pods.size > 1000, `${pods.size} distinct source pods`);
});

t.test('event rows: one per pod interval of DNS lookups, one drop per refused connect, a handshake time per opened connection', async (t) => {
  const c = config({ flows_per_interval: 300, connections_per_second: 400 });
  const rcodes = new Map<string, number>();
  for (let i = 0; i < 6; i++) {
    const b = generateInterval(c, i);
    const paired = 2 * (300 + churnCount(c, i));
    let udpPairs = 0;
    let failed = 0;
    for (let r = 0; r < paired; r += 2) {
      const req = readFlow(b, r);
      if (req.transport === 'udp') udpPairs++;
      failed += req.counters?.failed ?? 0;
      if (req.counters?.opened && !(req.counters.connectUs! >= req.counters.rttUs!)) t.fail(`row ${r}: opened without a handshake time of at least one RTT`);
      if (!req.counters?.opened && req.counters?.connectUs) t.fail(`row ${r}: a handshake time without an open`);
    }
    let lookups = 0;
    let drops = 0;
    for (let r = paired; r < b.length; r++) {
      const e = readFlow(b, r);
      if (!e.sourceIsClient) t.fail(`event row ${r} is not client → server`);
      if (e.counters?.bytes || e.counters?.packets) t.fail(`event row ${r} carries traffic`);
      if (e.counters?.dnsRequests) {
        lookups++;
        if (e.transport !== 'udp' || e.destinationPort !== 53 || !(e.counters.dnsDurationUs! > 0)) t.fail(`row ${r}: a lookup row to udp/53 with a sample`);
        const rc = e.attributes?.['dns.response_code'] ?? '?';
        rcodes.set(rc, (rcodes.get(rc) ?? 0) + 1);
        if (!['A', 'AAAA'].includes(e.attributes?.['dns.question.type'] ?? '')) t.fail(`row ${r}: query type`);
      } else {
        drops++;
        t.equal(e.attributes?.['drop.reason'], 'no_socket');
      }
    }
    t.equal(lookups, udpPairs, `interval ${i}: one lookup row per DNS flow`);
    t.equal(drops, failed, `interval ${i}: one drop row per refused connect`);
  }
  t.ok((rcodes.get('NOERROR') ?? 0) > (rcodes.get('NXDOMAIN') ?? 0) && (rcodes.get('NXDOMAIN') ?? 0) > 0, `answers: ${JSON.stringify(Object.fromEntries(rcodes))}`);
});
