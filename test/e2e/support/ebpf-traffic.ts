// Traffic driver for the ebpf end-to-end tests, run inside a test namespace
// (ip netns exec NS node ebpf-traffic.ts MODE ...). Prints one JSON line per
// milestone on stdout; reads "close" lines on stdin where it waits.
//
//   tcp-server PORT UP DOWN      accept; read UP bytes, write DOWN bytes, close when the peer does
//   tcp-client HOST PORT UP DOWN write UP, read DOWN, print {done}, wait for "close" on stdin
//   burst HOST PORT N CONC       N connections (CONC at a time), each opened and closed at once
//   connect HOST PORT            one connect; prints {error} (for a closed port)
//   hold HOST PORT N             N connects one after another, kept open; prints {connected, errors}
//   udp-server PORT              counts datagrams; prints {packets, bytes} on "report"
//   udp-client HOST PORT N SIZE  sends N datagrams of SIZE bytes, paced
//   http-server PORT             answers every request with "ok" (for wrk)

import { createSocket } from 'node:dgram';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

const [mode, ...args] = process.argv.slice(2);
const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const stdinLines = createInterface({ input: process.stdin });
const waitLine = (want: string) => new Promise<void>((res) => stdinLines.on('line', (l) => { if (l.trim() === want) res(); }));

function readExactly(sock: Socket, n: number): Promise<void> {
  return new Promise((res, rej) => {
    let got = 0;
    if (n === 0) return res();
    const onData = (b: Buffer) => {
      got += b.length;
      if (got >= n) {
        sock.off('data', onData);
        if (got > n) rej(new Error(`read ${got} bytes, expected ${n}`));
        else res();
      }
    };
    sock.on('data', onData);
    sock.once('error', rej);
  });
}

function writeBytes(sock: Socket, n: number): Promise<void> {
  return new Promise((res, rej) => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let left = n;
    const pump = () => {
      while (left > 0) {
        const len = Math.min(left, chunk.length);
        left -= len;
        if (!sock.write(len === chunk.length ? chunk : chunk.subarray(0, len))) {
          sock.once('drain', pump);
          return;
        }
      }
      res();
    };
    sock.once('error', rej);
    pump();
  });
}

switch (mode) {
  case 'tcp-server': {
    const [port, up, down] = args.map(Number) as [number, number, number];
    const srv = createServer((s) => {
      void (async () => {
        await readExactly(s, up);
        await writeBytes(s, down);
        s.on('end', () => s.end());
        s.resume();
      })();
    });
    srv.listen(port, '::', () => out({ listening: port }));
    break;
  }
  case 'tcp-client': {
    const [host, portS, upS, downS] = args as [string, string, string, string];
    const s = connect({ host, port: Number(portS) }, () => {
      void (async () => {
        const reading = readExactly(s, Number(downS));
        await writeBytes(s, Number(upS));
        await reading;
        out({ done: true, localPort: s.localPort, localAddress: s.localAddress });
        await waitLine('close');
        s.end();
        s.on('close', () => { out({ closed: true }); process.exit(0); });
        s.resume();
      })();
    });
    break;
  }
  case 'burst': {
    const [host, portS, nS, concS] = args as [string, string, string, string];
    const n = Number(nS);
    let started = 0;
    let finished = 0;
    let failed = 0;
    const t0 = Date.now();
    const one = (): void => {
      if (started >= n) return;
      started++;
      const s = connect({ host, port: Number(portS) });
      s.on('connect', () => s.end());
      s.on('error', () => { failed++; });
      s.on('close', () => {
        finished++;
        if (finished === n) out({ done: true, failed, ms: Date.now() - t0 });
        else one();
      });
      s.resume();
    };
    for (let i = 0; i < Number(concS); i++) one();
    break;
  }
  case 'burst-server': {
    const srv = createServer((s) => { s.on('end', () => s.end()); s.resume(); });
    srv.listen(Number(args[0]), '::', () => out({ listening: Number(args[0]) }));
    break;
  }
  case 'connect': {
    const s = connect({ host: args[0]!, port: Number(args[1]) });
    s.on('connect', () => { out({ connected: true }); s.destroy(); });
    s.on('error', (e: NodeJS.ErrnoException) => { out({ error: e.code }); process.exit(0); });
    break;
  }
  case 'hold': {
    // With a tiny ip_local_port_range the later connects fail with EADDRNOTAVAIL.
    const held: Socket[] = [];
    const errors: string[] = [];
    for (let i = 0; i < Number(args[2]); i++) {
      await new Promise<void>((res) => {
        const s = connect({ host: args[0]!, port: Number(args[1]) });
        s.on('connect', () => { held.push(s); res(); });
        s.on('error', (e: NodeJS.ErrnoException) => { errors.push(e.code ?? e.message); res(); });
      });
    }
    out({ connected: held.length, errors });
    await waitLine('close');
    for (const s of held) s.destroy();
    process.exit(0);
    break;
  }
  case 'udp-server': {
    const sock = createSocket({ type: args[0]!.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 << 20 });
    let packets = 0;
    let bytes = 0;
    sock.on('message', (m) => { packets++; bytes += m.length; });
    sock.bind(Number(args[1]), args[0], () => out({ listening: Number(args[1]) }));
    stdinLines.on('line', (l) => { if (l.trim() === 'report') out({ packets, bytes }); });
    break;
  }
  case 'udp-client': {
    const [host, portS, nS, sizeS] = args as [string, string, string, string];
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const payload = Buffer.alloc(Number(sizeS), 0x62);
    let sent = 0;
    const n = Number(nS);
    sock.bind(0, () => {
      const burst = () => {
        // 20 at a time with a pause, so the receiving socket's buffer does not overflow.
        for (let i = 0; i < 20 && sent < n; i++, sent++) sock.send(payload, Number(portS), host);
        if (sent < n) setTimeout(burst, 5);
        else setTimeout(() => { out({ done: true, sent, localPort: sock.address().port }); sock.close(); }, 50);
      };
      burst();
    });
    break;
  }
  case 'http-server': {
    const srv = createHttpServer((_req, res) => res.end('ok'));
    srv.listen(Number(args[0]), '::', () => out({ listening: Number(args[0]) }));
    break;
  }
  default:
    process.stderr.write(`unknown mode ${mode}\n`);
    process.exit(2);
}
