// Drop-reason names from the kernel's enum: lower case without the prefix,
// markers left out, values the enum lacks named reason_<n>, no reason at all
// (kernels before 5.17) named unknown; and back from names to values.

import t from 'tap';
import { PF_DROP_CONSTANTS as K } from '../../../../src/native/ebpf-drops.ts';
import { DropReasons, reasonName } from '../../../../src/receiver/ebpf/drops/drop-reasons.ts';
import { KERNEL_REASONS } from './drop-entries.ts';

t.test('kernel names → drop.reason values', async (t) => {
  t.equal(reasonName('SKB_DROP_REASON_NETFILTER_DROP'), 'netfilter_drop');
  t.equal(reasonName('SKB_DROP_REASON_NO_SOCKET'), 'no_socket');
  t.equal(reasonName('SKB_DROP_REASON_TCP_CSUM'), 'tcp_csum');
  t.equal(reasonName('SKB_CONSUMED'), 'consumed');
  t.equal(reasonName('SKB_DROP_REASON_MAX'), undefined, 'a marker, not a reason');
  t.equal(reasonName('SKB_DROP_REASON_SUBSYS_MASK'), undefined);
});

t.test('value → name and back', async (t) => {
  const r = new DropReasons(KERNEL_REASONS);
  t.ok(r.known);
  t.equal(r.name(12), 'netfilter_drop');
  t.equal(r.name(3), 'no_socket');
  t.equal(r.name(104), 'queue_purge');
  t.equal(r.name(128), 'reason_128', 'the MAX marker is no name');
  t.equal(r.name(77), 'reason_77', 'a value this enum lacks');
  t.equal(r.name(0x30001), 'reason_196609', 'a subsystem reason');
  t.equal(r.name(K.PF_DROP_REASON_UNKNOWN), 'unknown', 'kernel without reasons');
  t.equal(r.value('netfilter_drop'), 12);
  t.equal(r.value('not_specified'), 2);
  t.equal(r.value('reason_77'), 77);
  t.equal(r.value('unknown'), K.PF_DROP_REASON_UNKNOWN);
  t.equal(r.value('no_such_reason'), undefined);
  t.equal(r.value('max'), undefined);
  t.same(r.names(), ['not_dropped_yet', 'consumed', 'not_specified', 'no_socket', 'tcp_csum', 'netfilter_drop', 'queue_purge']);
});

t.test('no BTF enum: every value is reason_<n>', async (t) => {
  const r = new DropReasons([]);
  t.notOk(r.known);
  t.equal(r.name(12), 'reason_12');
  t.equal(r.value('reason_12'), 12);
  t.equal(r.value('netfilter_drop'), undefined);
});
