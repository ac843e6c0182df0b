// The ebpf receiver: loads the datapath (bpf/ through native/ebpf), and every
// collection_interval emits ONE FlowBatch with the counter deltas since the
// previous one: live TCP sockets read from pf_conns in one batched lookup,
// closed ones from the final records the ring buffer holds (so a connection
// shorter than the interval is never lost), UDP from pf_udp.
//
//   kernel ──ring buffer──────────── takeRecords() ─┐
//          └─(half full) poll thread ──▶ #closed ───┤ collect() every interval ──▶ FlowBatch ──NAT join──▶ next.consume
//   kernel ◀──batch lookup──────────────────────────┘

import type { CreateSettings } from '../../component/component.ts';
import { LifecycleComponent } from '../../component/lifecycle.ts';
import { consumeAndRelease, type FlowConsumer } from '../../consumer/consumer.ts';
import { PF_CONN, PF_CONSTANTS as K } from '../../native/ebpf-layout.ts';
import { openDatapath, type Datapath } from '../../native/ebpf.ts';
import type { NatJoin } from '../../nat/nat-join.ts';
import { FlowBatch } from '../../pdata/flow-batch.ts';
import type { Logger } from '../../service/logger.ts';
import type { Counter } from '../../service/telemetry/self-telemetry.ts';
import type { EbpfConfig } from './config.ts';
import { ConnectionTable } from './connection-table.ts';
import type { DatapathFeature, ProgramStat } from './datapath-feature.ts';
import { createFeatures } from './features.ts';
import { checkEnvironment } from './environment.ts';
import { explainDatapathError } from './explain-error.ts';
import { probeFeatures, type FeatureProbe } from './feature-probe.ts';
import { attachNat, type AcquireNat } from './nat-attach.ts';
import { UdpTable } from './udp-table.ts';

/** Wait before resolving a batch: > the conntrack session's 20 ms event flush plus delivery. */
const NAT_SETTLE_MS = 60;

export class EbpfReceiver extends LifecycleComponent {
  readonly #config: EbpfConfig;
  readonly #next: FlowConsumer;
  readonly #logger: Logger;
  readonly #settings: CreateSettings;
  readonly #acquireNat: AcquireNat | undefined;
  #nat: NatJoin | undefined;
  readonly #labels: { receiver: string };
  readonly #accepted: Counter;
  readonly #refused: Counter;
  readonly #ringbufLost: Counter;
  readonly #mapFull: Counter;
  readonly #closedTotal: Counter;
  readonly #readErrors: Counter;
  readonly #conns = new ConnectionTable();
  readonly #udp: UdpTable;
  #dp: Datapath | undefined;
  /** Final records the poll thread drained since the last collection (a ring buffer that filled up). */
  #closed: ArrayBuffer[] = [];
  #lastStats = [0, 0, 0, 0];
  #udpDeleted = 0;
  #udpEvicted = 0;
  #lastEmitMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> = Promise.resolve();
  #onExit = () => this.#dp?.close();
  #features: Record<string, FeatureProbe> = {};
  /** Optional parts with BPF objects of their own (DNS, drops), opened after the base datapath. */
  readonly #parts: DatapathFeature[];
  #openParts: DatapathFeature[] = [];

