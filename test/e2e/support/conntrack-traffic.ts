// Traffic for the conntrack end-to-end tests, run inside a namespace:
//   server NAME PORT SIZE [ADDR]  answers each connection with "NAME\n" + SIZE bytes, then closes
//                               (listens on ADDR, default 0.0.0.0; "::" for IPv6);
//                               prints {"listening":true}, then on stdin "stats" prints {"served":n,"bytes":b}
//   client HOST PORT N CONC     N connections, CONC at a time; prints {"byBackend":{name:count},"failed":n}
//   storm HOST PORT SECONDS CONC  connect/close as fast as possible; prints {"connections":n,"failed":n}

import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';

const [mode, ...args] = process.argv.slice(2);

function out(o: unknown): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

if (mode === 'server') {
  const [name, port, size] = [args[0]!, Number(args[1]), Number(args[2])];
  const body = Buffer.concat([Buffer.from(`${name}\n`), Buffer.alloc(size, 0x61)]);
  let served = 0;
  let bytes = 0;
  const server = createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', () => {
      served++;
      bytes += body.length;
      s.end(body);
    });
  });
  server.listen(port, args[3] ?? '0.0.0.0', () => out({ listening: true }));
  createInterface({ input: process.stdin }).on('line', (l) => {
    if (l === 'stats') out({ served, bytes });
  }).on('close', () => process.exit(0));
} else if (mode === 'client') {
  const [host, port, n, conc] = [args[0]!, Number(args[1]), Number(args[2]), Number(args[3])];
  const byBackend: Record<string, number> = {};
  let failed = 0;
  let started = 0;
  const one = () => new Promise<void>((resolve) => {
    const chunks: Buffer[] = [];
    const s = connect({ host, port }, () => s.write('GET\n'));
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => { failed++; resolve(); });
    s.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      const name = text.slice(0, text.indexOf('\n'));
      byBackend[name] = (byBackend[name] ?? 0) + 1;
      s.end();
    });
    s.on('close', () => resolve());
  });
  const worker = async () => {
    while (started < n) {
      started++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: conc }, worker));
  out({ byBackend, failed });
} else if (mode === 'storm') {
  const [host, port, seconds, conc] = [args[0]!, Number(args[1]), Number(args[2]), Number(args[3])];
  const until = Date.now() + seconds * 1000;
  let connections = 0;
  let failed = 0;
  const one = () => new Promise<void>((resolve) => {
    const s = connect({ host, port }, () => { connections++; s.destroy(); resolve(); });
    s.on('error', () => { failed++; resolve(); });
  });
  const worker = async () => {
    while (Date.now() < until) await one();
  };
  await Promise.all(Array.from({ length: conc }, worker));
  out({ connections, failed });
} else if (mode !== undefined) {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
// No mode: loaded by the test runner's file discovery, nothing to do.
