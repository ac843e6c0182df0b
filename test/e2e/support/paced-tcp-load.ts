// A steady TCP load for end-to-end tests, run inside a test namespace (and
// cgroup): `node paced-tcp-load.ts HOST PORT RATE CONC UP DOWN` opens RATE
// connections per second (at most CONC at once), each writes UP bytes, reads
// DOWN bytes (ebpf-traffic.ts tcp-server answers that) and closes. Prints one
// JSON line per closed connection, {"closed": <client port>}, and on a "stop"
// line on stdin stops opening new ones and prints {"stopped": true, opened,
// closed, failed} once the open ones have closed.

import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const [host, portS, rateS, concS, upS, downS] = process.argv.slice(2) as [string, string, string, string, string, string];
const [port, rate, conc, up, down] = [portS, rateS, concS, upS, downS].map(Number) as [number, number, number, number, number];
const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`);
const payload = Buffer.alloc(up, 0x61);

let open = 0;
let opened = 0;
let closed = 0;
let failed = 0;
let stopping = false;

function one(): void {
  open++;
  opened++;
  let got = 0;
  let ok = false;
  let localPort = 0;
  const s = connect({ host, port }, () => { localPort = s.localPort!; s.write(payload); });
  s.on('data', (b: Buffer) => {
    got += b.length;
    if (got === down) { ok = true; s.end(); }
  });
  s.on('error', () => undefined);
  s.on('close', () => {
    open--;
    if (ok) { closed++; out({ closed: localPort }); } else failed++;
    if (stopping && open === 0) finish();
  });
}

function finish(): void {
  out({ stopped: true, opened, closed, failed });
  process.exit(0);
}

// A tick every 10 ms keeps the rate even rather than bursting once a second.
const perTick = rate / 100;
let credit = 0;
const timer = setInterval(() => {
  credit += perTick;
  while (credit >= 1 && open < conc) { credit--; one(); }
  if (credit > conc) credit = conc;
}, 10);

createInterface({ input: process.stdin }).on('line', (l) => {
  if (l.trim() !== 'stop') return;
  stopping = true;
  clearInterval(timer);
  if (open === 0) finish();
});
