// One lifecycle test over every registered factory, so no component escapes it:
// create from the default config (plus the few overrides a test machine needs),
// start, consume a batch, shutdown twice.

import t, { type Test } from 'tap';
import type { Component, ConsumerComponent, Factory } from '../../src/component/component.ts';
import { factories } from '../../src/components.ts';
import type { Problem } from '../../src/config/schema.ts';
import { FlowBatch } from '../../src/pdata/flow-batch.ts';
import { appendFlow } from '../../src/pdata/flow-record.ts';
import { CollectingConsumer } from '../support/collecting-consumer.ts';
import { testSettings } from '../support/test-settings.ts';

// Only what a test machine cannot give a default: free ports, no cluster, a backend address.
const OVERRIDES: Record<string, Record<string, unknown>> = {
  prometheus: { endpoint: '127.0.0.1:0' },
  health_check: { endpoint: '127.0.0.1:0' },
  otlp_grpc: { endpoint: '127.0.0.1:1', timeout: '200ms', shutdown_timeout: '200ms' },
  otlp_http: { endpoint: 'http://127.0.0.1:1', timeout: '200ms', shutdown_timeout: '200ms' },
  memory_limiter: { check_interval: '1s', limit_percentage: 90 },
  k8s_attributes: { auth_type: 'none' },
  console: { refresh: '50ms' },
};

function sampleBatch(): FlowBatch {
  const b = new FlowBatch(4);
  appendFlow(b, {
    transport: 'tcp', sourceAddress: '10.244.0.5', sourcePort: 40000, destinationAddress: '10.244.1.6',
    destinationPort: 8080, sourceIsClient: true, counters: { bytes: 1500, packets: 2, opened: 1 },
  });
  return b;
}

function decodeDefault(f: Factory): unknown {
  const problems: Problem[] = [];
  const cfg = f.configSchema.decodeOrDefault(OVERRIDES[f.type] ?? {}, [f.kind, f.type], problems);
  if (problems.length) throw new Error(problems.map((p) => `${p.path.join('::')}: ${p.message}`).join('\n'));
  return cfg;
}

async function exercise(t: Test, c: Component, consume?: () => Promise<void>) {
  await c.start();
  await c.start(); // idempotent
  if (consume) await consume();
  await c.shutdown();
  await c.shutdown(); // idempotent
  t.pass('start, consume, shutdown twice');
}

t.ok(factories.length > 0, 'there are registered factories');

for (const f of factories) {
  t.test(`${f.kind} ${f.type}`, async (t) => {
    const config = decodeDefault(f);
    const settings = testSettings(f.type);
    switch (f.kind) {
      case 'receiver': {
        const sink = new CollectingConsumer();
        await exercise(t, f.create(settings, config, sink));
        break;
      }
      case 'processor': {
        const sink = new CollectingConsumer();
        const p: ConsumerComponent = f.create(settings, config, sink);
        await exercise(t, p, () => p.consume(sampleBatch()));
        break;
      }
      case 'exporter': {
        const e = f.create(settings, config);
        await exercise(t, e, () => e.consume(sampleBatch()));
        break;
      }
      case 'extension':
        await exercise(t, f.create(settings, config));
        break;
    }
  });
}
