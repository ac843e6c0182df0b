// Needs root: network namespaces, BPF. Real TCP traffic between two test
// namespaces whose addresses are pods in a fake Kubernetes API server, through
// the ebpf receiver → k8s_attributes (real @kubernetes/client-node over HTTP)
// → prometheus exporter; the /metrics output names both ends as workloads.

import t from 'tap';
import { defaultsOf, type Problem } from '../../src/config/schema.ts';
import type { ConsumerComponent } from '../../src/component/component.ts';
import { ebpfReceiverFactory } from '../../src/receiver/ebpf/factory.ts';
import { ebpfConfigSchema } from '../../src/receiver/ebpf/config.ts';
import { k8sAttributesFactory } from '../../src/processor/k8s_attributes/factory.ts';
import { prometheusExporterFactory } from '../../src/exporter/prometheus/factory.ts';
import type { PrometheusFlowExporter } from '../../src/exporter/prometheus/prometheus-exporter.ts';
import { SelfTelemetry } from '../../src/service/telemetry/self-telemetry.ts';
import { testSettings } from '../support/test-settings.ts';
import { FakeKubeApiServer } from '../support/fake-kube-apiserver/server.ts';
import { writeKubeconfig } from '../support/fake-kube-apiserver/kubeconfig.ts';
import { node, pod, service, endpointSlice } from '../support/fake-kube-apiserver/objects.ts';
import { createNetPair } from './support/ebpf-netns.ts';

const net = createNetPair(t, 'k8sn', 61);

const api = new FakeKubeApiServer();
api.upsert('nodes', node('node-a', '192.168.250.10'));
api.upsert('pods', pod({
  namespace: 'shop', name: 'checkout-6f7c9d8b4-abcde', ip: net.clientV4, node: 'node-a',
  owner: { kind: 'ReplicaSet', name: 'checkout-6f7c9d8b4' }, labels: { 'pod-template-hash': '6f7c9d8b4' },
}));
api.upsert('pods', pod({ namespace: 'shop', name: 'payments-0', ip: net.serverV4, node: 'node-a', owner: { kind: 'StatefulSet', name: 'payments' } }));
api.upsert('services', service('shop', 'payments', '10.96.250.20'));
api.upsert('endpointslices', endpointSlice('shop', 'payments', [net.serverV4]));
await api.start();
t.teardown(() => api.stop());

function decode<C>(f: { configSchema: { decodeOrDefault(v: unknown, p: string[], pr: Problem[]): C | undefined } }, raw: unknown): C {
  const problems: Problem[] = [];
  const c = f.configSchema.decodeOrDefault(raw, [], problems);
  if (!c || problems.length) throw new Error(JSON.stringify(problems));
  return c;
}

const telemetry = new SelfTelemetry();
const exporter = prometheusExporterFactory.create(testSettings('prometheus', { telemetry }),
  decode(prometheusExporterFactory, { endpoint: '127.0.0.1:0' })) as PrometheusFlowExporter;
const processor: ConsumerComponent = k8sAttributesFactory.create(testSettings('k8s_attributes', { telemetry }), decode(k8sAttributesFactory, {
  auth_type: 'kubeConfig', kubeconfig_path: writeKubeconfig(api.url, api.token), wait_for_metadata: true,
}), exporter);
const receiver = ebpfReceiverFactory.create(testSettings('ebpf', { telemetry }),
  { ...defaultsOf(ebpfConfigSchema), collection_interval: 200 }, processor);
// Exporter first, receiver last; stopped in reverse.
await exporter.start();
await processor.start();
await receiver.start();
t.teardown(async () => {
  await receiver.shutdown();
  await processor.shutdown();
  await exporter.shutdown();
});

async function scrape(): Promise<string[]> {
  const r = await fetch(`http://127.0.0.1:${exporter.port}/metrics`);
  return (await r.text()).split('\n').filter((l) => l.startsWith('network_flow_bytes_total{'));
}

t.test('a TCP transfer between two "pods" is exported with both workloads named', async (t) => {
  const port = 5061;
  const server = net.spawnTraffic(net.server, ['tcp-server', String(port), '200000', '50000']);
  await server.next();
  const client = net.spawnTraffic(net.client, ['tcp-client', net.serverV4, String(port), '200000', '50000']);
  await client.next();
  client.send('close');
  await client.done;

  const mine = (l: string) => l.includes(`source_address="${net.clientV4}"`) && l.includes(`destination_address="${net.serverV4}"`);
  const reply = (l: string) => l.includes(`source_address="${net.serverV4}"`) && l.includes(`destination_address="${net.clientV4}"`);
  // Until the whole transfer is in: a collection that ran mid-transfer
  // already exported the series with the bytes acked by then, and the rest
  // (and the reply) come with the next collections.
  const complete = (ls: string[]) => ls.some((l) => mine(l) && l.includes('destination_k8s_service_name') && Number(l.split(' ').pop()) >= 200_000)
    && ls.some(reply);
  let lines: string[] = [];
  for (let i = 0; i < 100 && !complete(lines); i++) {
    await new Promise((r) => setTimeout(r, 200));
    lines = await scrape();
  }
  const edge = lines.find(mine);
  t.ok(edge, 'client → server series exported');
  for (const label of [
    'source_k8s_namespace_name="shop"', 'source_k8s_pod_name="checkout-6f7c9d8b4-abcde"',
    'source_k8s_workload_kind="Deployment"', 'source_k8s_workload_name="checkout"', 'source_k8s_deployment_name="checkout"',
    'source_k8s_node_name="node-a"',
    'destination_k8s_pod_name="payments-0"', 'destination_k8s_workload_kind="StatefulSet"',
    'destination_k8s_workload_name="payments"', 'destination_k8s_statefulset_name="payments"',
    'destination_k8s_service_name="payments"',
  ]) t.ok(edge?.includes(label), label);
  const bytes = Number(edge?.split(' ').pop());
  t.ok(bytes >= 200_000, `bytes ${bytes} ≥ the 200000 sent`);
  const back = lines.find(reply);
  t.ok(back?.includes('source_k8s_workload_name="payments"') && back.includes('destination_k8s_workload_name="checkout"'), 'reply edge named the other way round');
  t.equal(telemetry.counter('podflow_k8s_watch_restarts_total', '').get({ resource: 'pods' }), 0, 'no watch restarts');
  server.proc.kill();
});
