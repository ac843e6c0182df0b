// OtlpHttpTransport and the bytes it is given: the server receives them
// intact, and an owned body is freed only once nothing reads it any more
// (compressed: once compressed; uncompressed, what the socket writes: once
// the request is closed), and a body the caller keeps (the logs/traces queue
// resends it) is never touched.

import t, { type Test } from 'tap';
import { ClientRequest, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { OtlpHttpTransport } from '../../../../src/exporter/internal/otlp/otlp-http-transport.ts';

const SIZE = 256 * 1024;

async function sink(t: Test): Promise<{ url: string; received: Buffer[] }> {
  const received: Buffer[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const raw = Buffer.concat(parts);
      received.push(req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics`, received };
}

function body(): Uint8Array {
  const b = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) b[i] = (i * 31) & 0xff;
  return b;
}

for (const compression of ['gzip', 'none'] as const) {
  for (const owned of [true, false]) {
    t.test(`${compression}, ${owned ? 'owned' : 'kept by the caller'}`, async (t) => {
      const s = await sink(t);
      const transport = new OtlpHttpTransport({ url: s.url, headers: {}, contentType: 'application/x-protobuf', compression, timeoutMs: 5000 });
      t.teardown(() => transport.close());
      const b = body();
      const expected = Buffer.from(body());
      await transport.send(b, undefined, owned);
      t.equal(s.received.length, 1);
      t.ok(s.received[0]!.equals(expected), 'the server got the bytes intact');
      if (compression === 'none' && owned) {
        // The request closes just after the response ends: a few turns of the event loop at most.
        for (let i = 0; i < 20 && b.byteLength > 0; i++) await new Promise((r) => setImmediate(r));
      }
      t.equal(b.byteLength, owned ? 0 : SIZE, owned ? 'freed once nothing reads it' : 'left as it was');
    });
  }
}

t.test('gzip: the compressed bytes are freed once the request is closed, not left for a full collection', async (t) => {
  const s = await sink(t);
  const transport = new OtlpHttpTransport({ url: s.url, headers: {}, contentType: 'application/x-protobuf', compression: 'gzip', timeoutMs: 5000 });
  t.teardown(() => transport.close());
  // Random bytes: gzip cannot shrink them below the 64 KiB that releaseLargeBuffer frees.
  const b = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) b[i] = Math.floor(Math.random() * 256);
  const expected = Buffer.from(b);
  const written: Buffer[] = [];
  const end = ClientRequest.prototype.end;
  ClientRequest.prototype.end = function (this: ClientRequest, ...args: unknown[]) {
    if (Buffer.isBuffer(args[0])) written.push(args[0]);
    return (end as (...a: unknown[]) => ClientRequest).apply(this, args);
  } as typeof end;
  t.teardown(() => { ClientRequest.prototype.end = end; });
  await transport.send(b, undefined, true);
  t.ok(s.received[0]!.equals(expected), 'the server got the bytes intact');
  t.equal(written.length, 1);
  // The request closes just after the response ends: a few turns of the event loop at most.
  for (let i = 0; i < 20 && written[0]!.byteLength > 0; i++) await new Promise((r) => setImmediate(r));
  t.equal(written[0]!.byteLength, 0, 'the compressed payload is freed');
});
