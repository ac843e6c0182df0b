// From the merged raw config and the registry to a ResolvedConfig the service
// builds from, or one ConfigError listing every problem with its path.

import type { Registry } from '../component/registry.ts';
import { ConfigError } from './config-error.ts';
import { loadRawConfig } from './load.ts';
import { isMap } from './merge.ts';
import { listensOf, portConflicts, telemetryListen } from './port-conflicts.ts';
import { resolveSection, SECTIONS, type ResolvedComponent, type Section, type SectionResult } from './resolve-components.ts';
import { resolveService, type ResolvedPipeline } from './resolve-service.ts';
import { describeValue, type Problem } from './schema.ts';
import type { TelemetryConfig } from './telemetry-config.ts';

export type { ResolvedComponent } from './resolve-components.ts';
export type { ResolvedPipeline } from './resolve-service.ts';
export type { TelemetryConfig } from './telemetry-config.ts';

export interface ResolvedConfig {
  receivers: Map<string, ResolvedComponent>;
  processors: Map<string, ResolvedComponent>;
  exporters: Map<string, ResolvedComponent>;
  extensions: Map<string, ResolvedComponent>;
  service: { extensions: string[]; pipelines: ResolvedPipeline[]; telemetry: TelemetryConfig };
}

const TOP_KEYS = [...Object.keys(SECTIONS), 'service'];

export function resolveConfig(raw: unknown, registry: Registry): ResolvedConfig {
  const problems: Problem[] = [];
  let root: Record<string, unknown> = {};
  if (isMap(raw)) root = raw;
  else if (raw !== null && raw !== undefined) problems.push({ path: [], message: `the config must be a map, got ${describeValue(raw)}` });

  const unknown = Object.keys(root).filter((k) => !TOP_KEYS.includes(k));
  if (unknown.length) problems.push({ path: [], message: `has invalid keys: ${unknown.join(', ')} (valid keys: ${TOP_KEYS.join(', ')})` });

  const sections = {} as Record<Section, SectionResult>;
  for (const s of Object.keys(SECTIONS) as Section[]) sections[s] = resolveSection(s, root[s], registry, problems);
  const service = resolveService(root['service'], sections, problems);

  // Ports are compared only between components that will actually run.
  const used = (s: Section, ids: Iterable<string>) =>
    [...new Set(ids)].flatMap((id) => sections[s].resolved.get(id) ?? []);
  const ps = service.pipelines;
  const running = [
    ...used('receivers', ps.flatMap((p) => p.receivers)),
    ...used('processors', ps.flatMap((p) => p.processors)),
    ...used('exporters', ps.flatMap((p) => p.exporters)),
    ...used('extensions', service.extensions),
  ];
  problems.push(...portConflicts([...listensOf(running, problems), ...telemetryListen(service.telemetry)]));

  if (problems.length) throw new ConfigError('PODFLOW_CONFIG_INVALID', problems);
  return {
    receivers: sections.receivers.resolved,
    processors: sections.processors.resolved,
    exporters: sections.exporters.resolved,
    extensions: sections.extensions.resolved,
    service,
  };
}

/** Reads, merges and env-expands the sources in order, then resolves them. */
export async function loadConfig(sources: string[], registry: Registry, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedConfig> {
  return resolveConfig(await loadRawConfig(sources, env), registry);
}
