// The process-wide NAT join: one NatIndex per network namespace, shared by every
// receiver that needs NAT resolved, fed by conntrack records.
//
//   conntrack receiver ──publishes its records──▶ NatIndex ◀── lookups ── ebpf receiver
//   (or, when no conntrack receiver runs, a ConntrackSession the join opens itself)
//
// acquireNatJoin() is reference-counted: the first user opens what is needed,
// the last release() closes it. Feeders fill the index only while a consumer
// (a receiver that looks up) holds the join: a conntrack receiver alone has its
// own tuples, and at tens of thousands of connections per second the index
// (entries linger 30 s after DESTROY) would cost CPU and hundreds of MiB for
// nobody. The first consumer to arrive has the feeders backfill it with a dump
// before its acquire resolves; when the last consumer leaves, the index is
// cleared.

import type { Logger } from '../service/logger.ts';
import type { SelfTelemetry } from '../service/telemetry/self-telemetry.ts';
import { ConntrackSession } from '../native/conntrack-session.ts';
import { NatIndex } from './nat-index.ts';

interface Shared {
  index: NatIndex;
  refs: number;
  /** Receivers that publish records into the index (the conntrack receiver). */
  feeders: number;
  /** Receivers that look up (the ebpf receiver). */
  consumers: number;
  /** Each feeder's way to run a dump into the index (first consumer's arrival). */
  backfills: Set<() => Promise<void>>;
  session: ConntrackSession | undefined;
}

const shared = new Map<string, Shared>();
// Gauges read the live entry, so they are registered once per telemetry and namespace.
const observed = new WeakMap<SelfTelemetry, Set<string>>();

function observe(telemetry: SelfTelemetry, key: string): void {
  let keys = observed.get(telemetry);
  if (!keys) observed.set(telemetry, (keys = new Set()));
  if (keys.has(key)) return;
  keys.add(key);
  const labels: Record<string, string> = key ? { netns: key } : {};
  telemetry.gauge('podflow_nat_entries', 'Translated connections the NAT join currently knows.')
    .observe(labels, () => shared.get(key)?.index.size ?? 0);
  telemetry.gauge('podflow_nat_dropped', 'NAT entries refused because the index was full (since the index was created).')
    .observe(labels, () => shared.get(key)?.index.dropped ?? 0);
}

export interface NatJoinOptions {
  /** Network namespace file whose conntrack table to join; undefined = podflow's own. */
  netns?: string;
  /**
   * true for a receiver that will publish conntrack records itself
   * (NatJoin.publish*); false for a consumer that only looks up, for which the
   * join opens its own conntrack session unless a feeder exists.
   */
  feeder: boolean;
  logger: Logger;
  telemetry: SelfTelemetry;
  /** Component ID, for error messages. */
  where: string;
  /**
   * Feeders: runs a table dump through the feeder's listeners (which publish it
   * while `wanted`) and resolves when it has ended.
   */
  backfill?: () => Promise<void>;
}

export interface NatJoin {
  readonly index: NatIndex;
  release(): Promise<void>;
}

/** Whether a receiver looks up in the namespace's join: feeders publish records only then. */
export function natWanted(netns: string | undefined): boolean {
  return (shared.get(netns ?? '')?.consumers ?? 0) > 0;
}

/** Joins the namespace's NAT index; throws PodflowError when a needed session cannot open. */
export async function acquireNatJoin(opts: NatJoinOptions): Promise<NatJoin> {
  const key = opts.netns ?? '';
  let s = shared.get(key);
  if (!s) {
    s = { index: new NatIndex(), refs: 0, feeders: 0, consumers: 0, backfills: new Set(), session: undefined };
    shared.set(key, s);
  }
  observe(opts.telemetry, key);
  s.refs++;
  if (opts.feeder) {
    s.feeders++;
    if (opts.backfill) s.backfills.add(opts.backfill);
  } else {
    s.consumers++;
  }
  try {
    if (!opts.feeder && s.feeders === 0 && !s.session) {
      // Nobody publishes conntrack records here: follow the table ourselves.
      // Events only need no counters, so no periodic dump (resyncs still run),
      // and only births and deaths: a translation is in the NEW event, and
      // UPDATEs (each state change) would only refresh what the index keeps.
      const session = new ConntrackSession({ netns: opts.netns, dumpIntervalMs: 0, enableAcct: false, updateEvents: false }, opts.where);
      s.session = session;
      const index = s.index;
      session.addListener({
        onEvents: (v) => index.applyRecords(v),
        onDumpBegin: () => index.dumpBegin(),
        onDumpRecords: (v) => index.applyRecords(v),
        onDumpEnd: (_seq, _r, interrupted) => { if (!interrupted) index.dumpEnd(); },
        onError: (e) => opts.logger.warn('NAT join conntrack session error', { error: e }),
      });
      await session.ready;
    } else if (!opts.feeder && s.consumers === 1) {
      // Feeders were not publishing: what is already in the table comes from a dump.
      await Promise.all([...s.backfills].map((b) => b()));
    }
  } catch (e) {
    await release(key, opts);
    throw e;
  }
  let released = false;
  const entry = s;
  return {
    index: entry.index,
    release: async () => {
      if (released) return;
      released = true;
      await release(key, opts);
    },
  };
}

async function release(key: string, opts: NatJoinOptions): Promise<void> {
  const s = shared.get(key);
  if (!s) return;
  s.refs--;
  if (opts.feeder) {
    s.feeders--;
    if (opts.backfill) s.backfills.delete(opts.backfill);
  } else {
    s.consumers--;
    // Feeders stop publishing; what is left would go stale.
    if (s.consumers === 0) s.index.clear();
  }
  if (s.refs <= 0) {
    shared.delete(key);
    const session = s.session;
    s.session = undefined;
    await session?.close();
  }
}
