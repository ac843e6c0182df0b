import t from 'tap';
import { prometheusExporterFactory } from '../../../src/exporter/prometheus/factory.ts';
import { prometheusBaseName } from '../../../src/exporter/prometheus/prometheus-naming.ts';
import type { Problem } from '../../../src/config/schema.ts';

t.test('unit suffixes as the Collector adds them', async (t) => {
  t.equal(prometheusBaseName('network.flow.bytes', 'By'), 'network.flow.bytes', 'bytes already a word of the name');
  t.equal(prometheusBaseName('network.flow.tcp.rtt', 's'), 'network.flow.tcp.rtt.seconds');
  t.equal(prometheusBaseName('network.flow.packets', '{packet}'), 'network.flow.packets', 'annotations add nothing');
  t.equal(prometheusBaseName('x.size', 'By'), 'x.size.bytes');
});

t.test('config: defaults, resources, label validation', async (t) => {
  const problems: Problem[] = [];
  const c = prometheusExporterFactory.configSchema.decodeOrDefault({}, ['exporters', 'prometheus'], problems)!;
  t.same(problems, []);
  t.equal(c.endpoint, '0.0.0.0:8889');
  t.same(prometheusExporterFactory.resources!(c), [{ kind: 'listen', host: '0.0.0.0', port: 8889, path: ['endpoint'] }]);
  const bad = prometheusExporterFactory.configSchema.decodeOrDefault({ const_labels: { 'bad-name': 'x', __x: 'y', ok: 'z' } }, ['exporters', 'prometheus'], [])!;
  t.same(prometheusExporterFactory.validate!(bad).map((p) => p.path.join('::')), ['const_labels::bad-name', 'const_labels::__x']);
  const p2: Problem[] = [];
  prometheusExporterFactory.configSchema.decodeOrDefault({ endpoint: 'nope', namespace: '1x' }, ['exporters', 'prometheus'], p2);
  t.same(p2.map((p) => p.path.join('::')), ['exporters::prometheus::endpoint', 'exporters::prometheus::namespace']);
});
