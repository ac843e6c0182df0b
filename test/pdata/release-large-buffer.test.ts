// releaseLargeBuffer frees a large buffer's bytes at once, and leaves alone
// what may be shared: small buffers (Node's Buffer pool slabs) and buffers
// already gone.

import t from 'tap';
import { releaseLargeBuffer } from '../../src/pdata/release-large-buffer.ts';

t.test('a large buffer is released: its views see no bytes any more', async (t) => {
  const body = new Uint8Array(5 * 1024 * 1024).subarray(0, 4_000_000);
  releaseLargeBuffer(body);
  t.equal(body.buffer.byteLength, 0, 'the buffer is detached');
  t.equal(body.length, 0, 'the view is empty');
  releaseLargeBuffer(body);
  t.pass('releasing twice is harmless');
});

t.test('a small buffer (possibly a slice of the shared Buffer pool) is left alone', async (t) => {
  const a = Buffer.from('one small request');
  const b = Buffer.from('another one');
  releaseLargeBuffer(a);
  t.equal(a.toString(), 'one small request');
  t.equal(b.toString(), 'another one', 'the pool neighbour is intact');
});

t.test('a SharedArrayBuffer view is left alone', async (t) => {
  const shared = new Uint8Array(new SharedArrayBuffer(128 * 1024));
  releaseLargeBuffer(shared);
  t.equal(shared.length, 128 * 1024);
});

t.test('a buffer may be given itself instead of a view of it', async (t) => {
  const buffer = new ArrayBuffer(256 * 1024);
  const view = new Float64Array(buffer);
  releaseLargeBuffer(buffer);
  t.equal(buffer.byteLength, 0);
  t.equal(view.length, 0, 'every view of it is empty');
});
