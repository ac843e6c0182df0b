// The connection table's accounting rules: baseline at start, deltas from
// dumps, lost NEW events recovered by dumps, vanished connections swept, late
// DESTROYs adding only what grew, closed vs failed, keys the kernel reuses for
// a new entry.

import t from 'tap';
import { IPS_ASSURED, REC_DESTROY, REC_DUMP, REC_NEW, REC_UPDATE, TCP_CLOSE, TCP_ESTABLISHED, TCP_TIME_WAIT } from '../../../src/native/conntrack-record.ts';
import { ConnectionTable, type Conn } from '../../../src/receiver/conntrack/connection-table.ts';
import { records, type Rec } from './records.ts';

const base: Rec = { type: REC_NEW, src: '10.0.0.1', dst: '10.96.0.10', sport: 40000, dport: 80, rsrc: '10.1.0.5', rsport: 8080 };

function table(now = { t: 1000 }) {
  return { tb: new ConnectionTable({ tombstoneTtlMs: 60_000, now: () => now.t }), now };
}

function totals(cs: Conn[]) {
  const s = { ob: 0, rb: 0, op: 0, opened: 0, closed: 0, failed: 0 };
  for (const c of cs) {
    s.ob += c.dOb; s.rb += c.dRb; s.op += c.dOp; s.opened += c.opened; s.closed += c.closed; s.failed += c.failed;
    ConnectionTable.reset(c);
  }
  return s;
}

t.test('start dump is a baseline; later dumps report deltas', async (t) => {
  const { tb } = table();
  tb.dumpBegin(1);
  tb.applyDump(records([{ ...base, type: REC_DUMP, status: IPS_ASSURED, tcpState: TCP_ESTABLISHED, counters: [10, 1000, 8, 5000] }]));
  tb.dumpEnd(1, false);
  t.same(totals(tb.drain()), { ob: 0, rb: 0, op: 0, opened: 0, closed: 0, failed: 0 }, 'nothing from before the start');
  tb.dumpBegin(2);
  tb.applyDump(records([{ ...base, type: REC_DUMP, tcpState: TCP_ESTABLISHED, counters: [12, 1300, 9, 5600] }]));
  tb.dumpEnd(2, false);
  t.same(totals(tb.drain()), { ob: 300, rb: 600, op: 2, opened: 0, closed: 0, failed: 0 });
  tb.dumpBegin(3);
  tb.applyDump(records([{ ...base, type: REC_DUMP, tcpState: TCP_ESTABLISHED, counters: [12, 1300, 9, 5600] }]));
  tb.dumpEnd(3, false);
  t.same(totals(tb.drain()), { ob: 0, rb: 0, op: 0, opened: 0, closed: 0, failed: 0 }, 'unchanged counters report nothing');
});

t.test('NEW, dump, TIME_WAIT, DESTROY: opened once, closed once, full bytes', async (t) => {
  const { tb, now } = table();
  tb.dumpBegin(1); tb.dumpEnd(1, false);
  tb.applyEvents(records([{ ...base, type: REC_NEW, tcpState: 1 }]));
  tb.applyEvents(records([{ ...base, type: REC_UPDATE, tcpState: TCP_ESTABLISHED, status: IPS_ASSURED }]));
  now.t += 500;
  tb.applyEvents(records([{ ...base, type: REC_UPDATE, tcpState: TCP_TIME_WAIT }]));
  let s = totals(tb.drain());
  t.same([s.opened, s.closed, s.failed], [1, 1, 0]);
  tb.dumpBegin(2);
  tb.applyDump(records([{ ...base, type: REC_DUMP, tcpState: TCP_TIME_WAIT, counters: [6, 400, 5, 900] }]));
  tb.dumpEnd(2, false);
  tb.applyEvents(records([{ ...base, type: REC_DESTROY, tcpState: TCP_TIME_WAIT, counters: [6, 400, 5, 900] }]));
  s = totals(tb.drain());
  t.same(s, { ob: 400, rb: 900, op: 6, opened: 0, closed: 0, failed: 0 }, 'DESTROY after TIME_WAIT adds nothing twice');
  t.equal(tb.size, 0);
});

