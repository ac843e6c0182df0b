// The synthetic receiver, console exporter and health_check extension through
// the real config loader and registry: keys, durations, and problems with
// their full paths.

import { fileURLToPath } from 'node:url';
import t from 'tap';
import { defaultRegistry } from '../../../src/components.ts';
import { ConfigError } from '../../../src/config/config-error.ts';
import { loadConfig } from '../../../src/config/resolve.ts';
import { formatProblem } from '../../../src/config/schema.ts';

const file = fileURLToPath(new URL('testdata/config.yaml', import.meta.url));

async function problems(yaml: string): Promise<string[]> {
  try {
    await loadConfig([`yaml:${yaml}`], defaultRegistry(), {});
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map(formatProblem);
    throw e;
  }
  return [];
}

t.test('testdata/config.yaml loads with every key', async (t) => {
  const cfg = await loadConfig([file], defaultRegistry(), {});
  t.match(cfg.receivers.get('synthetic')?.config, { seed: 1, interval: 1000, flows_per_interval: 200 });
  t.match(cfg.receivers.get('synthetic/big')?.config, {
    seed: 42, namespaces: 10, workloads_per_namespace: 8, pods_per_workload: 5, interval: 500, flows_per_interval: 5000,
    connections_per_second: 300, zipf_exponent: 1.3, udp_ratio: 0.1, ipv6_ratio: 0.25, stop_after: 20,
  });
  t.same(cfg.exporters.get('console')?.config, { refresh: 2000, top: 20, sort_by: 'retransmits' });
  t.match(cfg.extensions.get('health_check')?.config, { endpoint: '0.0.0.0:13133', path: '/health/status' });
});

t.test('problems name their full paths', async (t) => {
  const lines = await problems(`
receivers:
  synthetic/x: { namespaces: 300, pods_per_workload: 256, workloads_per_namespace: 256, interval: 1ms }
  synthetic/y: { namespaces: 256, pods_per_workload: 256, workloads_per_namespace: 256 }
exporters:
  console: { sort_by: latency }
extensions:
  health_check: { endpoint: 127.0.0.1:8888 }
service:
  extensions: [health_check]
  pipelines: { metrics: { receivers: [synthetic/x, synthetic/y], exporters: [console] } }`);
  t.match(lines.join('\n'), /receivers::synthetic\/x::namespaces: value 300 is above the maximum 256/);
  t.match(lines.join('\n'), /receivers::synthetic\/x::interval: duration 1ms is below the minimum 10ms/);
  t.match(lines.join('\n'), /receivers::synthetic\/y::pods_per_workload: .*16777216 pods, above the maximum 51200/);
  t.match(lines.join('\n'), /exporters::console::sort_by: invalid value "latency"/);
  t.match(lines.join('\n'), /port 8888 is also used by extensions::health_check::endpoint/, 'the declared port collides with self-telemetry');
});
