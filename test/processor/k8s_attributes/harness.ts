// Shared set-up of the k8s_attributes tests: a fake API server, a kubeconfig
// pointing at it, and the processor built from a config map exactly as the
// service would (schema decode + validate), with short backoffs.

import type { Test } from 'tap';
import { k8sAttributesFactory } from '../../../src/processor/k8s_attributes/factory.ts';
import type { K8sAttributesProcessor, ProcessorHooks } from '../../../src/processor/k8s_attributes/processor.ts';
import { K8sAttributesProcessor as Processor } from '../../../src/processor/k8s_attributes/processor.ts';
import type { K8sAttributesConfig } from '../../../src/processor/k8s_attributes/config.ts';
import type { Problem } from '../../../src/config/schema.ts';
import { FlowBatch } from '../../../src/pdata/flow-batch.ts';
import { appendFlow, readFlow, type FlowRecord } from '../../../src/pdata/flow-record.ts';
import type { Logger } from '../../../src/service/logger.ts';
import { SelfTelemetry } from '../../../src/service/telemetry/self-telemetry.ts';
import { CollectingConsumer } from '../../support/collecting-consumer.ts';
import { testSettings } from '../../support/test-settings.ts';
import { FakeKubeApiServer, type FakeKubeApiServerOptions } from '../../support/fake-kube-apiserver/server.ts';
import { writeKubeconfig } from '../../support/fake-kube-apiserver/kubeconfig.ts';

export function decodeConfig(raw: Record<string, unknown>): K8sAttributesConfig {
  const problems: Problem[] = [];
  const c = k8sAttributesFactory.configSchema.decodeOrDefault(raw, ['processors', 'k8s_attributes'], problems);
  if (c) problems.push(...(k8sAttributesFactory.validate?.(c) ?? []));
  if (problems.length || !c) throw new Error(problems.map((p) => `${p.path.join('::')}: ${p.message}`).join('\n'));
  return c;
}

export interface Rig {
  api: FakeKubeApiServer;
  processor: K8sAttributesProcessor;
  sink: CollectingConsumer;
  telemetry: SelfTelemetry;
  logged: Array<{ level: string; msg: string; fields: Record<string, unknown> | undefined }>;
  /** Runs records through the processor; returns the rows' attributes. */
  run(records: FlowRecord[], times?: { start?: number; end?: number }): Promise<Array<Record<string, string>>>;
}

export async function startRig(
  t: Test, config: Record<string, unknown> = {}, o: { api?: FakeKubeApiServerOptions; hooks?: ProcessorHooks; seed?: (api: FakeKubeApiServer) => void } = {},
): Promise<Rig> {
  const api = new FakeKubeApiServer({ bookmarkIntervalMs: 200, ...o.api });
  o.seed?.(api);
  await api.start();
  const kubeconfig = writeKubeconfig(api.url, api.token);
  const cfg = decodeConfig({
    auth_type: 'kubeConfig',
    kubeconfig_path: kubeconfig,
    watch: { initial_backoff: '50ms', max_backoff: '500ms', page_size: 2, timeout: '30s' },
    wait_for_metadata: true,
    ...config,
  });
  const telemetry = new SelfTelemetry();
  const sink = new CollectingConsumer();
  const logged: Rig['logged'] = [];
  const settings = testSettings('k8s_attributes', { telemetry });
  const logger = (bound: Record<string, unknown>): Logger => ({
    debug: (msg, fields) => logged.push({ level: 'debug', msg, fields: { ...bound, ...fields } }),
    info: (msg, fields) => logged.push({ level: 'info', msg, fields: { ...bound, ...fields } }),
    warn: (msg, fields) => logged.push({ level: 'warn', msg, fields: { ...bound, ...fields } }),
    error: (msg, fields) => logged.push({ level: 'error', msg, fields: { ...bound, ...fields } }),
    child: (f) => logger({ ...bound, ...f }),
  });
  settings.logger = logger({});
  const processor = new Processor(settings, cfg, sink, o.hooks);
  t.teardown(async () => {
    await processor.shutdown();
    await api.stop();
  });
  await processor.start();
  // Synced means listed; the tests that break watches need them open.
  await api.waitForWatchers('pods');
  return {
    api, processor, sink, telemetry, logged,
    async run(records, times = {}) {
      const b = new FlowBatch(4);
      b.startTimeMs = times.start ?? Date.now() - 1000;
      b.endTimeMs = times.end ?? Date.now();
      for (const r of records) appendFlow(b, r);
      const before = sink.batches.length;
      await processor.consume(b);
      const out = sink.batches[before]!;
      return Array.from({ length: out.length }, (_, i) => readFlow(out, i).attributes ?? {});
    },
  };
}

export function flow(src: string, dst: string, extra: Partial<FlowRecord> = {}): FlowRecord {
  return { transport: 'tcp', sourceAddress: src, sourcePort: 40000, destinationAddress: dst, destinationPort: 8080, sourceIsClient: true, counters: { bytes: 100 }, ...extra };
}

/** Polls `check` until it stops throwing (or returns true), or fails after `ms`. */
export async function eventually(check: () => Promise<boolean | void> | boolean | void, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      if ((await check()) !== false) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms}ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Attributes of one side, without the prefix, for compact assertions. */
export function side(attrs: Record<string, string>, prefix: 'source' | 'destination'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (k.startsWith(`${prefix}.`)) out[k.slice(prefix.length + 1)] = v;
  return out;
}
