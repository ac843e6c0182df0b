// Starts an ebpf receiver for an end-to-end test and sums what it reported
// for a set of flows (the test's own addresses), per edge and observer.

import type { Test } from 'tap';
import { defaultsOf } from '../../../src/config/schema.ts';
import type { CounterColumn } from '../../../src/pdata/flow-batch.ts';
import { readFlow, type FlowRecord } from '../../../src/pdata/flow-record.ts';
import { ebpfConfigSchema, type EbpfConfig } from '../../../src/receiver/ebpf/config.ts';
import { EbpfReceiver } from '../../../src/receiver/ebpf/ebpf-receiver.ts';
import { SelfTelemetry } from '../../../src/service/telemetry/self-telemetry.ts';
import { CollectingConsumer } from '../../support/collecting-consumer.ts';
import { testSettings } from '../../support/test-settings.ts';

export interface Harness {
  receiver: EbpfReceiver;
  sink: CollectingConsumer;
  telemetry: SelfTelemetry;
  /** Every row so far whose source or destination address is in `addrs`. */
  flows(addrs: string[]): FlowRecord[];
  /** Waits until `n` more batches arrived (so everything before is reported). */
  settle(n?: number): Promise<void>;
}

export async function startReceiver(t: Test, overrides: Partial<EbpfConfig> = {}): Promise<Harness> {
  const telemetry = new SelfTelemetry();
  const sink = new CollectingConsumer();
  const config = { ...defaultsOf(ebpfConfigSchema), collection_interval: 200, ...overrides };
  const receiver = new EbpfReceiver(testSettings('ebpf', { telemetry }), config, sink);
  t.teardown(() => receiver.shutdown());
  await receiver.start();
  return {
    receiver,
    sink,
    telemetry,
    flows(addrs) {
      const out: FlowRecord[] = [];
      for (const b of sink.batches) {
        for (let i = 0; i < b.length; i++) {
          const r = readFlow(b, i);
          if (addrs.includes(r.sourceAddress) || addrs.includes(r.destinationAddress)) out.push(r);
        }
      }
      return out;
    },
    // Interval timers run even when idle; an empty interval emits nothing, so
    // wait on time rather than on batch count.
    async settle(n = 2) {
      await new Promise((r) => setTimeout(r, config.collection_interval * n + 100));
    },
  };
}

export function sum(rows: FlowRecord[], c: CounterColumn): number {
  return rows.reduce((n, r) => n + (r.counters?.[c] ?? 0), 0);
}

/** Parses `ss -tinH` output for one connection into its counters. */
export function ssCounters(text: string): { bytesAcked: number; bytesReceived: number; retrans: number } {
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? 'NaN');
  return {
    bytesAcked: num(/bytes_acked:(\d+)/),
    bytesReceived: num(/bytes_received:(\d+)/),
    retrans: num(/retrans:\d+\/(\d+)/) || 0,
  };
}
