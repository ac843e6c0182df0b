// The metric names and label names a PromQL expression reads, so a test can
// check them against what podflow really serves. A small scanner, not a full
// parser: it knows PromQL's keywords, label lists (by/without/on/ignoring/
// group_left/group_right), selectors ({...}), ranges ([...]), strings, and the
// labels label_join/label_replace read (and the ones they create).

const KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'atan2',
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile',
  'limitk', 'limit_ratio', 'inf', 'nan',
]);
const LABEL_LISTS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

export interface PromqlRefs {
  metrics: Set<string>;
  /** Labels read from the data (not those label_join/label_replace create). */
  labels: Set<string>;
}

/** Index of the parenthesis closing the one at `open`. */
function closing(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const c = s[i];
    if (c === '"' || c === "'") {
      i = s.indexOf(c, i + 1);
      if (i < 0) break;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  throw new Error(`unbalanced parentheses in ${s}`);
}

/** Top-level comma-separated arguments of the call whose "(" is at `open`. */
function args(s: string, open: number): string[] {
  const end = closing(s, open);
  const out: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open + 1; i < end; i++) {
    const c = s[i];
    if (c === '"' || c === "'") i = s.indexOf(c, i + 1);
    else if (c === '(' || c === '{' || c === '[') depth++;
    else if (c === ')' || c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(s.slice(start, end).trim());
  return out;
}

const unquote = (a: string) => a.replace(/^["']|["']$/g, '');

export function promqlRefs(expr: string): PromqlRefs {
  const metrics = new Set<string>();
  const labels = new Set<string>();
  const created = new Set<string>();
  // Labels that label_join / label_replace read and create.
  for (const m of expr.matchAll(/\b(label_join|label_replace)\s*\(/g)) {
    const a = args(expr, m.index + m[0].length - 1).map(unquote);
    created.add(a[1]!);
    if (m[1] === 'label_join') a.slice(3).forEach((l) => labels.add(l));
    else labels.add(a[3]!);
  }
  // Blank out strings so their contents are not read as names.
  const s = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, (q) => `"${' '.repeat(q.length - 2)}"`);
  const token = /[A-Za-z_:][A-Za-z0-9_:]*|\{[^}]*\}|\[[^\]]*\]|\$\w+|\d+(?:\.\d+)?(?:e[+-]?\d+)?/g;
  let m: RegExpExecArray | null;
  while ((m = token.exec(s))) {
    const tok = m[0];
    if (tok.startsWith('{')) {
      for (const l of tok.slice(1, -1).matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g)) if (l[1] !== '__name__') labels.add(l[1]!);
      continue;
    }
    if (tok.startsWith('[') || tok.startsWith('$') || /^\d/.test(tok)) continue;
    const rest = s.slice(token.lastIndex);
    if (LABEL_LISTS.has(tok)) {
      const open = token.lastIndex + rest.indexOf('(');
      for (const l of args(s, open)) if (l) labels.add(l);
      token.lastIndex = closing(s, open) + 1;
      continue;
    }
    if (KEYWORDS.has(tok.toLowerCase())) continue;
    if (/^\s*\(/.test(rest)) continue; // a function call
    metrics.add(tok);
  }
  for (const c of created) labels.delete(c);
  return { metrics, labels };
}