  /** `acquireNat` replaces the shared NAT join (tests of the fallback). */
  /** `parts` replaces the optional features the config enables (tests of a feature that cannot load). */
  constructor(settings: CreateSettings, config: EbpfConfig, next: FlowConsumer, acquireNat?: AcquireNat, parts?: DatapathFeature[]) {
    super();
    this.#settings = settings;
    this.#acquireNat = acquireNat;
    this.#config = config;
    this.#next = next;
    this.#logger = settings.logger;
    this.#labels = { receiver: settings.id };
    this.#udp = new UdpTable(config.udp_idle_timeout);
    this.#parts = parts ?? createFeatures(settings, config);
    const t = settings.telemetry;
    this.#accepted = t.counter('podflow_receiver_accepted_flows_total', 'Flow records a receiver passed on to its pipelines.');
    this.#refused = t.counter('podflow_receiver_refused_flows_total', 'Flow records a receiver produced that its pipelines refused (the consumer failed).');
    this.#ringbufLost = t.counter('podflow_ebpf_ringbuf_lost_total', 'Closed-connection records that did not fit the ring buffer (kept in the map and reported from there).');
    this.#mapFull = t.counter('podflow_ebpf_map_full_total', 'Sockets not tracked (pf_conns full) or UDP entries evicted or not counted (pf_udp full).');
    this.#closedTotal = t.counter('podflow_ebpf_connections_closed_total', 'TCP sockets whose final record was reported.');
    this.#readErrors = t.counter('podflow_ebpf_read_errors_total', 'Collections in which reading the datapath maps failed (that interval may miss live-connection deltas; they are reported later).');
    t.gauge('podflow_ebpf_connections_active', 'TCP sockets currently tracked by the datapath.')
      .observe({}, () => this.#conns.active);
    for (const feature of ['tp_btf', 'fentry', 'kprobe']) {
      t.gauge('podflow_ebpf_feature_available', 'Optional kernel eBPF features found at start (1) or not (0); none is required (tp_btf, when found, makes the receive-side refresh cheaper).')
        .observe({ feature }, () => (this.#features[feature]?.available ? 1 : 0));
    }
  }

  /** Run time of each BPF program (for benchmarks; zero unless kernel.bpf_stats_enabled=1). */
  programStats(): ProgramStat[] {
    const base = this.#dp?.readProgStats() ?? [];
    return base.concat(...this.#openParts.map((p) => p.programStats?.() ?? []));
  }

  protected async doStart(): Promise<void> {
    const c = this.#config;
    const env = checkEnvironment({ cgroupPath: c.cgroup_path, allowMount: true });
    for (const w of env.warnings) this.#logger.warn(w);
    // The join first: its initial conntrack dump is in place before the first batch.
    this.#nat = await attachNat({
      mode: c.nat, netns: c.nat_netns, logger: this.#logger, telemetry: this.#settings.telemetry,
      where: `receivers::${this.#settings.id}`,
    }, this.#acquireNat);
    try {
      this.#features = probeFeatures();
      this.#dp = openDatapath({
        tpBtf: c.tp_btf && (this.#features.tp_btf?.available ?? false),
        cgroupPath: env.cgroupPath,
        connMapSize: c.conn_map_size,
        udpMapSize: c.udp_map_size,
        ringBufferSize: c.ring_buffer_size,
        includeLoopback: c.include_loopback,
        // Taken at each collection (#collect); the poll thread only empties
        // a buffer that fills up in between, so a quiet node costs no wake-ups.
        pollIntervalMs: 0,
      }, (records) => this.#closed.push(records));
    } catch (e) {
      await this.#releaseNat();
      throw explainDatapathError(e, env.cgroupPath);
    }
    // An optional part that cannot load (an older kernel, a missing
    // tracepoint) costs its own data, never the flows: warned about, shown in
    // podflow_ebpf_datapath_feature_running, and the receiver runs without it.
    const running = this.#settings.telemetry.gauge('podflow_ebpf_datapath_feature_running',
      'Optional datapath features the config enables (dns, drops): 1 running, 0 failed to load (the reason is logged at start).');
    for (const part of this.#parts) {
      try {
        part.open({ cgroupPath: env.cgroupPath, logger: this.#logger });
        this.#openParts.push(part);
        running.set(1, { feature: part.name });
      } catch (e) {
        running.set(0, { feature: part.name });
        const err = explainDatapathError(e, env.cgroupPath, part.name);
        this.#logger.warn(`${err.message}; running without it (set ${part.name}::enabled: false to silence this)`, { code: err.code });
      }
    }
    process.once('exit', this.#onExit);
    this.#lastEmitMs = Date.now();
    this.#logger.info('ebpf optional features (none required)', Object.fromEntries(Object.entries(this.#features)
      .map(([k, v]) => [k, v.available ? 'available' : `unavailable: ${v.reason}`])));
    // The datapath falls back to the classic tracepoint when the kernel runs the
    // probe's tp_btf program but refuses the real one (before 5.9): say which runs.
    const receiveRefresh = this.#dp.readProgStats().some((p) => p.name === 'pf_tcp_rcv_space_adjust_btf') ? 'tp_btf' : 'tracepoint';
    this.#logger.info('ebpf datapath attached', { cgroup: env.cgroupPath, intervalMs: c.collection_interval, nat: this.#nat !== undefined, receiveRefresh });
    this.#schedule();
  }

  protected async doShutdown(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
    const dp = this.#dp;
    if (!dp) return this.#releaseNat();
    // Read the maps one last time, then detach and take what the ring buffer still holds.
    const batch = this.#collect(dp);
    const rest = dp.close();
    for (const part of this.#openParts) part.close(batch, batch.endTimeMs);
    this.#openParts = [];
    process.removeListener('exit', this.#onExit);
    this.#conns.append(batch, rest, true);
    this.#closedTotal.add(rest.byteLength / PF_CONN.size);
    this.#dp = undefined;
    await this.#emit(batch);
    await this.#releaseNat();
  }

  async #releaseNat(): Promise<void> {
    const nat = this.#nat;
    this.#nat = undefined;
    await nat?.release();
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      const dp = this.#dp;
      if (!dp || !this.running) return;
      this.#inFlight = this.#inFlight.then(() => this.#emit(this.#collect(dp))).finally(() => {
        if (this.running) this.#schedule();
      });
    }, Math.max(0, this.#lastEmitMs + this.#config.collection_interval - Date.now()));
    this.#timer.unref();
  }

  /** One interval's rows: live sockets first, then final records (their deltas build on the live read). */
  #collect(dp: Datapath): FlowBatch {
    const now = Date.now();
    let batch: FlowBatch | undefined;
    try {
      const stats = dp.readStats();
      // The map before the final records: a socket read live here and closed
      // since has its final record taken below, which builds on this read
      // (ConnectionTable folds it into the rows the read wrote).
      const live = dp.readConnections();
      const taken = dp.takeRecords();
      const closed = this.#closed;
      this.#closed = [];
      closed.push(taken);
      // Sized for what was read, so the columns never grow (each growth
      // copies every column): two rows per record.
      const records = closed.reduce((n, b) => n + b.byteLength, live.byteLength) / PF_CONN.size;
      batch = this.#newBatch(2 * records + 64, now);
      const orphans = this.#conns.append(batch, live, false);
      if (orphans.length) dp.deleteConnections(BigUint64Array.from(orphans, (c) => BigInt(c)));
      let finals = orphans.length;
      for (const buf of closed) {
        this.#conns.append(batch, buf, true);
        finals += buf.byteLength / PF_CONN.size;
      }
      this.#closedTotal.add(finals);
      const udp = this.#udp.append(batch, dp.readUdp(), now);
      if (udp.idleCount) this.#udpDeleted += dp.deleteUdp(udp.idleKeys);
      this.#countDrops(stats, udp.present);
      for (const part of this.#openParts) part.collect(batch, now);
    } catch (e) {
      this.#readErrors.add(1);
      this.#logger.error('reading the ebpf maps failed', { error: e });
    }
    this.#conns.endInterval();
    return batch ?? this.#newBatch(64, now);
  }

  #newBatch(capacity: number, now: number): FlowBatch {
    const batch = new FlowBatch(capacity);
    batch.startTimeMs = this.#lastEmitMs;
    batch.endTimeMs = now;
    this.#lastEmitMs = now;
    return batch;
  }

  #countDrops(stats: number[], udpPresent: number): void {
    const delta = (i: number) => {
      const d = Math.max(0, stats[i]! - this.#lastStats[i]!);
      this.#lastStats[i] = stats[i]!;
      return d;
    };
    this.#ringbufLost.add(delta(K.PF_STAT_RINGBUF_LOST));
    this.#mapFull.add(delta(K.PF_STAT_CONN_MAP_FULL), { map: 'pf_conns' });
    // An LRU map never fails an insert: it evicts. Evicted = created - deleted - present.
    const evicted = Math.max(this.#udpEvicted, stats[K.PF_STAT_UDP_INSERTS]! - this.#udpDeleted - udpPresent);
    this.#mapFull.add(evicted - this.#udpEvicted + delta(K.PF_STAT_UDP_UPDATE_FAILED), { map: 'pf_udp' });
    this.#udpEvicted = evicted;
  }

  async #emit(batch: FlowBatch): Promise<void> {
    if (batch.length === 0) return;
    if (this.#nat) {
      // conntrack events reach the index in batches up to 20 ms late (the
      // session's flush), so a socket opened just before the read could miss
      // its entry: let them land, then rewrite VIP/SNAT rows in place.
      await new Promise((r) => setTimeout(r, NAT_SETTLE_MS));
      // The index holds only translated connections: empty = nothing to rewrite
      // (saves four hash look-ups per row on a node without NAT).
      if (this.#nat.index.size > 0) this.#nat.index.resolveBatch(batch);
    }
    const rows = batch.length;
    try {
      await consumeAndRelease(this.#next, batch);
      this.#accepted.add(rows, this.#labels);
    } catch (e) {
      this.#refused.add(rows, this.#labels);
      this.#logger.warn('pipeline refused ebpf flows', { rows, error: e });
    }
  }
}
