import t from 'tap';
import { FlowBatch } from '../../src/pdata/flow-batch.ts';
import { appendFlow, readFlow, type FlowRecord } from '../../src/pdata/flow-record.ts';

const v4: FlowRecord = {
  transport: 'tcp', sourceAddress: '10.244.1.7', sourcePort: 41822,
  destinationAddress: '10.244.2.9', destinationPort: 443,
  originalDestinationAddress: '10.96.0.10', originalDestinationPort: 80,
  sourceIsClient: true, observer: 'source', connectionEnded: false,
  counters: { bytes: 2 ** 40 + 3, packets: 7, opened: 1, rttUs: 250 },
  attributes: { 'source.k8s.pod.name': 'checkout-1', 'destination.k8s.pod.name': 'payments-0' },
};
const v6: FlowRecord = {
  transport: 'udp', sourceAddress: 'fd00::1', sourcePort: 5353,
  destinationAddress: '2001:db8::a:0:0:1', destinationPort: 53,
  sourceIsClient: false, observer: 'destination', connectionEnded: true,
  counters: { bytes: 100, packets: 1 }, attributes: {},
};

t.test('rows round-trip through the columns, IPv4 and IPv6', async (t) => {
  const b = new FlowBatch(1);
  appendFlow(b, v4);
  appendFlow(b, v6);
  t.equal(b.length, 2);
  t.ok(b.capacity >= 2, 'grew past its initial capacity');
  t.same(readFlow(b, 0), v4);
  t.same(readFlow(b, 1), { ...v6, destinationAddress: '2001:db8::a:0:0:1' });
  t.equal(b.family[0], 4);
  t.equal(b.family[1], 6);
  t.equal(b.getAttribute(1, 'source.k8s.pod.name'), undefined, 'unset attribute in a later row');
});

t.test('clone is deep; transfer list covers every column', async (t) => {
  const b = new FlowBatch(4);
  appendFlow(b, v4);
  const c = b.clone();
  c.counters.bytes[0] = 1;
  c.setAttribute(0, 'source.k8s.pod.name', 'other');
  t.equal(b.counters.bytes[0], 2 ** 40 + 3);
  t.equal(b.getAttribute(0, 'source.k8s.pod.name'), 'checkout-1');
  const buffers = b.transferList();
  t.equal(new Set(buffers).size, buffers.length, 'each column owns its buffer');
});

t.test('a batch crosses a worker boundary by transfer, not copy', async (t) => {
  const { MessageChannel } = await import('node:worker_threads');
  const b = new FlowBatch(8);
  appendFlow(b, v4);
  const { port1, port2 } = new MessageChannel();
  const got = new Promise<FlowBatch>((resolve) =>
    port2.once('message', (m) => resolve(FlowBatch.fromTransfer(m))));
  port1.postMessage(b.toTransfer(), b.transferList());
  const r = await got;
  port1.close();
  t.equal(b.srcAddr.byteLength, 0, 'the sender no longer holds the buffers');
  t.same(readFlow(r, 0), v4);
});

t.test('release frees the columns at once and leaves an empty batch that can be filled again', async (t) => {
  const b = new FlowBatch(16_384); // columns past releaseLargeBuffer's 64 KiB floor
  for (let i = 0; i < 3; i++) appendFlow(b, v4);
  const bytes = b.counters.bytes;
  const src = b.srcAddr;
  const pod = b.attributes.get('source.k8s.pod.name')!;
  b.release();
  t.equal(bytes.buffer.byteLength, 0, 'a counter column\'s memory is freed');
  t.equal(src.buffer.byteLength, 0, 'an address column\'s memory is freed');
  t.equal(pod.buffer.byteLength, 0, 'an attribute column\'s memory is freed');
  t.equal(b.length, 0);
  t.equal(b.attributes.size, 0);
  t.equal(b.strings.values().length, 0);
  appendFlow(b, v6);
  t.same(readFlow(b, 0), v6, 'a released batch grows again on its next row');
});

t.test('moveOut hands the columns over whole and leaves the batch empty', async (t) => {
  const { MessageChannel } = await import('node:worker_threads');
  const b = new FlowBatch(8);
  appendFlow(b, v4);
  appendFlow(b, v6);
  const bytes = b.counters.bytes;
  const moved = b.moveOut()!;
  t.ok(moved, 'every column is a whole buffer of its own');
  t.equal(b.length, 0, 'the batch is empty');
  t.equal(b.counters.bytes.length, 0);
  t.equal(moved.transfer.counters.bytes, bytes, 'the columns themselves, not copies');
  const { port1, port2 } = new MessageChannel();
  const got = new Promise<FlowBatch>((resolve) => port2.once('message', (m) => resolve(FlowBatch.fromTransfer(m))));
  port1.postMessage(moved.transfer, moved.transferList);
  const r = await got;
  port1.close();
  t.same([readFlow(r, 0), readFlow(r, 1)], [v4, { ...v6, destinationAddress: '2001:db8::a:0:0:1' }], 'the rows arrive whole');
  appendFlow(b, v6);
  t.same(readFlow(b, 0), { ...v6, destinationAddress: '2001:db8::a:0:0:1' }, 'the emptied batch takes rows again');
});

t.test('moveOut refuses a batch whose column shares a buffer, and leaves it as it was', async (t) => {
  const b = new FlowBatch(8);
  appendFlow(b, v4);
  const wider = new Uint8Array(b.capacity * 2);
  wider.set(b.flags);
  b.flags = wider.subarray(0, b.capacity);
  t.equal(b.moveOut(), undefined, 'a view into a larger buffer cannot move alone');
  t.same(readFlow(b, 0), v4, 'untouched');
  const released = new FlowBatch(8);
  appendFlow(released, v4);
  released.release();
  t.equal(released.moveOut(), undefined, 'a released batch (its empty columns share one buffer) has nothing to move');
});

t.test('newAttributeColumn: an unfilled column the caller writes; rows added later are unset in it', async (t) => {
  const b = new FlowBatch(4);
  appendFlow(b, v6);
  const col = b.newAttributeColumn('x');
  col[0] = b.strings.intern('one');
  t.throws(() => b.newAttributeColumn('x'), /exists already/);
  appendFlow(b, v6);
  for (let i = 0; i < 5; i++) appendFlow(b, v6); // past the capacity: grows
  t.equal(b.getAttribute(0, 'x'), 'one');
  for (let i = 1; i < b.length; i++) t.equal(b.getAttribute(i, 'x'), undefined, `row ${i} unset`);
});
