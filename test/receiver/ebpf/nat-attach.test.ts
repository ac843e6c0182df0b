// attachNat: `nat: auto` without conntrack warns once and runs unresolved;
// `off` never touches conntrack; other failures (a bad nat_netns) are thrown.

import t from 'tap';
import { PodflowError } from '../../../src/errors/podflow-error.ts';
import type { NatJoin } from '../../../src/nat/nat-join.ts';
import { NatIndex } from '../../../src/nat/nat-index.ts';
import { attachNat } from '../../../src/receiver/ebpf/nat-attach.ts';
import { createLogger } from '../../../src/service/logger.ts';
import { SelfTelemetry } from '../../../src/service/telemetry/self-telemetry.ts';

function setup() {
  const lines: Array<{ level: string; msg: string; code?: string }> = [];
  const logger = createLogger({ write: (l) => lines.push(JSON.parse(l)), level: 'debug' });
  return { lines, base: { logger, telemetry: new SelfTelemetry(), where: 'receivers::ebpf', netns: undefined } };
}

for (const code of ['PODFLOW_CONNTRACK_PERMISSION', 'PODFLOW_CONNTRACK_UNSUPPORTED'] as const) {
  t.test(`auto, conntrack unavailable (${code}): one warning, no join`, async (t) => {
    const { lines, base } = setup();
    let calls = 0;
    const nat = await attachNat({ ...base, mode: 'auto' }, async () => {
      calls++;
      throw new PodflowError(code, 'receivers::ebpf: no conntrack');
    });
    t.equal(nat, undefined);
    t.equal(calls, 1);
    t.equal(lines.length, 1);
    t.equal(lines[0]!.level, 'warn');
    t.equal(lines[0]!.code, code);
    t.match(lines[0]!.msg, /without NAT resolution/);
  });
}

t.test('auto: another failure (a namespace that cannot be joined) is thrown', async (t) => {
  const { base } = setup();
  await t.rejects(attachNat({ ...base, mode: 'auto', netns: '/nonexistent' }, async () => {
    throw new PodflowError('PODFLOW_COMPONENT_START', 'receivers::ebpf::netns: open netns: no such file or directory');
  }), { code: 'PODFLOW_COMPONENT_START' });
});

t.test('auto: the join is acquired as a look-up-only user of the configured namespace', async (t) => {
  const { lines, base } = setup();
  const join: NatJoin = { index: new NatIndex(), release: async () => undefined };
  let seen: unknown;
  const nat = await attachNat({ ...base, mode: 'auto', netns: '/var/run/netns/x' }, async (o) => {
    seen = { feeder: o.feeder, netns: o.netns, where: o.where };
    return join;
  });
  t.equal(nat, join);
  t.same(seen, { feeder: false, netns: '/var/run/netns/x', where: 'receivers::ebpf' });
  t.same(lines, []);
});

t.test('off: conntrack is never opened', async (t) => {
  const { lines, base } = setup();
  const nat = await attachNat({ ...base, mode: 'off' }, async () => t.fail('acquired') as never);
  t.equal(nat, undefined);
  t.same(lines, []);
});
