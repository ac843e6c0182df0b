import t from 'tap';
import type { Signal } from '../../../src/component/component.ts';
import type { Problem } from '../../../src/config/schema.ts';
import { debugExporterFactory } from '../../../src/exporter/debug/factory.ts';
import { createLogger } from '../../../src/service/logger.ts';
import { testSettings } from '../../support/test-settings.ts';
import { CLIENT, nodeBatch, SERVER } from '../support/connection-views.ts';

async function run(signal: Signal, verbosity: string) {
  const problems: Problem[] = [];
  const config = debugExporterFactory.configSchema.decodeOrDefault({ verbosity }, ['exporters', 'debug'], problems)!;
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const e = debugExporterFactory.create({ ...testSettings('debug', { signal }), logger }, config);
  await e.start();
  await e.consume(nodeBatch('server', 1_700_000_000_000, [{}, { clientPort: 1, ended: false }]));
  await e.shutdown();
  return lines;
}

t.test('logs pipeline: one record per connection', async (t) => {
  t.match(await run('logs', 'basic'), [{ msg: 'Logs', log_records: 2 }]);
  const detailed = await run('logs', 'detailed');
  t.equal(detailed.length, 3);
  t.match(detailed[1], { msg: /^tcp 10\.1\.0\.5:41000 -> 10\.2\.0\.7:8080 fin after 1500 ms/, 'flow.observer': 'server', 'flow.bytes.server_to_client': 48_000 });
  t.match(detailed[2], { msg: /active/, 'flow.state': 'active' });
});

t.test('traces pipeline: spans of ended TCP connections only', async (t) => {
  const normal = await run('traces', 'normal');
  t.equal(normal.length, 2);
  t.match(normal[1], { msg: new RegExp(`^SERVER tcp ${SERVER.workload}:8080 trace=[0-9a-f]{32} span=[0-9a-f]{16} parent=[0-9a-f]{16}$`) });
  const detailed = await run('traces', 'detailed');
  t.match(detailed[1], { 'service.name': SERVER.workload, 'peer.service': CLIENT.workload, status: 0 });
});
