// The DNS part of the ebpf receiver: bpf/features/dns.bpf.c copies the DNS
// packets of local client sockets to a ring buffer; each collection takes
// what it holds (and the poll thread hands a batch over sooner when the
// programs find the buffer half full); they are parsed and paired, and the
// finished lookups become rows (client → server, dnsRequests = 1,
// dnsDurationUs) in the receiver's FlowBatch.
//
//   kernel ──ring buffer──▶ collect(): takeRecords ──▶ DnsTransactions.observe (parse, pair)
//                      └──▶ poll thread, when half full ──batch──▶ DnsTransactions.observe
//   collect() every interval ──▶ DnsTransactions.flush ──▶ rows of the FlowBatch

import type { CreateSettings } from '../../../component/component.ts';
import { decodeDnsRecords, openDnsCapture, PF_DNS_CONSTANTS as K, type DnsCapture } from '../../../native/ebpf-dns.ts';
import type { FlowBatch } from '../../../pdata/flow-batch.ts';
import type { Logger } from '../../../service/logger.ts';
import type { Counter } from '../../../service/telemetry/self-telemetry.ts';
import type { EbpfConfig } from '../config.ts';
import type { DatapathFeature, FeatureContext } from '../datapath-feature.ts';
import type { DnsConfig } from './config.ts';
import { DnsTransactions, type DnsEvents } from './dns-transactions.ts';

/** Bytes of the capture ring buffer: ~3,700 packets of 568 bytes. */
const RING_BUFFER_SIZE = 1 << 21;
/**
 * The poll thread wakes only when the programs find the buffer half full
 * (0: no period): each collection drains it anyway. Polling every 100 ms cost
 * an idle receiver ~0.08% of a core here, most of it waking the thread.
 */
const POLL_MS = 0;
/**
 * Queries are timed out against "now" minus this: a response captured before
 * now may still be in a batch the poll thread has queued for the main
 * thread, and must not find its query already reported as TIMEOUT.
 */
const DELIVERY_SLACK_NS = 500e6;

/** CLOCK_MONOTONIC in ns, the clock of bpf_ktime_get_ns (libuv's hrtime on Linux). */
export function monotonicNs(): number {
  return Number(process.hrtime.bigint());
}

export class DnsFeature implements DatapathFeature {
  readonly name = 'dns';
  readonly #config: DnsConfig;
  readonly #includeLoopback: boolean;
  readonly #transactions: DnsTransactions;
  readonly #lost: Counter;
  readonly #evicted: Counter;
  readonly #parseErrors: Counter;
  readonly #logger: Logger;
  #loggedException = false;
  readonly #open: typeof openDnsCapture;
  #capture: DnsCapture | undefined;
  #lastStats: number[] = new Array<number>(K.PF_DNS_STAT_MAX).fill(0);

