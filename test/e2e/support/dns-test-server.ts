// A DNS server for the end-to-end tests, run inside a test namespace:
//   node dns-test-server.ts ADDRESS PORT DELAY_MS
// answers over UDP and TCP on ADDRESS:PORT after DELAY_MS, by query name:
//   nx.*   NXDOMAIN        fail.*  SERVFAIL      drop.*  never answers
//   big.*  NOERROR with 60 A records (a response longer than the 512-byte capture)
//   else   NOERROR with one A record (none for other types)
// Prints {"ready":true} once both sockets listen; answers the line "report" on
// stdin with the queries it got ({"udp":n,"tcp":n}); exits when stdin closes.

import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { encodeResponse, RCODE, readQuestion } from './dns-wire.ts';

const [address = '127.0.0.1', portArg = '53', delayArg = '0'] = process.argv.slice(2);
const port = Number(portArg);
const delayMs = Number(delayArg);
const seen = { udp: 0, tcp: 0 };

/** Runs `fn` no sooner than `ms` from now: Node timers may fire a millisecond early, the tests assert durations ≥ the delay. */
function later(fn: () => void, ms: number): void {
  const due = performance.now() + ms;
  const check = () => {
    const left = due - performance.now();
    if (left > 0) setTimeout(check, Math.ceil(left));
    else fn();
  };
  check();
}

/** The response for a query, or undefined for none. */
function answer(query: Buffer): Buffer | undefined {
  const q = readQuestion(query);
  if (!q) return undefined;
  const first = q.name.split('.')[0];
  if (first === 'drop') return undefined;
  if (first === 'nx') return encodeResponse(query, q, RCODE.NXDOMAIN, 0);
  if (first === 'fail') return encodeResponse(query, q, RCODE.SERVFAIL, 0);
  return encodeResponse(query, q, RCODE.NOERROR, first === 'big' ? 60 : 1);
}

const udp = createSocket(address.includes(':') ? 'udp6' : 'udp4');
udp.on('message', (msg, rinfo) => {
  seen.udp++;
  const r = answer(msg);
  if (r) later(() => udp.send(r, rinfo.port, rinfo.address), delayMs);
});

function serveTcp(sock: Socket): void {
  let buf = Buffer.alloc(0);
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
      const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
      buf = buf.subarray(2 + msg.length);
      seen.tcp++;
      const r = answer(msg);
      if (!r) continue;
      const framed = Buffer.alloc(2 + r.length);
      framed.writeUInt16BE(r.length, 0);
      r.copy(framed, 2);
      later(() => { if (!sock.destroyed) sock.write(framed); }, delayMs);
    }
  });
  sock.on('error', () => sock.destroy());
}

const tcp = createServer(serveTcp);
let listening = 0;
const ready = () => {
  if (++listening === 2) process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
};
udp.bind(port, address, ready);
tcp.listen(port, address, ready);
createInterface({ input: process.stdin }).on('line', (l) => {
  if (l.trim() === 'report') process.stdout.write(`${JSON.stringify(seen)}\n`);
}).on('close', () => process.exit(0));
