// The conntrack receiver: flows from netfilter conntrack itself, for nodes
// where eBPF is not allowed. The native session streams events and periodic
// dumps; the connection table turns them into per-direction counter deltas;
// every collection_interval those become a FlowBatch (two edges per connection,
// NAT resolved: see src/nat/conn-tuples.ts).

import type { CreateSettings } from '../../component/component.ts';
import { LifecycleComponent } from '../../component/lifecycle.ts';
import { consumeAndRelease, type FlowConsumer } from '../../consumer/consumer.ts';
import { registerConnectionSource, type LiveConnection } from '../../extension/flows_api/flow-hub.ts';
import { FLAG_CONNECTION_ENDED, FLAG_SOURCE_IS_CLIENT, FlowBatch, PROTO_TCP } from '../../pdata/flow-batch.ts';
import { ACCT_ENABLED, ACCT_OFF, ACCT_UNKNOWN, type NativeStats } from '../../native/conntrack-addon.ts';
import { TCP_STATE_NAMES } from '../../native/conntrack-record.ts';
import { ConntrackSession } from '../../native/conntrack-session.ts';
import { acquireNatJoin, natWanted, type NatJoin } from '../../nat/nat-join.ts';
import { A_ORIG_DST, A_REPLY_SRC, isDnat, writeForwardEdge, writeReverseEdge } from '../../nat/conn-tuples.ts';
import { formatAddress } from '../../pdata/ip-address.ts';
import type { Counter } from '../../service/telemetry/self-telemetry.ts';
import type { ConntrackConfig } from './config.ts';
import { ConnectionTable, type Conn } from './connection-table.ts';

interface Metrics {
  events: Counter;
  lost: Counter;
  resyncs: Counter;
  parseErrors: Counter;
  accepted: Counter;
  swept: Counter;
}

export class ConntrackReceiver extends LifecycleComponent {
  readonly #settings: CreateSettings;
  readonly #config: ConntrackConfig;
  readonly #next: FlowConsumer;
  readonly #metrics: Metrics;
  readonly #table: ConnectionTable;
  #session: ConntrackSession | undefined;
  #nat: NatJoin | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastStats: NativeStats | undefined;
  #lastSwept = 0;
  #intervalStart = Date.now();
  #inflight: Promise<void> = Promise.resolve();
  #unregisterSource: (() => void) | undefined;