t.test('a connection that never became ASSURED fails', async (t) => {
  const { tb } = table();
  tb.dumpBegin(1); tb.dumpEnd(1, false);
  tb.applyEvents(records([{ ...base, type: REC_NEW, tcpState: 1 }, { ...base, type: REC_UPDATE, tcpState: TCP_CLOSE }]));
  const [c] = tb.drain();
  t.same([c!.opened, c!.closed, c!.failed], [1, 0, 1]);
});

t.test('lost NEW: a dump finds the connection, which opens with full counters', async (t) => {
  const { tb } = table();
  tb.dumpBegin(1); tb.dumpEnd(1, false);
  tb.dumpBegin(2);
  tb.applyDump(records([{ ...base, type: REC_DUMP, status: IPS_ASSURED, tcpState: TCP_ESTABLISHED, counters: [3, 180, 2, 120] }]));
  tb.dumpEnd(2, false);
  t.same(totals(tb.drain()), { ob: 180, rb: 120, op: 3, opened: 1, closed: 0, failed: 0 });
});

t.test('lost DESTROY: a complete dump sweeps the connection; a late DESTROY adds the rest', async (t) => {
  const { tb } = table();
  tb.dumpBegin(1); tb.dumpEnd(1, false);
  tb.applyEvents(records([{ ...base, type: REC_NEW }]));
  tb.dumpBegin(2);
  tb.applyDump(records([{ ...base, type: REC_DUMP, status: IPS_ASSURED, tcpState: TCP_ESTABLISHED, counters: [3, 180, 2, 120] }]));
  tb.dumpEnd(2, false);
  totals(tb.drain());
  tb.dumpBegin(3);
  tb.dumpEnd(3, true);
  t.equal(tb.size, 1, 'an interrupted dump sweeps nothing');
  tb.dumpBegin(4);
  tb.dumpEnd(4, false);
  t.equal(tb.size, 0, 'gone from a complete dump: ended');
  t.equal(tb.stats.swept, 1);
  let s = totals(tb.drain());
  t.same([s.closed, s.ob], [1, 0]);
  tb.applyEvents(records([{ ...base, type: REC_DESTROY, counters: [4, 240, 3, 170] }]));
  s = totals(tb.drain());
  t.same(s, { ob: 60, rb: 50, op: 1, opened: 0, closed: 0, failed: 0 }, 'only the growth since the last dump');
});

t.test('a connection born during a dump is not swept by it', async (t) => {
  const { tb } = table();
  tb.dumpBegin(1); tb.dumpEnd(1, false);
  tb.dumpBegin(2);
  tb.applyEvents(records([{ ...base, type: REC_NEW }]));
  tb.dumpEnd(2, false);
  t.equal(tb.size, 1);
});

t.test('dump records of an already destroyed connection are ignored', async (t) => {
  const { tb } = table();
  tb.dumpBegin(1); tb.dumpEnd(1, false);
  tb.applyEvents(records([{ ...base, type: REC_NEW }]));
  // The dump was already running when the DESTROY came: its record may predate it.
  tb.dumpBegin(2);
  tb.applyEvents(records([{ ...base, type: REC_DESTROY, counters: [2, 100, 1, 60] }]));
  tb.applyDump(records([{ ...base, type: REC_DUMP, counters: [1, 60, 1, 60] }]));
  tb.dumpEnd(2, false);
  const s = totals(tb.drain());
  t.same([s.opened, s.ob, s.rb], [1, 100, 60]);
  t.equal(tb.size, 0);
});

t.test('the kernel id tells a reused 5-tuple apart', async (t) => {
  const { tb } = table();
  tb.dumpBegin(1); tb.dumpEnd(1, false);
  tb.applyEvents(records([{ ...base, id: 1 }, { ...base, id: 2 }]));
  t.equal(tb.size, 2);
});

