import t from 'tap';
import { PodflowError } from '../../../src/errors/podflow-error.ts';
import {
  effectiveCapabilities, kernelVersion, missingCapabilities, mounts, resolveCgroupPath,
} from '../../../src/receiver/ebpf/environment.ts';
import { explainDatapathError } from '../../../src/receiver/ebpf/explain-error.ts';

t.test('kernel version', async (t) => {
  t.same(kernelVersion('6.18.44-fc-v782'), [6, 18]);
  t.same(kernelVersion('5.4.0-150-generic'), [5, 4]);
  t.equal(kernelVersion('weird'), undefined);
});

t.test('capabilities name what is missing', async (t) => {
  const bit = (n: number) => 1n << BigInt(n);
  t.same(missingCapabilities(0n), ['CAP_BPF', 'CAP_PERFMON', 'CAP_NET_ADMIN']);
  t.same(missingCapabilities(bit(39) | bit(38) | bit(12)), []);
  t.same(missingCapabilities(bit(21) | bit(12)), [], 'CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON');
  t.same(missingCapabilities(bit(39) | bit(38)), ['CAP_NET_ADMIN']);
  t.equal(effectiveCapabilities('Name:\tnode\nCapEff:\t000001ffffffffff\n'), 0x1ffffffffffn);
});

const HYBRID = [
  '25 30 0:22 / /sys rw,nosuid - sysfs sysfs rw',
  '26 25 0:23 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755',
  '27 26 0:24 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
  '28 26 0:25 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu',
].join('\n');

t.test('cgroup2 mount discovery', async (t) => {
  const m = mounts(HYBRID);
  t.same(m.find((x) => x.fstype === 'cgroup2'), { point: '/sys/fs/cgroup/unified', fstype: 'cgroup2' });
  t.equal(resolveCgroupPath('', m), '/sys/fs/cgroup/unified', 'hybrid host: the unified mount');
  t.equal(resolveCgroupPath('', mounts('1 0 0:1 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw')), '/sys/fs/cgroup');
  t.throws(() => resolveCgroupPath('', mounts('1 0 0:1 / /sys rw - sysfs sysfs rw')), { code: 'PODFLOW_EBPF_FS' });
  t.throws(() => resolveCgroupPath('/no/such/dir', m), { code: 'PODFLOW_EBPF_FS', message: /receivers::ebpf::cgroup_path: "\/no\/such\/dir" does not exist/ });
  t.throws(() => resolveCgroupPath('/sys', m), { code: 'PODFLOW_EBPF_FS', message: /is not on a cgroup2 mount/ });
});

t.test('addon failures become errors that say what to do', async (t) => {
  const fail = (step: string, errno: number, message = 'x: Operation not permitted') =>
    Object.assign(new Error(message), { step, errno });
  const e1 = explainDatapathError(fail('attach_cgroup', 1), '/sys/fs/cgroup');
  t.ok(e1 instanceof PodflowError);
  t.equal(e1.code, 'PODFLOW_EBPF_PRIVILEGE');
  t.match(e1.message, /CAP_NET_ADMIN/);
  t.match(explainDatapathError(fail('attach_tracepoint', 1), '/x'), { code: 'PODFLOW_EBPF_PRIVILEGE', message: /CAP_PERFMON/ });
  t.match(explainDatapathError(fail('load', 1), '/x'), { code: 'PODFLOW_EBPF_PRIVILEGE', message: /CAP_BPF/ });
  t.match(explainDatapathError(fail('load', 13, 'load: Permission denied\n-- BEGIN PROG LOAD LOG --\nR1 invalid'), '/x'),
    { code: 'PODFLOW_EBPF_LOAD', message: /BEGIN PROG LOAD LOG/ }, 'a verifier rejection is not a privilege problem');
  t.match(explainDatapathError(fail('attach_tracepoint', 2), '/x'), { code: 'PODFLOW_EBPF_KERNEL' });
  t.match(explainDatapathError(fail('cgroup', 20), '/x'), { code: 'PODFLOW_EBPF_FS', message: /receivers::ebpf::cgroup_path/ });
});