  constructor(settings: CreateSettings, config: ConntrackConfig, next: FlowConsumer) {
    super();
    this.#settings = settings;
    this.#config = config;
    this.#next = next;
    const t = settings.telemetry;
    this.#metrics = {
      events: t.counter('podflow_conntrack_events_total', 'conntrack records received, by type (new, update, destroy, dump).'),
      lost: t.counter('podflow_conntrack_lost_total', 'Times the conntrack event socket overflowed (ENOBUFS); each triggers a resync.'),
      resyncs: t.counter('podflow_conntrack_resyncs_total', 'Table dumps run to recover from lost conntrack events.'),
      parseErrors: t.counter('podflow_conntrack_parse_errors_total', 'Malformed conntrack netlink messages skipped.'),
      accepted: t.counter('podflow_receiver_accepted_flows_total', 'Flow rows a receiver pushed into its pipelines.'),
      swept: t.counter('podflow_conntrack_swept_total', 'Connections ended by a dump because their DESTROY event was lost.'),
    };
    // Present from the start (at 0), so "no losses" is a visible fact, not a missing series.
    const m = this.#metrics;
    for (const type of ['new', 'update', 'destroy', 'dump']) m.events.add(0, { type });
    for (const c of [m.lost, m.resyncs, m.parseErrors, m.swept]) c.add(0);
    m.accepted.add(0, { receiver: settings.id });
    this.#table = new ConnectionTable({ tombstoneTtlMs: 2 * config.dump_interval + 10_000 });
  }

  /** The live connection table (flows_api and tests read it). */
  get table(): ConnectionTable {
    return this.#table;
  }

  /** Native session counters, for tests and the benchmark. */
  nativeStats(): NativeStats | undefined {
    return this.#session?.stats();
  }

  protected async doStart(): Promise<void> {
    const c = this.#config;
    const where = `receivers::${this.#settings.id}`;
    const session = new ConntrackSession({
      rcvbuf: c.socket_buffer_size,
      dumpIntervalMs: c.dump_interval,
      batchRecords: c.batch_size,
      enableAcct: c.set_acct_sysctl,
      ...(c.netns ? { netns: c.netns } : {}),
    }, where);
    this.#session = session;
    const table = this.#table;
    // The NAT join gets the records only while a receiver looks up in it.
    const nat = () => (this.#nat && natWanted(c.netns) ? this.#nat.index : undefined);
    session.addListener({
      onEvents: (v) => { table.applyEvents(v); nat()?.applyRecords(v); },
      onDumpBegin: (seq) => { table.dumpBegin(seq); nat()?.dumpBegin(); },
      onDumpRecords: (v) => { table.applyDump(v); nat()?.applyRecords(v); },
      onDumpEnd: (seq, _reason, interrupted) => {
        table.dumpEnd(seq, interrupted);
        if (!interrupted) nat()?.dumpEnd();
      },
      onLost: () => this.#settings.logger.debug('conntrack event socket overflowed; resyncing with a dump'),
      onError: (e) => this.#settings.logger.warn('conntrack session error', { error: e }),
    });
    try {
      this.#nat = await acquireNatJoin({
        ...(c.netns ? { netns: c.netns } : {}), feeder: true, logger: this.#settings.logger,
        telemetry: this.#settings.telemetry, where, backfill: () => session.dumpNow(),
      });
      await session.ready;
    } catch (e) {
      await session.close();
      await this.#nat?.release();
      throw e;
    }
    this.#warnAcct(session.stats());
    this.#unregisterSource = registerConnectionSource(this.#settings.id, () => liveConnections(table));
    this.#intervalStart = Date.now();
    this.#timer = setInterval(() => { this.#inflight = this.#inflight.then(() => this.#emit()); }, c.collection_interval);
  }

  #warnAcct(s: NativeStats): void {
    const log = this.#settings.logger;
    if (s.acctState === ACCT_ENABLED) {
      log.info('set net.netfilter.nf_conntrack_acct=1 (connections opened before now carry no byte counters)');
    } else if (s.acctState === ACCT_OFF) {
      log.warn(
        'net.netfilter.nf_conntrack_acct is 0 and podflow could not set it' +
          (s.acctErrno ? ` (errno ${s.acctErrno})` : ' (set_acct_sysctl: false)') +
          ': conntrack keeps no byte or packet counters, so flows carry connection counts only. ' +
          'Run "sysctl -w net.netfilter.nf_conntrack_acct=1" on the node.',
      );
    } else if (s.acctState === ACCT_UNKNOWN) {
      log.warn('cannot read net.netfilter.nf_conntrack_acct; byte counters may be missing', { errno: s.acctErrno });
    }
  }

  protected async doShutdown(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#unregisterSource?.();
    await this.#inflight;
    await this.#session?.close();
    // A last interval so the counters gathered since the previous one are not lost.
    await this.#emit();
    await this.#nat?.release();
  }

  /**
   * Dumps the table now and emits what changed: after traffic stops, the
   * batches then carry conntrack's final counters (tests, the benchmark).
   */
  async sync(): Promise<void> {
    await this.#session?.dumpNow();
    await this.flush();
  }

  /** Emits now (tests use this instead of waiting for the interval). */
  flush(): Promise<void> {
    this.#inflight = this.#inflight.then(() => this.#emit());
    return this.#inflight;
  }

  #syncStats(): void {
    const s = this.#session?.stats();
    if (!s) return;
    const p = this.#lastStats;
    const d = (k: keyof NativeStats) => s[k] - (p ? p[k] : 0);
    const m = this.#metrics;
    if (d('new')) m.events.add(d('new'), { type: 'new' });
    if (d('update')) m.events.add(d('update'), { type: 'update' });
    if (d('destroy')) m.events.add(d('destroy'), { type: 'destroy' });
    if (d('dumpRecords')) m.events.add(d('dumpRecords'), { type: 'dump' });
    if (d('lost')) m.lost.add(d('lost'));
    if (d('resyncs')) m.resyncs.add(d('resyncs'));
    if (d('parseErrors')) m.parseErrors.add(d('parseErrors'));
    this.#lastStats = s;
    const swept = this.#table.stats.swept;
    if (swept > this.#lastSwept) m.swept.add(swept - this.#lastSwept);
    this.#lastSwept = swept;
  }

  async #emit(): Promise<void> {
    this.#syncStats();
    const conns = this.#table.drain();
    const now = Date.now();
    const batch = new FlowBatch(Math.max(16, conns.length * 2));
    batch.startTimeMs = this.#intervalStart;
    batch.endTimeMs = now;
    this.#intervalStart = now;
    const attrs = new Set(this.#config.attributes);
    for (const c of conns) {
      writeRows(batch, c, attrs);
      ConnectionTable.reset(c);
    }
    if (batch.length === 0) return;
    this.#metrics.accepted.add(batch.length, { receiver: this.#settings.id });
    try {
      await consumeAndRelease(this.#next, batch);
    } catch (e) {
      this.#settings.logger.error('pipeline refused a conntrack batch', { error: e });
    }
  }
}

