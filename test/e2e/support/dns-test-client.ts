// A DNS client for the end-to-end tests, run inside a test namespace:
//   node dns-test-client.ts SERVER PORT udp|udp-connected|tcp WAIT_MS NAME[/TYPE]...
// sends one query per name, one after the other (ids 1, 2, ...), each waiting
// for its response up to WAIT_MS; over TCP all on one connection. Prints one
// JSON line: {"localPort":n,"results":[{"name","rcode"(null: none),"ms"}]}.
// Mode raw-udp sends each argument as a hex-encoded datagram instead (no
// waiting, results empty): malformed messages on the DNS port.

import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { encodeQuery, rcodeOf, TYPE_A } from './dns-wire.ts';

const [server = '', portArg = '53', mode = 'udp', waitArg = '1000', ...names] = process.argv.slice(2);
const port = Number(portArg);
const waitMs = Number(waitArg);

interface Result { name: string; rcode: number | null; ms: number }

type Send = (q: Buffer) => void;
let onMessage: ((m: Buffer) => void) | undefined;

async function run(send: Send): Promise<Result[]> {
  const results: Result[] = [];
  for (const [i, spec] of names.entries()) {
    const [name = '', type = String(TYPE_A)] = spec.split('/');
    const id = i + 1;
    const start = performance.now();
    const rcode = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => { onMessage = undefined; resolve(null); }, waitMs);
      onMessage = (m) => {
        if (m.readUInt16BE(0) !== id) return;
        clearTimeout(timer);
        onMessage = undefined;
        resolve(rcodeOf(m));
      };
      send(encodeQuery(id, name, Number(type)));
    });
    results.push({ name, rcode, ms: performance.now() - start });
  }
  return results;
}

let localPort = 0;
let results: Result[];
if (mode === 'raw-udp') {
  const sock = createSocket(server.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((res) => sock.bind(0, res));
  localPort = sock.address().port;
  for (const hex of names) await new Promise<void>((res, rej) => sock.send(Buffer.from(hex, 'hex'), port, server, (e) => (e ? rej(e) : res())));
  results = [];
  sock.close();
} else if (mode === 'tcp') {
  const sock = connect({ host: server, port });
  await new Promise<void>((res, rej) => { sock.once('connect', res); sock.once('error', rej); });
  localPort = sock.localPort ?? 0;
  let buf = Buffer.alloc(0);
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const m = buf.subarray(2, 2 + buf.readUInt16BE(0));
      buf = buf.subarray(2 + m.length);
      onMessage?.(m);
    }
  });
  results = await run((q) => {
    const framed = Buffer.alloc(2 + q.length);
    framed.writeUInt16BE(q.length, 0);
    q.copy(framed, 2);
    sock.write(framed);
  });
  sock.end();
} else {
  const sock = createSocket(server.includes(':') ? 'udp6' : 'udp4');
  sock.on('message', (m) => onMessage?.(m));
  await new Promise<void>((res) => sock.bind(0, res));
  localPort = sock.address().port;
  if (mode === 'udp-connected') await new Promise<void>((res) => sock.connect(port, server, res));
  results = await run(mode === 'udp-connected' ? (q) => sock.send(q) : (q) => sock.send(q, port, server));
  sock.close();
}
process.stdout.write(`${JSON.stringify({ localPort, results })}\n`);
