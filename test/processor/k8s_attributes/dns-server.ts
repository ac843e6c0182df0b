// A tiny DNS server on loopback that answers PTR queries from a table, so the
// reverse-DNS tests never touch real DNS. Unknown names get NXDOMAIN.

import { createSocket, type Socket } from 'node:dgram';

export class PtrServer {
  readonly names: Map<string, string>;
  readonly queries: string[] = [];
  #sock: Socket | undefined;
  port = 0;

  /** `names`: IPv4 address → host name. */
  constructor(names: Record<string, string>) {
    this.names = new Map(Object.entries(names).map(([ip, host]) => [`${ip.split('.').reverse().join('.')}.in-addr.arpa`, host]));
  }

  async start(): Promise<void> {
    const sock = createSocket('udp4');
    sock.on('message', (msg, rinfo) => {
      const reply = this.#answer(msg);
      if (reply) sock.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
    this.port = sock.address().port;
    this.#sock = sock;
  }

  async stop(): Promise<void> {
    const s = this.#sock;
    this.#sock = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  #answer(q: Buffer): Buffer | undefined {
    if (q.length < 12) return undefined;
    let off = 12;
    const labels: string[] = [];
    while (off < q.length && q[off] !== 0) {
      const len = q[off]!;
      labels.push(q.subarray(off + 1, off + 1 + len).toString('ascii'));
      off += 1 + len;
    }
    const qEnd = off + 5; // zero byte + qtype + qclass
    const name = labels.join('.').toLowerCase();
    const qtype = q.readUInt16BE(off + 1);
    this.queries.push(name);
    const host = qtype === 12 ? this.names.get(name) : undefined;
    const header = Buffer.alloc(12);
    q.copy(header, 0, 0, 2);
    header.writeUInt16BE(host ? 0x8180 : 0x8183, 2); // response, RD+RA; NXDOMAIN when unknown
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(host ? 1 : 0, 6);
    const question = q.subarray(12, qEnd);
    if (!host) return Buffer.concat([header, question]);
    const rdata = Buffer.concat([...host.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    rr.writeUInt16BE(12, 2); // PTR
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([header, question, rr, rdata]);
  }
}