/** Up to two rows per connection: client → server, then server → client. */
function writeRows(batch: FlowBatch, c: Conn, attrs: Set<string>): void {
  const tcp = c.tuples.proto === PROTO_TCP;
  if (c.dOb > 0 || c.dOp > 0 || c.opened || c.closed || c.failed) {
    const i = batch.addRow();
    writeForwardEdge(batch, i, c.tuples);
    batch.flags[i]! |= (tcp ? FLAG_SOURCE_IS_CLIENT : 0) | (c.endedNow ? FLAG_CONNECTION_ENDED : 0);
    const k = batch.counters;
    k.bytes[i] = c.dOb;
    k.packets[i] = c.dOp;
    k.opened[i] = c.opened;
    k.closed[i] = c.closed;
    k.failed[i] = c.failed;
    k.durationMs[i] = c.durationMs;
    setAttrs(batch, i, c, attrs);
  }
  if (c.dRb > 0 || c.dRp > 0) {
    const i = batch.addRow();
    writeReverseEdge(batch, i, c.tuples);
    if (c.endedNow) batch.flags[i]! |= FLAG_CONNECTION_ENDED;
    batch.counters.bytes[i] = c.dRb;
    batch.counters.packets[i] = c.dRp;
    setAttrs(batch, i, c, attrs);
  }
}

function setAttrs(batch: FlowBatch, i: number, c: Conn, attrs: Set<string>): void {
  // Unset (not "0") for the default zone and no mark, so they add no series.
  if (attrs.has('zone') && c.zone !== 0) batch.setAttribute(i, 'conntrack.zone', String(c.zone));
  if (attrs.has('mark') && c.mark !== 0) batch.setAttribute(i, 'conntrack.mark', `0x${c.mark.toString(16)}`);
  if (attrs.has('tcp_state') && c.tuples.proto === PROTO_TCP) {
    batch.setAttribute(i, 'conntrack.tcp_state', TCP_STATE_NAMES[c.tcpState] ?? String(c.tcpState));
  }
}

function* liveConnections(table: ConnectionTable): Generator<LiveConnection> {
  for (const c of table.connections()) {
    const t = c.tuples;
    const dnat = isDnat(t);
    yield {
      protocol: t.proto,
      destination: formatAddress(t.addrs, A_REPLY_SRC),
      destinationPort: t.replySport,
      ...(dnat ? { originalDestination: formatAddress(t.addrs, A_ORIG_DST), originalDestinationPort: t.origDport } : {}),
      ...(t.proto === PROTO_TCP ? { state: TCP_STATE_NAMES[c.tcpState] ?? String(c.tcpState) } : {}),
    };
  }
}