t.test('a connection already closed (TIME_WAIT) and then swept is closed once', async (t) => {
  const { tb } = table();
  tb.dumpBegin(1); tb.dumpEnd(1, false);
  tb.applyEvents(records([{ ...base, type: REC_NEW }, { ...base, type: REC_UPDATE, status: IPS_ASSURED, tcpState: TCP_TIME_WAIT }]));
  let s = totals(tb.drain());
  t.same([s.opened, s.closed], [1, 1]);
  tb.dumpBegin(2);
  tb.dumpEnd(2, false);
  t.equal(tb.stats.swept, 1);
  s = totals(tb.drain());
  t.same([s.closed, s.failed], [0, 0], 'the sweep does not count it again');
});

// The kernel's id is a hash of the entry's address and tuple: a new connection on
// the same 5-tuple that lands in the freed slot has the same key (seen in the
// storm test as one port with the old connection's 5 packets against conntrack's 4).
const closedA: Rec = { ...base, type: REC_DUMP, status: IPS_ASSURED, tcpState: TCP_CLOSE, counters: [5, 268, 4, 204] };

t.test('reused key: lower counters in a later dump are a new connection', async (t) => {
  const { tb } = table();
  tb.dumpBegin(1); tb.dumpEnd(1, false);
  tb.dumpBegin(2);
  tb.applyDump(records([closedA]));
  tb.dumpEnd(2, false);
  t.same(totals(tb.drain()), { ob: 268, rb: 204, op: 5, opened: 1, closed: 1, failed: 0 });
  tb.dumpBegin(3);
  tb.applyDump(records([{ ...base, type: REC_DUMP, status: IPS_ASSURED, tcpState: TCP_TIME_WAIT, counters: [4, 216, 3, 164] }]));
  tb.dumpEnd(3, false);
  t.same(totals(tb.drain()), { ob: 216, rb: 164, op: 4, opened: 1, closed: 1, failed: 0 }, 'the new one opens and closes with its own counters');
  t.same(tb.stats, { swept: 0, reused: 1 });
  t.equal(tb.size, 1);
});

t.test('reused key: events after the DESTROY event belong to the new connection', async (t) => {
  const { tb } = table();
  tb.dumpBegin(1); tb.dumpEnd(1, false);
  tb.applyEvents(records([{ ...base, type: REC_NEW, tcpState: 1 }, { ...base, type: REC_DESTROY, status: IPS_ASSURED, tcpState: TCP_CLOSE, counters: [5, 268, 4, 204] }]));
  t.same(totals(tb.drain()), { ob: 268, rb: 204, op: 5, opened: 1, closed: 1, failed: 0 });
  tb.applyEvents(records([{ ...base, type: REC_NEW, tcpState: 1 }]));
  t.same(totals(tb.drain()), { ob: 0, rb: 0, op: 0, opened: 1, closed: 0, failed: 0 }, 'the NEW opens a connection');
  tb.applyEvents(records([{ ...base, type: REC_DESTROY, status: IPS_ASSURED, tcpState: TCP_TIME_WAIT, counters: [4, 216, 3, 164] }]));
  t.same(totals(tb.drain()), { ob: 216, rb: 164, op: 4, opened: 0, closed: 1, failed: 0 });
});

t.test('reused key: a second NEW ends the connection whose DESTROY was lost', async (t) => {
  const { tb } = table();
  tb.dumpBegin(1); tb.dumpEnd(1, false);
  tb.applyEvents(records([{ ...base, type: REC_NEW, tcpState: 1 }, { ...base, type: REC_UPDATE, tcpState: TCP_ESTABLISHED, status: IPS_ASSURED }]));
  totals(tb.drain());
  tb.applyEvents(records([{ ...base, type: REC_NEW, tcpState: 1 }]));
  t.same(totals(tb.drain()), { ob: 0, rb: 0, op: 0, opened: 1, closed: 1, failed: 0 }, 'old one closed, new one opened');
  t.equal(tb.size, 1);
});

