// Finds two running components that would listen on the same port, at config
// time rather than as an EADDRINUSE at start (the idea Vector's resource
// declarations follow). Only components that will run are checked: those a
// pipeline uses, the extensions service::extensions enables, and the
// self-telemetry endpoint unless its level is "none".

import type { ListenResource } from '../component/component.ts';
import { splitHostPort } from './host-port.ts';
import type { ResolvedComponent } from './resolve-components.ts';
import { formatPath, type Problem } from './schema.ts';
import type { TelemetryConfig } from './telemetry-config.ts';

interface Listen {
  host: string;
  port: number;
  /** Full YAML path of the setting. */
  path: string[];
}

const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);

function canonicalHost(h: string): string {
  const host = h.toLowerCase();
  return host === 'localhost' ? '127.0.0.1' : host;
}

function overlap(a: Listen, b: Listen): boolean {
  if (a.port !== b.port || a.port === 0) return false;
  const ha = canonicalHost(a.host);
  const hb = canonicalHost(b.host);
  return ha === hb || WILDCARDS.has(ha) || WILDCARDS.has(hb);
}

/** The listen addresses of the given components; the factory's paths are relative to the component. */
export function listensOf(components: Iterable<ResolvedComponent>, problems: Problem[]): Listen[] {
  const out: Listen[] = [];
  for (const rc of components) {
    const resources = rc.factory.resources as ((c: unknown) => ListenResource[]) | undefined;
    if (!resources) continue;
    try {
      for (const r of resources.call(rc.factory, rc.config)) out.push({ host: r.host, port: r.port, path: [...rc.path, ...r.path] });
    } catch (e) {
      problems.push({ path: rc.path, message: `cannot determine the ports it listens on: ${(e as Error).message}` });
    }
  }
  return out;
}

export function telemetryListen(t: TelemetryConfig): Listen[] {
  if (t.metrics.level === 'none') return [];
  try {
    const { host, port } = splitHostPort(t.metrics.address);
    return [{ host, port, path: ['service', 'telemetry', 'metrics', 'address'] }];
  } catch {
    return []; // the schema has already reported the bad address
  }
}

/** One problem per listen address that collides with an earlier one. */
export function portConflicts(listens: readonly Listen[]): Problem[] {
  const problems: Problem[] = [];
  listens.forEach((b, i) => {
    const a = listens.slice(0, i).find((x) => overlap(x, b));
    if (a) problems.push({ path: b.path, message: `port ${b.port} is also used by ${formatPath(a.path)}` });
  });
  return problems;
}