  /** `open` replaces the addon (tests). */
  constructor(settings: CreateSettings, config: EbpfConfig, open: typeof openDnsCapture = openDnsCapture) {
    this.#open = open;
    this.#config = config.dns;
    this.#includeLoopback = config.include_loopback;
    this.#logger = settings.logger;
    const t = settings.telemetry;
    const parseErrors = this.#parseErrors = t.counter('podflow_ebpf_dns_parse_errors_total', 'Captured DNS messages that could not be parsed, by reason (dropped).');
    const truncated = t.counter('podflow_ebpf_dns_truncated_total', 'DNS packets or TCP messages longer than the capture (512 bytes per packet); parsed as far as captured.');
    const unmatched = t.counter('podflow_ebpf_dns_unmatched_responses_total', 'DNS responses that answered no pending query (late, duplicate, or for another question); dropped.');
    const timeouts = t.counter('podflow_ebpf_dns_timeouts_total', 'DNS queries unanswered within dns::timeout (reported with dns.response_code=TIMEOUT).');
    this.#evicted = t.counter('podflow_ebpf_dns_pending_evicted_total', 'Pending DNS queries dropped unreported: the oldest beyond dns::max_pending (reason=max_pending), or still pending at shutdown (reason=shutdown).');
    this.#lost = t.counter('podflow_ebpf_dns_lost_total', 'DNS packets not captured (reason=ringbuf_full, read_failed, invalid_record) or finished lookups dropped before the next collection (reason=finished_overflow).');
    t.gauge('podflow_ebpf_dns_pending', 'DNS queries waiting for their response.').observe({}, () => this.#transactions.pending);
    const events: DnsEvents = {
      parseError: (reason) => parseErrors.add(1, { reason }),
      truncated: () => truncated.add(1),
      unmatchedResponse: () => unmatched.add(1),
      pendingEvicted: () => this.#evicted.add(1, { reason: 'max_pending' }),
      timedOut: () => timeouts.add(1),
      finishedDropped: () => this.#lost.add(1, { reason: 'finished_overflow' }),
    };
    this.#transactions = new DnsTransactions({
      timeoutMs: this.#config.timeout,
      maxPending: this.#config.max_pending,
      queryNames: this.#config.query_names,
      events,
    });
  }

  open(ctx: FeatureContext): void {
    if (this.#capture) return;
    this.#capture = this.#open({
      cgroupPath: ctx.cgroupPath,
      ports: this.#config.ports,
      ringBufferSize: RING_BUFFER_SIZE,
      includeLoopback: this.#includeLoopback,
      pollIntervalMs: POLL_MS,
    }, (records) => this.#observe(records));
    ctx.logger.info('ebpf dns capture attached', { ports: this.#config.ports });
  }

  collect(batch: FlowBatch, nowMs: number): void {
    void nowMs;
    if (!this.#capture) return;
    this.#observe(this.#capture.takeRecords());
    this.#countLost(this.#capture.readStats());
    this.#transactions.flush(batch, monotonicNs() - DELIVERY_SLACK_NS);
  }

  close(batch: FlowBatch, nowMs: number): void {
    void nowMs;
    const capture = this.#capture;
    if (!capture) return;
    this.#capture = undefined;
    const stats = capture.readStats();
    this.#observe(capture.close());
    this.#countLost(stats);
    // Everything is delivered now: no slack.
    this.#transactions.flush(batch, monotonicNs());
    const left = this.#transactions.pending;
    if (left > 0) this.#evicted.add(left, { reason: 'shutdown' });
  }

  /** Run time of the two programs (benchmarks; zero unless kernel.bpf_stats_enabled=1). */
  programStats(): Array<{ name: string; runTimeNs: number; runCount: number }> {
    return this.#capture?.readProgStats() ?? [];
  }

  #observe(records: ArrayBuffer): void {
    const bad = decodeDnsRecords(records, (p) => {
      // This runs in the addon's callback, where a throw would end the process:
      // a parser bug on hostile bytes costs one packet, counted, not the agent.
      try {
        this.#transactions.observe(p);
      } catch (e) {
        this.#parseErrors.add(1, { reason: 'exception' });
        if (!this.#loggedException) this.#logger.error('dns packet handling failed (counted in podflow_ebpf_dns_parse_errors_total{reason="exception"}; logged once)', { error: e });
        this.#loggedException = true;
      }
    });
    if (bad) this.#lost.add(bad, { reason: 'invalid_record' });
  }

  #countLost(stats: number[]): void {
    const reasons = [[K.PF_DNS_STAT_RINGBUF_FULL, 'ringbuf_full'], [K.PF_DNS_STAT_READ_FAILED, 'read_failed']] as const;
    for (const [i, reason] of reasons) {
      const d = Math.max(0, (stats[i] ?? 0) - this.#lastStats[i]!);
      this.#lastStats[i] = stats[i] ?? 0;
      if (d) this.#lost.add(d, { reason });
    }
  }
}
