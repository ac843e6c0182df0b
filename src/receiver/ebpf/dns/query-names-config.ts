// Which DNS query names may become an attribute (dns.question.name). Names are
// unbounded (every pod can look up anything, and search-path expansion
// multiplies them), so they are kept only under a bound: the most frequent per
// interval, or those under an allow list of domains.

import { enumOf, int, list, object, string, type Infer, type Problem, type Schema } from '../../../config/schema.ts';

export const queryNamesConfigSchema = object({
  mode: enumOf(['top', 'allow', 'off'] as const, {
    default: 'top',
    description: 'top: per collection interval, the top_n most frequent query names keep their name, other lookups are reported without one. allow: only names equal to or under a suffix in allow. off: never.',
  }),
  top_n: int({ default: 20, min: 1, max: 1000, description: 'How many distinct query names per interval keep their name in mode top.' }),
  allow: list(domainSuffix(), { default: [], description: 'Domain suffixes (e.g. svc.cluster.local) whose names are kept in mode allow; compared label by label, case-insensitively.' }),
}, {
  check: (c) => {
    if (c.mode === 'allow' && c.allow.length === 0) return 'mode "allow" needs at least one suffix in allow (mode "off" reports no names)';
    if (c.mode !== 'allow' && c.allow.length > 0) return `allow is set but mode is "${c.mode}", which ignores it (set mode: allow)`;
    return undefined;
  },
});

export type QueryNamesConfig = Infer<typeof queryNamesConfigSchema>;

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Why `name` (lower case, no trailing dot) is not a domain name, or undefined. */
export function domainProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty (the root would allow every name: use mode "top" instead)';
  if (name.length > 253) return `is ${name.length} characters long (a domain name has at most 253)`;
  for (const label of name.split('.')) {
    if (label === '') return 'has an empty label (two dots in a row, or a leading dot)';
    if (label.length > 63) return `has a label of ${label.length} characters ("${label.slice(0, 20)}..."; at most 63)`;
    if (!LABEL.test(label)) return `has an invalid label "${label}" (letters, digits, "-" and "_", not starting or ending with "-")`;
  }
  return undefined;
}

/** A domain suffix: decoded lower-cased and without a trailing dot, then checked. */
function domainSuffix(): Schema<string> {
  const base = string();
  return {
    kind: 'string',
    description: 'a domain name',
    defaultValue: undefined,
    required: false,
    decode(value: unknown, path: string[], problems: Problem[]): string | undefined {
      const raw = base.decode(value, path, problems);
      if (raw === undefined) return undefined;
      const name = raw.trim().toLowerCase().replace(/\.$/, '');
      const problem = domainProblem(name);
      if (problem) {
        problems.push({ path, message: `invalid domain "${raw}": ${problem}` });
        return undefined;
      }
      return name;
    },
  };
}