t.test('a NEW event that trails the dump which found the connection is the same connection', async (t) => {
  const { tb } = table();
  tb.dumpBegin(1); tb.dumpEnd(1, false);
  tb.dumpBegin(2);
  tb.applyDump(records([{ ...base, type: REC_DUMP, status: IPS_ASSURED, tcpState: TCP_ESTABLISHED, counters: [3, 180, 2, 120] }]));
  tb.applyEvents(records([{ ...base, type: REC_NEW, tcpState: 1 }]));
  tb.dumpEnd(2, false);
  t.same(totals(tb.drain()), { ob: 180, rb: 120, op: 3, opened: 1, closed: 0, failed: 0 });
  t.equal(tb.stats.reused, 0);
});

t.test('a contested dump record lets the events that follow it decide', async (t) => {
  // The port reused on the same key: the kernel killed A (CLOSE) for B's SYN,
  // B took A's slot (same id), and the dump message was written before the
  // session read A's DESTROY and B's NEW. Taken as it is, B's snapshot would
  // replace A (lower counters), A's DESTROY would then end B, and B's NEW open it again.
  const destroyA: Rec = { ...base, type: REC_DESTROY, status: IPS_ASSURED, tcpState: TCP_CLOSE, counters: [5, 268, 4, 204] };
  const snapshotB: Rec = { ...base, type: REC_DUMP, status: IPS_ASSURED, tcpState: TCP_ESTABLISHED, counters: [3, 180, 2, 120] };
  const run = (contested: boolean) => {
    const { tb } = table();
    tb.dumpBegin(1); tb.dumpEnd(1, false);
    tb.applyEvents(records([{ ...base, type: REC_NEW, tcpState: 1 }, { ...base, type: REC_UPDATE, status: IPS_ASSURED, tcpState: TCP_ESTABLISHED }]));
    tb.dumpBegin(2);
    tb.applyDump(records([{ ...base, type: REC_DUMP, status: IPS_ASSURED, tcpState: TCP_CLOSE, counters: [5, 268, 4, 204] }]));
    tb.dumpEnd(2, false);
    tb.dumpBegin(3);
    tb.applyDump(records([{ ...snapshotB, contested }]));
    tb.applyEvents(records([destroyA, { ...base, type: REC_NEW, tcpState: 1 }]));
    tb.dumpEnd(3, false);
    tb.dumpBegin(4);
    tb.applyDump(records([{ ...snapshotB, counters: [4, 216, 3, 164] }]));
    tb.dumpEnd(4, false);
    return { s: totals(tb.drain()), size: tb.size };
  };
  const flagged = run(true);
  t.same(flagged.s, { ob: 268 + 216, rb: 204 + 164, op: 9, opened: 2, closed: 1, failed: 0 },
    'A opened and closed once with its counters, B opened once and later brought its own by the next dump');
  t.equal(flagged.size, 1, 'B is live');
  t.equal(run(false).s.opened, 3, 'unflagged, the same records open B twice (what the flag is for)');
});

t.test('a contested record still marks its connection as seen by the dump', async (t) => {
  const { tb } = table();
  tb.dumpBegin(1); tb.dumpEnd(1, false);
  tb.applyEvents(records([{ ...base, type: REC_NEW, tcpState: 1 }]));
  tb.dumpBegin(2);
  tb.applyDump(records([{ ...base, type: REC_DUMP, tcpState: TCP_ESTABLISHED, counters: [3, 180, 2, 120], contested: true }]));
  tb.applyEvents(records([{ ...base, type: REC_UPDATE, status: IPS_ASSURED, tcpState: TCP_ESTABLISHED }]));
  tb.dumpEnd(2, false);
  t.equal(tb.stats.swept, 0, 'not swept');
  t.same(totals(tb.drain()), { ob: 0, rb: 0, op: 0, opened: 1, closed: 0, failed: 0 }, 'its counters wait for a dump that is not contested');
});

