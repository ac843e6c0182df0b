// Resolves one top-level section (receivers, processors, ...): parses each ID,
// finds its factory (or deprecated alias), decodes its config with the factory's
// schema and runs the factory's cross-field checks, with every path prefixed by
// the component's own (`exporters::otlp_grpc/backup::endpoint`).

import type { ComponentKind, Factory } from '../component/component.ts';
import type { Registry } from '../component/registry.ts';
import { isIdError, parseComponentId } from './component-id.ts';
import { isMap } from './merge.ts';
import { describeValue, type Problem } from './schema.ts';

export interface ResolvedComponent {
  /** The ID as written (normalised), e.g. "otlp/backup" even when "otlp" is an alias. */
  id: string;
  /** The factory's canonical type, even when an alias was written. */
  type: string;
  factory: Factory;
  /** Decoded with factory.configSchema, defaults filled. */
  config: unknown;
  /** e.g. ['exporters', 'otlp_grpc/backup'] */
  path: string[];
  /** The deprecated alias the config used, for a warning. */
  deprecatedAlias?: string;
}

export interface SectionResult {
  /** Every ID declared in the section (valid syntax), with its factory when the type is known. */
  declared: Map<string, Factory | undefined>;
  /** Components whose type is known and whose config decoded without problems. */
  resolved: Map<string, ResolvedComponent>;
}

export const SECTIONS = {
  receivers: 'receiver',
  processors: 'processor',
  exporters: 'exporter',
  extensions: 'extension',
} as const satisfies Record<string, ComponentKind>;
export type Section = keyof typeof SECTIONS;

export function resolveSection(section: Section, value: unknown, registry: Registry, problems: Problem[]): SectionResult {
  const out: SectionResult = { declared: new Map(), resolved: new Map() };
  if (value === null || value === undefined) return out;
  if (!isMap(value)) {
    problems.push({ path: [section], message: `expected a map, got ${describeValue(value)}` });
    return out;
  }
  const kind = SECTIONS[section];
  for (const [key, raw] of Object.entries(value)) {
    const parsed = parseComponentId(key);
    if (isIdError(parsed)) {
      problems.push({ path: [section, key], message: parsed.error });
      continue;
    }
    const { id, type } = parsed;
    if (out.declared.has(id)) {
      problems.push({ path: [section, key], message: `duplicate id "${id}"` });
      continue;
    }
    const factory = registry.get(kind, type);
    out.declared.set(id, factory);
    if (!factory) {
      const valid = registry.types(kind).join(' ');
      problems.push({ path: [section], message: `unknown type: "${type}" for id: "${id}" (valid values: [${valid}])` });
      continue;
    }
    const rc = decodeComponent(factory, id, type, [section, id], raw, problems);
    if (rc) out.resolved.set(id, rc);
  }
  return out;
}

function decodeComponent(
  factory: Factory, id: string, written: string, path: string[], raw: unknown, problems: Problem[],
): ResolvedComponent | undefined {
  const config: unknown = factory.configSchema.decodeOrDefault(raw, path, problems);
  if (config === undefined) return undefined;
  // The factory's types are erased in the Factory union; its own schema produced `config`.
  const validate = factory.validate as ((c: unknown) => Problem[]) | undefined;
  const more = validate?.call(factory, config) ?? [];
  for (const p of more) problems.push({ path: [...path, ...p.path], message: p.message });
  if (more.length) return undefined;
  const rc: ResolvedComponent = { id, type: factory.type, factory, config, path };
  if (written !== factory.type) rc.deprecatedAlias = written;
  return rc;
}
