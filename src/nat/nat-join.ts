// The process-wide NAT join: one NatIndex per network namespace, shared by every
// receiver that needs NAT resolved, fed by conntrack records.
//
//   conntrack receiver ──publishes its records──▶ NatIndex ◀── lookups ── ebpf receiver
//   (or, when no conntrack receiver runs, a ConntrackSession the join opens itself)
//
// acquireNatJoin() is reference-counted: the first user opens what is needed,
// the last release() closes it.

import type { Logger } from '../service/logger.ts';
import type { SelfTelemetry } from '../service/telemetry/self-telemetry.ts';
import { ConntrackSession } from '../native/conntrack-session.ts';
import { NatIndex } from './nat-index.ts';

interface Shared {
  index: NatIndex;
  refs: number;
  /** Receivers that publish records into the index (the conntrack receiver). */
  feeders: number;
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
}

export interface NatJoin {
  readonly index: NatIndex;
  release(): Promise<void>;
}

/** Joins the namespace's NAT index; throws PodflowError when a needed session cannot open. */
export async function acquireNatJoin(opts: NatJoinOptions): Promise<NatJoin> {
  const key = opts.netns ?? '';
  let s = shared.get(key);
  if (!s) {
    s = { index: new NatIndex(), refs: 0, feeders: 0, session: undefined };
    shared.set(key, s);
  }
  observe(opts.telemetry, key);
  s.refs++;
  if (opts.feeder) s.feeders++;
  try {
    if (!opts.feeder && s.feeders === 0 && !s.session) {
      // Nobody publishes conntrack records here: follow the table ourselves.
      // Events only need no counters, so no periodic dump (resyncs still run).
      const session = new ConntrackSession({ netns: opts.netns, dumpIntervalMs: 0, enableAcct: false }, opts.where);
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
    }
  } catch (e) {
    await release(key, opts.feeder);
    throw e;
  }
  let released = false;
  const entry = s;
  return {
    index: entry.index,
    release: async () => {
      if (released) return;
      released = true;
      await release(key, opts.feeder);
    },
  };
}

async function release(key: string, feeder: boolean): Promise<void> {
  const s = shared.get(key);
  if (!s) return;
  s.refs--;
  if (feeder) s.feeders--;
  if (s.refs <= 0) {
    shared.delete(key);
    const session = s.session;
    s.session = undefined;
    await session?.close();
  }
}
