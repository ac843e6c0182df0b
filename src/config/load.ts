// Reads config sources in order, parses each as YAML, merges them and expands
// environment references (merge first, then expand, as the Collector does).
// A source is a file path, `file:PATH`, `env:VAR` (YAML held in a variable) or
// inline `yaml:TEXT` (the Collector's `--config=yaml:...`).

import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { PodflowError } from '../errors/podflow-error.ts';
import { ConfigError } from './config-error.ts';
import { expandEnv } from './env-expand.ts';
import { mergeConfigs, unflattenKeys } from './merge.ts';
import type { Problem } from './schema.ts';

interface SourceText {
  /** How the source is named in errors: the file path, or "yaml:…". */
  label: string;
  text: string;
}

async function readSource(source: string, env: NodeJS.ProcessEnv): Promise<SourceText> {
  if (source.startsWith('yaml:')) return { label: shorten(source), text: source.slice(5) };
  if (source.startsWith('env:')) {
    const text = env[source.slice(4)];
    if (text === undefined) throw new PodflowError('PODFLOW_CONFIG_READ', `config source "${source}": environment variable ${source.slice(4)} is not set`);
    return { label: source, text };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    throw new PodflowError('PODFLOW_CONFIG_READ', `config source "${source}": unsupported scheme (supported: a file path, file:, env:, yaml:)`);
  }
  const file = source.startsWith('file:') ? source.slice(5) : source;
  try {
    return { label: file, text: await readFile(file, 'utf8') };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new PodflowError('PODFLOW_CONFIG_READ', `cannot read config file "${file}": ${err.message}`.replace(/\s+/g, ' '), { cause: e });
  }
}

function shorten(s: string): string {
  const oneLine = s.replace(/\s+/g, ' ');
  // Quoted, so the source's own colons are not read as line:column.
  return `"${oneLine.length > 48 ? `${oneLine.slice(0, 45)}...` : oneLine}"`;
}

/** Parses one source; every YAML error is reported as label:line:column. */
export function parseYamlSource(src: SourceText): unknown {
  const doc = parseDocument(src.text, { merge: true, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) {
    const lines = doc.errors.map((e) => {
      const at = e.linePos?.[0];
      const [first = '', ...frame] = e.message.split('\n');
      const msg = first.replace(/ at line \d+, column \d+:?$/, '');
      const snippet = frame.filter((l) => l.trim() !== '').join('\n');
      return `${src.label}:${at?.line ?? 0}:${at?.col ?? 0}: ${msg}${snippet ? `\n${snippet}` : ''}`;
    });
    throw new PodflowError('PODFLOW_CONFIG_YAML', lines.join('\n'));
  }
  try {
    return unflattenKeys(doc.toJS({ maxAliasCount: 100 }));
  } catch (e) {
    throw new PodflowError('PODFLOW_CONFIG_YAML', `${src.label}: ${(e as Error).message}`, { cause: e });
  }
}

/** The merged, env-expanded config tree of all sources, not yet validated. */
export async function loadRawConfig(sources: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<unknown> {
  let merged: unknown = {};
  for (const source of sources) {
    // An empty source (null document) adds nothing, as in the Collector.
    merged = mergeConfigs(merged, parseYamlSource(await readSource(source, env)) ?? {});
  }
  const problems: Problem[] = [];
  const expanded = expandEnv(merged, env, problems);
  if (problems.length) throw new ConfigError('PODFLOW_CONFIG_ENV', problems);
  return expanded;
}
