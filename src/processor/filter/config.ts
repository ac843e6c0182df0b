// filter settings, in the Collector's filterprocessor style:
//
//   filter:
//     include: { match_type: strict, namespaces: [shop] }
//     exclude:
//       match_type: regexp
//       attributes: [{ key: destination.k8s.workload.name, value: "^kube-" }]
//       destination_cidrs: [169.254.0.0/16]
//
// Regexps and CIDRs are checked while decoding, so their errors are reported
// together with every other config problem, each with its full path.

import {
  enumOf, list, object, optional, string, type Infer, type Problem, type Schema,
} from '../../config/schema.ts';
import { isBuiltinKey } from '../../pdata/flow-attribute-keys.ts';
import { parseCidr } from './cidr.ts';

const attribute = object({
  key: string({ required: true }),
  value: optional(string()),
});

const matchFields = object({
  match_type: enumOf(['strict', 'regexp'] as const, { default: 'strict' }),
  attributes: list(attribute, { default: [] }),
  namespaces: list(string(), { default: [] }),
  source_cidrs: list(string(), { default: [] }),
  destination_cidrs: list(string(), { default: [] }),
});

export type MatchProperties = Infer<typeof matchFields>;

function checkMatch(m: MatchProperties, path: string[]): Problem[] {
  const problems: Problem[] = [];
  if (!m.attributes.length && !m.namespaces.length && !m.source_cidrs.length && !m.destination_cidrs.length) {
    problems.push({ path, message: 'must set at least one of attributes, namespaces, source_cidrs, destination_cidrs' });
  }
  const checkRegexp = (text: string, at: string[]) => {
    try {
      new RegExp(text);
    } catch (e) {
      problems.push({ path: at, message: `invalid regexp "${text}": ${(e as Error).message}` });
    }
  };
  m.attributes.forEach((a, i) => {
    const at = [...path, 'attributes', String(i)];
    if (m.match_type === 'regexp' && (a.key === 'source.address' || a.key === 'destination.address')) {
      problems.push({ path: [...at, 'key'], message: `"${a.key}" cannot be matched by regexp; use source_cidrs or destination_cidrs` });
      return;
    }
    if (a.value === undefined) return;
    if (m.match_type === 'regexp') checkRegexp(a.value, [...at, 'value']);
    else if (isBuiltinKey(a.key)) {
      const msg = checkBuiltinValue(a.key, a.value);
      if (msg) problems.push({ path: [...at, 'value'], message: msg });
    }
  });
  if (m.match_type === 'regexp') m.namespaces.forEach((n, i) => checkRegexp(n, [...path, 'namespaces', String(i)]));
  for (const field of ['source_cidrs', 'destination_cidrs'] as const) {
    m[field].forEach((c, i) => {
      try {
        parseCidr(c);
      } catch (e) {
        problems.push({ path: [...path, field, String(i)], message: (e as Error).message });
      }
    });
  }
  return problems;
}

/** What a strict value of a built-in must look like; undefined when fine. */
function checkBuiltinValue(key: string, value: string): string | undefined {
  switch (key) {
    case 'source.port':
    case 'destination.port':
      return /^\d{1,5}$/.test(value) && Number(value) <= 65535 ? undefined : `invalid port "${value}" (0..65535)`;
    case 'network.transport':
      return ['tcp', 'udp', 'icmp'].includes(value) ? undefined : `invalid value "${value}" (valid values: [tcp, udp, icmp])`;
    case 'network.type':
      return ['ipv4', 'ipv6'].includes(value) ? undefined : `invalid value "${value}" (valid values: [ipv4, ipv6])`;
    case 'flow.observer':
      return ['source', 'destination'].includes(value) ? undefined : `invalid value "${value}" (valid values: [source, destination])`;
    default:
      try {
        parseCidr(value);
        return value.includes('/') ? `"${value}" is a range; put it in source_cidrs or destination_cidrs` : undefined;
      } catch {
        return `invalid IP address "${value}"`;
      }
  }
}

/** The match block schema, with the cross-field checks above run while decoding. */
const matchBlock: Schema<MatchProperties> = {
  ...matchFields,
  decode(value, path, problems) {
    const m = matchFields.decode(value, path, problems);
    if (m === undefined) return undefined;
    const more = checkMatch(m, path);
    problems.push(...more);
    return more.length ? undefined : m;
  },
};

export const configSchema = object({
  include: optional(matchBlock),
  exclude: optional(matchBlock),
});

export type FilterConfig = Infer<typeof configSchema>;
