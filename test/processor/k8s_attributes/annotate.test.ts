// annotateBatch on its own: every row named after the pod at each end, however
// many distinct addresses a batch holds (the IPv4 table grows past its first
// size), for IPv6 and IPv4 rows mixed, for an address column that is a view at
// an offset no Int32Array can read in place, and with the misses counted.

import t from 'tap';
import { FlowBatch, NO_STRING } from '../../../src/pdata/flow-batch.ts';
import { writeAddress } from '../../../src/pdata/ip-address.ts';
import { annotateBatch, type AnnotateContext } from '../../../src/processor/k8s_attributes/annotate.ts';
import { METADATA_NAMES } from '../../../src/processor/k8s_attributes/attribute-names.ts';
import { K8sCache } from '../../../src/processor/k8s_attributes/cache.ts';
import { CidrLabels } from '../../../src/processor/k8s_attributes/cidr-labels.ts';
import { pod } from '../../support/fake-kube-apiserver/objects.ts';

const PODS = 3000;
const v4 = (i: number) => `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const v6 = (i: number) => `fd00::${(i + 1).toString(16)}`;

function context(): AnnotateContext {
  const cache = new K8sCache({ metadata: METADATA_NAMES, tagRules: [] });
  const h = cache.handler('pods');
  h.beginSync();
  for (let i = 0; i < PODS; i++) {
    h.upsert(pod({ uid: `uid-${i}`, namespace: `ns-${i % 7}`, name: `pod-${i}`, node: 'node-a', ips: [v4(i), v6(i)] }));
  }
  h.endSync();
  return { cache, cidr: new CidrLabels({}), dns: undefined, wantService: true, wantNamespace: true, bindings: new Map(), now: Date.now };
}

/** Rows between pseudo-random pods; every 5th row is IPv6, every 11th destination is outside the cluster. */
function rows(n: number): { batch: FlowBatch; src: number[]; dst: number[] } {
  const batch = new FlowBatch(n);
  const src: number[] = [];
  const dst: number[] = [];
  for (let r = 0; r < n; r++) {
    const i = batch.addRow();
    const a = (r * 7919) % PODS;
    const b = r % 11 === 0 ? -1 : (r * 104729 + 13) % PODS;
    const six = r % 5 === 0;
    writeAddress(batch.srcAddr, i * 16, six ? v6(a) : v4(a));
    writeAddress(batch.dstAddr, i * 16, b < 0 ? (six ? 'fd99::1' : '172.16.0.1') : six ? v6(b) : v4(b));
    batch.protocol[i] = 6;
    src.push(a);
    dst.push(b);
  }
  return { batch, src, dst };
}

t.test('every row is named after the pods at both ends, past the first table size', async (t) => {
  const ctx = context();
  const { batch, src, dst } = rows(20_000);
  const stats = annotateBatch(batch, ctx);
  let wrong = 0;
  for (let i = 0; i < batch.length; i++) {
    if (batch.getAttribute(i, 'source.k8s.pod.name') !== `pod-${src[i]}`) wrong++;
    if (batch.getAttribute(i, 'source.k8s.namespace.name') !== `ns-${src[i]! % 7}`) wrong++;
    const want = dst[i]! < 0 ? undefined : `pod-${dst[i]}`;
    if (batch.getAttribute(i, 'destination.k8s.pod.name') !== want) wrong++;
  }
  t.equal(wrong, 0, 'no row named wrongly');
  t.equal(stats.misses, Math.ceil(20_000 / 11), 'one miss per destination outside the cluster');
});

t.test('an address column at an unaligned offset is read byte by byte, with the same names', async (t) => {
  const ctx = context();
  const { batch, src } = rows(3000);
  const shifted = new Uint8Array(batch.srcAddr.length + 1);
  shifted.set(batch.srcAddr, 1);
  batch.srcAddr = shifted.subarray(1);
  annotateBatch(batch, ctx);
  let wrong = 0;
  for (let i = 0; i < batch.length; i++) if (batch.getAttribute(i, 'source.k8s.pod.name') !== `pod-${src[i]}`) wrong++;
  t.equal(wrong, 0);
});

t.test('a row whose end is unknown keeps the values it already had', async (t) => {
  const ctx = context();
  const { batch, dst } = rows(100);
  const col = batch.attributeColumn('destination.k8s.pod.name');
  const kept = batch.strings.intern('set-upstream');
  col.fill(kept);
  annotateBatch(batch, ctx);
  for (let i = 0; i < batch.length; i++) {
    const v = batch.getAttribute(i, 'destination.k8s.pod.name');
    if (dst[i]! < 0) t.equal(v, 'set-upstream', `row ${i}: outside the cluster, left as it was`);
    else if (v !== `pod-${dst[i]}`) t.fail(`row ${i}: ${v}`);
  }
  t.equal(col.indexOf(NO_STRING), -1, 'no value cleared');
});

t.test('with the columns read downstream given, only those are written, with the same values', async (t) => {
  const { batch: full } = rows(5000);
  const { batch: some } = rows(5000);
  annotateBatch(full, context());
  const wanted = new Set(['source.k8s.namespace.name', 'destination.k8s.pod.name', 'not.a.k8s.name']);
  annotateBatch(some, context(), wanted);
  t.same([...some.attributes.keys()].sort(), ['destination.k8s.pod.name', 'source.k8s.namespace.name'], 'no other column');
  t.ok(full.attributes.has('destination.k8s.service.name') && full.attributes.has('source.k8s.pod.uid'), 'without a set, every name is written');
  let differ = 0;
  for (const c of some.attributes.keys()) for (let i = 0; i < some.length; i++) if (some.getAttribute(i, c) !== full.getAttribute(i, c)) differ++;
  t.equal(differ, 0, 'the columns written hold what a full naming writes');
  const none = rows(100).batch;
  annotateBatch(none, context(), new Set());
  t.equal(none.attributes.size, 0, 'nothing read downstream: nothing written');
});
