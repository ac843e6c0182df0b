// The embedded default of `podflow run` with no --config: real flows from the
// kernel where the ebpf receiver can run, synthetic ones where it cannot, with
// one line saying why.

import { fileURLToPath } from 'node:url';
import type { ProbeResult } from '../receiver/ebpf/probe.ts';

export const DEFAULT_EBPF_CONFIG = fileURLToPath(new URL('../../config/default-ebpf.yaml', import.meta.url));
export const DEFAULT_SYNTHETIC_CONFIG = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));

export interface DefaultChoice {
  config: string;
  /** Set when falling back to synthetic flows: the one line to tell the user. */
  fallbackNotice?: string;
}

export function chooseDefaultConfig(probe: ProbeResult): DefaultChoice {
  if (probe.ok) return { config: DEFAULT_EBPF_CONFIG };
  return {
    config: DEFAULT_SYNTHETIC_CONFIG,
    fallbackNotice: `podflow: showing synthetic flows, because the ebpf receiver cannot run here (${probe.reason})`,
  };
}
