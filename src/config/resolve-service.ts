// Resolves the service section: service::extensions, service::pipelines and
// service::telemetry, checking every reference against the declared components
// with the Collector's wording ("references exporter "y" which is not configured").

import { SIGNALS, type Factory, type Signal } from '../component/component.ts';
import { isIdError, parseComponentId } from './component-id.ts';
import { isMap } from './merge.ts';
import type { SectionResult } from './resolve-components.ts';
import { defaultsOf, describeValue, list, object, string, type Problem } from './schema.ts';
import { telemetrySchema, type TelemetryConfig } from './telemetry-config.ts';

export interface ResolvedPipeline {
  /** 'metrics' or 'metrics/name' */
  id: string;
  signal: Signal;
  receivers: string[];
  processors: string[];
  exporters: string[];
}

export interface ResolvedService {
  extensions: string[];
  pipelines: ResolvedPipeline[];
  telemetry: TelemetryConfig;
}

export interface Declared {
  receivers: SectionResult;
  processors: SectionResult;
  exporters: SectionResult;
  extensions: SectionResult;
}

const refs = list(string(), { default: [] });
const pipelineSchema = object({ receivers: refs, processors: refs, exporters: refs });
const SERVICE_KEYS = ['extensions', 'pipelines', 'telemetry'];
const VALID_SIGNALS = [...SIGNALS].sort().join(' ');

export function resolveService(value: unknown, declared: Declared, problems: Problem[]): ResolvedService {
  const out: ResolvedService = { extensions: [], pipelines: [], telemetry: defaultsOf(telemetrySchema) };
  if (value !== null && value !== undefined && !isMap(value)) {
    problems.push({ path: ['service'], message: `expected a map, got ${describeValue(value)}` });
    return out;
  }
  const svc = value ?? {};
  const unknown = Object.keys(svc).filter((k) => !SERVICE_KEYS.includes(k));
  if (unknown.length) {
    problems.push({ path: ['service'], message: `has invalid keys: ${unknown.join(', ')} (valid keys: ${SERVICE_KEYS.join(', ')})` });
  }
  const tel = telemetrySchema.decodeOrDefault(svc['telemetry'], ['service', 'telemetry'], problems);
  if (tel) out.telemetry = tel;

  const exts = refs.decode(svc['extensions'] ?? [], ['service', 'extensions'], problems) ?? [];
  out.extensions = checkRefs(exts, 'extension', declared.extensions, ['service', 'extensions'], problems);

  const pipelines = svc['pipelines'];
  if (pipelines !== null && pipelines !== undefined && !isMap(pipelines)) {
    problems.push({ path: ['service', 'pipelines'], message: `expected a map, got ${describeValue(pipelines)}` });
    return out;
  }
  if (!pipelines || Object.keys(pipelines).length === 0) {
    problems.push({ path: ['service'], message: 'must have at least one pipeline' });
    return out;
  }
  for (const [key, body] of Object.entries(pipelines)) {
    const p = resolvePipeline(key, body, declared, problems);
    if (p) out.pipelines.push(p);
  }
  return out;
}

function resolvePipeline(key: string, body: unknown, declared: Declared, problems: Problem[]): ResolvedPipeline | undefined {
  const parsed = parseComponentId(key);
  if (isIdError(parsed)) {
    problems.push({ path: ['service', 'pipelines', key], message: parsed.error });
    return undefined;
  }
  const signal = SIGNALS.find((s) => s === parsed.type);
  if (!signal) {
    problems.push({
      path: ['service', 'pipelines'],
      message: `unknown signal "${parsed.type}" for pipeline "${parsed.id}" (valid values: [${VALID_SIGNALS}])`,
    });
    return undefined;
  }
  const path = ['service', 'pipelines', parsed.id];
  const before = problems.length;
  const cfg = pipelineSchema.decodeOrDefault(body, path, problems);
  if (!cfg) return undefined;
  if (cfg.receivers.length === 0) problems.push({ path, message: 'must have at least one receiver' });
  if (cfg.exporters.length === 0) problems.push({ path, message: 'must have at least one exporter' });
  const p: ResolvedPipeline = {
    id: parsed.id,
    signal,
    receivers: checkRefs(cfg.receivers, 'receiver', declared.receivers, path, problems, signal),
    processors: checkRefs(cfg.processors, 'processor', declared.processors, path, problems, signal),
    exporters: checkRefs(cfg.exporters, 'exporter', declared.exporters, path, problems, signal),
  };
  return problems.length === before ? p : undefined;
}

/** Normalises references and reports unknown, duplicated and signal-incompatible ones. */
function checkRefs(
  written: string[], kind: string, section: SectionResult, path: string[], problems: Problem[], signal?: Signal,
): string[] {
  const seen = new Set<string>();
  const ids: string[] = [];
  for (const w of written) {
    const parsed = parseComponentId(w);
    const id = isIdError(parsed) ? w : parsed.id;
    if (!section.declared.has(id)) {
      problems.push({ path, message: `references ${kind} "${w}" which is not configured` });
      continue;
    }
    if (seen.has(id)) {
      problems.push({ path, message: `references ${kind} "${id}" multiple times` });
      continue;
    }
    seen.add(id);
    ids.push(id);
    const factory: Factory | undefined = section.declared.get(id);
    if (signal && factory && 'signals' in factory && !factory.signals.includes(signal)) {
      problems.push({ path, message: `${kind} "${id}" does not support ${signal}` });
    }
  }
  return ids;
}