t.test('a removed key: stale in the running dump unless it grew past the DESTROY, a new connection in the next dump', async (t) => {
  const { tb } = table();
  tb.dumpBegin(1); tb.dumpEnd(1, false);
  tb.applyEvents(records([{ ...base, type: REC_NEW }]));
  tb.dumpBegin(2);
  tb.applyEvents(records([{ ...base, type: REC_DESTROY, status: IPS_ASSURED, tcpState: TCP_CLOSE, counters: [5, 268, 4, 204] }]));
  tb.applyDump(records([{ ...closedA, counters: [4, 216, 4, 204] }]));
  tb.dumpEnd(2, false);
  t.same(totals(tb.drain()), { ob: 268, rb: 204, op: 5, opened: 1, closed: 1, failed: 0 }, 'the snapshot taken before the DESTROY adds nothing');
  tb.dumpBegin(3);
  tb.applyDump(records([{ ...closedA, counters: [4, 216, 3, 164] }]));
  tb.dumpEnd(3, false);
  t.same(totals(tb.drain()), { ob: 216, rb: 164, op: 4, opened: 1, closed: 1, failed: 0 }, 'a dump begun after the removal holds only a new entry');
  tb.applyEvents(records([{ ...base, type: REC_DESTROY, status: IPS_ASSURED, tcpState: TCP_CLOSE, counters: [4, 216, 3, 164] }]));
  tb.dumpBegin(4);
  tb.applyEvents(records([{ ...base, type: REC_NEW }, { ...base, type: REC_DESTROY, status: IPS_ASSURED, tcpState: TCP_CLOSE, counters: [2, 100, 2, 100] }]));
  tb.applyDump(records([{ ...closedA, counters: [6, 320, 5, 250] }]));
  tb.dumpEnd(4, false);
  const s = totals(tb.drain());
  t.same([s.opened, s.op, s.ob], [2, 8, 420], 'more than the DESTROY had: a third connection, even in the running dump');
});

t.test('a swept key: a DESTROY with lower counters is another connection, a higher one the late DESTROY', async (t) => {
  const { tb } = table();
  tb.dumpBegin(1); tb.dumpEnd(1, false);
  tb.dumpBegin(2);
  tb.applyDump(records([closedA]));
  tb.dumpEnd(2, false);
  tb.dumpBegin(3); tb.dumpEnd(3, false);
  t.equal(tb.stats.swept, 1);
  totals(tb.drain());
  tb.applyEvents(records([{ ...base, type: REC_DESTROY, status: IPS_ASSURED, tcpState: TCP_TIME_WAIT, counters: [4, 216, 3, 164] }]));
  t.same(totals(tb.drain()), { ob: 216, rb: 164, op: 4, opened: 1, closed: 1, failed: 0 });
  t.equal(tb.size, 0);
});

t.test('a DESTROY event leaves a tombstone only while a dump runs', async (t) => {
  const { tb } = table();
  tb.dumpBegin(1); tb.dumpEnd(1, false);
  const pair = (sport: number) => records([{ ...base, sport, type: REC_NEW }, { ...base, sport, type: REC_DESTROY, counters: [1, 60, 1, 60] }]);
  for (let p = 1000; p < 1100; p++) tb.applyEvents(pair(p));
  t.equal(tb.tombstones, 0, 'none between dumps');
  tb.dumpBegin(2);
  tb.applyEvents(pair(2000));
  t.equal(tb.tombstones, 1, 'one while the dump that may still list it runs');
  tb.dumpEnd(2, false);
  t.equal(tb.tombstones, 0, 'gone with that dump');
  const s = totals(tb.drain());
  t.same([s.opened, s.failed, s.ob], [101, 101, 6060], 'each opened and ended once (never ASSURED here: failed)');
});
