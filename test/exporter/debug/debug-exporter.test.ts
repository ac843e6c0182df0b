import t from 'tap';
import { debugExporterFactory } from '../../../src/exporter/debug/factory.ts';
import type { Problem } from '../../../src/config/schema.ts';
import { createLogger } from '../../../src/service/logger.ts';
import { testSettings } from '../../support/test-settings.ts';
import { SAMPLE_BYTES, sampleBatch } from '../support/sample-flows.ts';

async function run(verbosity: unknown) {
  const problems: Problem[] = [];
  const config = debugExporterFactory.configSchema.decodeOrDefault(verbosity === undefined ? {} : { verbosity }, ['exporters', 'debug'], problems);
  const lines: Array<Record<string, unknown>> = [];
  if (!config) return { problems, lines };
  const logger = createLogger({ write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const e = debugExporterFactory.create({ ...testSettings('debug'), logger }, config);
  await e.start();
  await e.consume(sampleBatch());
  await e.shutdown();
  return { problems, lines };
}

t.test('basic (default): one line per batch with totals', async (t) => {
  const { lines } = await run(undefined);
  t.equal(lines.length, 1);
  t.match(lines[0], { msg: 'Flows', flows: 4, bytes: SAMPLE_BYTES, packets: 17, retransmits: 2, opened: 2, closed: 1, interval_ms: 10_000 });
  t.notOk('rttUs' in lines[0]!, 'RTT is not summed');
});

t.test('normal: one line per flow', async (t) => {
  const { lines } = await run('normal');
  t.equal(lines.length, 5);
  t.equal(lines[1]!.msg, 'tcp 10.0.0.1:40001 -> 10.0.0.2:8080 bytes=1000 packets=10 retransmits=2 opened=1 rttUs=1500');
  t.equal(lines[3]!.msg, 'udp 10.0.0.3:5353 -> 10.0.0.53:53 bytes=100 packets=1');
  t.equal(lines[4]!.msg, 'tcp 10.0.0.1:40003 -> 10.0.0.9:8443 (via 10.96.0.10:443) bytes=42 packets=1');
  t.notOk('source.address' in lines[1]!, 'no attribute fields at normal');
});

t.test('detailed: every attribute and counter', async (t) => {
  const { lines } = await run('detailed');
  t.equal(lines.length, 5);
  t.match(lines[1], {
    'network.transport': 'tcp', 'source.address': '10.0.0.1', 'source.port': 40001, 'destination.port': 8080,
    'flow.observer': 'source', 'source.is_client': true, 'source.k8s.namespace.name': 'shop', 'destination.k8s.service.name': 'cart',
    counters: { bytes: 1000, packets: 10, retransmits: 2, opened: 1, rttUs: 1500 },
  });
  t.match(lines[4], { 'destination.original.address': '10.96.0.10', 'destination.original.port': 443 });
});

t.test('an unknown verbosity is a config error naming the path', async (t) => {
  const { problems } = await run('loud');
  t.same(problems, [{ path: ['exporters', 'debug', 'verbosity'], message: 'invalid value "loud" (valid values: [basic, normal, detailed])' }]);
});
