// Addresses outside the cluster: CIDR labels (longest prefix wins) and reverse
// DNS through node:dns against a DNS server on loopback, with a bounded cache.

import t from 'tap';
import { CidrLabels } from '../../../src/processor/k8s_attributes/cidr-labels.ts';
import { ReverseDns } from '../../../src/processor/k8s_attributes/reverse-dns.ts';
import { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { writeAddress } from '../../../src/pdata/ip-address.ts';
import { pod } from '../../support/fake-kube-apiserver/objects.ts';
import { PtrServer } from './dns-server.ts';
import { flow, side, startRig } from './harness.ts';

t.test('CIDR labels: longest prefix, IPv4 and IPv6 kept apart', async (t) => {
  const c = new CidrLabels({ '10.0.0.0/8': 'vpc', '10.1.0.0/16': 'vpc-db', '0.0.0.0/0': 'internet', 'fd00::/8': 'ula' });
  const label = (ip: string) => {
    const b = new Uint8Array(16);
    writeAddress(b, 0, ip);
    return c.match(b, 0);
  };
  t.equal(label('10.2.3.4'), 'vpc');
  t.equal(label('10.1.3.4'), 'vpc-db', 'the longer prefix wins');
  t.equal(label('8.8.8.8'), 'internet');
  t.equal(label('fd00::1'), 'ula');
  t.equal(label('2001:db8::1'), undefined, '0.0.0.0/0 does not match IPv6');
});

t.test('reverse DNS: answered from a loopback DNS server, cached, bounded', async (t) => {
  const dns = new PtrServer({ '203.0.113.9': 'api.example.com', '198.51.100.7': 'cdn.example.net' });
  await dns.start();
  t.teardown(() => dns.stop());
  const r = new ReverseDns({ servers: [`127.0.0.1:${dns.port}`], cacheSize: 2, ttlMs: 60_000, negativeTtlMs: 60_000, timeoutMs: 1000, maxInFlight: 4 });
  t.teardown(() => r.close());
  t.equal(r.lookup('203.0.113.9'), undefined, 'first lookup schedules a query, never waits');
  await r.idle();
  t.equal(r.lookup('203.0.113.9'), 'api.example.com');
  t.equal(r.lookup('192.0.2.1'), undefined);
  await r.idle();
  t.equal(r.lookup('192.0.2.1'), undefined, 'NXDOMAIN cached as no name');
  const queries = dns.queries.length;
  r.lookup('192.0.2.1');
  t.equal(dns.queries.length, queries, 'negative answer served from the cache');
  r.lookup('198.51.100.7');
  await r.idle();
  t.equal(r.size, 2, 'cache bounded by cache_size');
});

t.test('the processor adds cidr.label and domain to ends outside the cluster only', async (t) => {
  const dns = new PtrServer({ '203.0.113.9': 'api.example.com', '10.244.8.1': 'never-asked.example.com' });
  await dns.start();
  t.teardown(() => dns.stop());
  const rig = await startRig(t, {
    cidr_labels: { '10.0.0.0/8': 'vpc', '0.0.0.0/0': 'internet' },
    reverse_dns: { enabled: true, servers: [`127.0.0.1:${dns.port}`] },
  }, { seed: (api) => { api.upsert('pods', pod({ namespace: 'shop', name: 'web-1', ip: '10.244.8.1' })); } });
  const run = () => rig.run([flow('10.244.8.1', '203.0.113.9'), flow('10.244.8.1', '10.50.0.1')]);
  await run();
  await rig.processor.reverseDns!.idle();
  const rows = await run();
  t.same(side(rows[0]!, 'destination'), { 'cidr.label': 'internet', domain: 'api.example.com' });
  t.same(side(rows[1]!, 'destination'), { 'cidr.label': 'vpc' }, 'no PTR record: label only');
  t.equal(side(rows[0]!, 'source')['k8s.pod.name'], 'web-1');
  t.notOk('cidr.label' in side(rows[0]!, 'source'), 'a pod gets no CIDR label');
  t.notOk(dns.queries.includes('1.8.244.10.in-addr.arpa'), 'pods are never reverse-resolved');
});

t.test('passthrough: no API traffic, CIDR labels still applied', async (t) => {
  const { K8sAttributesProcessor } = await import('../../../src/processor/k8s_attributes/processor.ts');
  const { decodeConfig } = await import('./harness.ts');
  const { CollectingConsumer } = await import('../../support/collecting-consumer.ts');
  const { testSettings } = await import('../../support/test-settings.ts');
  const { appendFlow, readFlow } = await import('../../../src/pdata/flow-record.ts');
  const sink = new CollectingConsumer();
  const p = new K8sAttributesProcessor(testSettings('k8s_attributes'), decodeConfig({ passthrough: true, cidr_labels: { '0.0.0.0/0': 'internet' } }), sink);
  await p.start();
  t.teardown(() => p.shutdown());
  const b = new FlowBatch(1);
  appendFlow(b, flow('10.244.8.1', '8.8.8.8'));
  await p.consume(b);
  t.same(readFlow(sink.batches[0]!, 0).attributes, { 'source.cidr.label': 'internet', 'destination.cidr.label': 'internet' });
  t.equal(p.cache, undefined, 'no cache, no watches');
});
