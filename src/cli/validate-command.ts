// podflow validate -c FILE...: exit 0 when the merged config is valid, 1 with
// every problem listed (one per line, each with its path) when it is not.

import { defaultRegistry } from '../components.ts';
import { loadConfig } from '../config/resolve.ts';
import { PodflowError } from '../errors/podflow-error.ts';

export async function validateCommand(configs: string[]): Promise<number> {
  if (configs.length === 0) throw new PodflowError('PODFLOW_USAGE', 'validate needs at least one --config FILE');
  const cfg = await loadConfig(configs, defaultRegistry());
  const pipelines = cfg.service.pipelines.map((p) => p.id).join(', ');
  process.stdout.write(`config is valid: ${cfg.service.pipelines.length} pipeline(s) [${pipelines}]\n`);
  return 0;
}
