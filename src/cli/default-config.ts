// The embedded default of `podflow run` with no --config: real flows from the
// kernel where the ebpf receiver can run, synthetic ones where it cannot, with
// one line saying which and why. The live table shows nothing until flows
// come (an idle pipeline does not fill a log with empty tables), so without
// the line a quiet node's `podflow run | tee log` would print nothing at all.

import { fileURLToPath } from 'node:url';
import type { ProbeResult } from '../receiver/ebpf/probe.ts';

export const DEFAULT_EBPF_CONFIG = fileURLToPath(new URL('../../config/default-ebpf.yaml', import.meta.url));
export const DEFAULT_SYNTHETIC_CONFIG = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));

export interface DefaultChoice {
  config: string;
  /** The one line to tell the user what the default shows (and, for synthetic flows, why). */
  notice: string;
}

/** Where both defaults serve Prometheus metrics (their prometheus exporter's endpoint). */
export const DEFAULT_METRICS_URL = 'http://127.0.0.1:8889/metrics';

export function chooseDefaultConfig(probe: ProbeResult): DefaultChoice {
  if (probe.ok) {
    return {
      config: DEFAULT_EBPF_CONFIG,
      notice: `podflow: showing this node's TCP and UDP flows from the ebpf receiver as they come; metrics on ${DEFAULT_METRICS_URL}`,
    };
  }
  return {
    config: DEFAULT_SYNTHETIC_CONFIG,
    notice: `podflow: showing synthetic flows, because the ebpf receiver cannot run here (${probe.reason}); metrics on ${DEFAULT_METRICS_URL}`,
  };
}
