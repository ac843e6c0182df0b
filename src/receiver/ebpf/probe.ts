// A cheap check of whether the ebpf receiver can run here, for choosing the
// embedded default pipeline: the environment checks, then a load of the
// programs without attaching anything (the verifier accepts them on this
// kernel), then unload. Mounts nothing.

import { defaultsOf } from '../../config/schema.ts';
import { openDatapath } from '../../native/ebpf.ts';
import { ebpfConfigSchema } from './config.ts';
import { checkEnvironment } from './environment.ts';
import { explainDatapathError } from './explain-error.ts';

export type ProbeResult = { ok: true } | { ok: false; reason: string };

export async function probeEbpf(): Promise<ProbeResult> {
  const c = defaultsOf(ebpfConfigSchema);
  let cgroupPath = '';
  try {
    cgroupPath = checkEnvironment({ cgroupPath: c.cgroup_path, allowMount: false }).cgroupPath;
    const dp = openDatapath({
      cgroupPath,
      connMapSize: 1024,
      udpMapSize: 1024,
      ringBufferSize: 4096 * 16,
      includeLoopback: false,
      attach: false,
    }, () => undefined);
    dp.close();
    return { ok: true };
  } catch (e) {
    const err = explainDatapathError(e, cgroupPath);
    return { ok: false, reason: `${err.code}: ${err.message.split('\n')[0]}` };
  }
}
