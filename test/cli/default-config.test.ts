import t from 'tap';
import { chooseDefaultConfig, DEFAULT_EBPF_CONFIG, DEFAULT_METRICS_URL, DEFAULT_SYNTHETIC_CONFIG } from '../../src/cli/default-config.ts';
import { defaultRegistry } from '../../src/components.ts';
import { loadConfig } from '../../src/config/resolve.ts';

t.test('both embedded defaults are valid and differ only in the receiver', async (t) => {
  const ebpf = await loadConfig([DEFAULT_EBPF_CONFIG], defaultRegistry());
  const synth = await loadConfig([DEFAULT_SYNTHETIC_CONFIG], defaultRegistry());
  t.same(ebpf.service.pipelines[0]!.receivers, ['ebpf']);
  t.same(synth.service.pipelines[0]!.receivers, ['synthetic']);
  t.same(ebpf.service.pipelines[0]!.exporters, synth.service.pipelines[0]!.exporters);
  t.same([...ebpf.exporters.keys()], ['console', 'prometheus']);
  const endpoint = (ebpf.exporters.get('prometheus')!.config as { endpoint: string }).endpoint;
  t.equal(DEFAULT_METRICS_URL, `http://${endpoint}/metrics`, 'the notice names the endpoint the defaults serve');
});

t.test('the ebpf default where the probe passes; synthetic with one line of why where not', async (t) => {
  const ok = chooseDefaultConfig({ ok: true });
  t.equal(ok.config, DEFAULT_EBPF_CONFIG);
  t.equal(ok.notice, `podflow: showing this node's TCP and UDP flows from the ebpf receiver as they come; metrics on ${DEFAULT_METRICS_URL}`);
  const fb = chooseDefaultConfig({ ok: false, reason: 'PODFLOW_EBPF_PRIVILEGE: needs CAP_BPF' });
  t.equal(fb.config, DEFAULT_SYNTHETIC_CONFIG);
  t.equal(fb.notice, `podflow: showing synthetic flows, because the ebpf receiver cannot run here (PODFLOW_EBPF_PRIVILEGE: needs CAP_BPF); metrics on ${DEFAULT_METRICS_URL}`);
  for (const c of [ok, fb]) t.notMatch(c.notice, /\n/, 'one line');
});
