// The screen of `podflow top`: a header naming the agent, the window and the
// ranking, then the console exporter's table (flow-table.ts) of the edges the
// agent's flows_ui endpoint returned. Pure: the command does the I/O.

import { formatTable } from '../exporter/console/flow-table.ts';
import type { EdgeDetail, SortKey } from '../exporter/console/top-flows.ts';

/** What GET /api/edges answers (src/extension/flows_ui/flows-ui.ts). */
export interface EdgesAnswer {
  windowSeconds: number;
  rows: number;
  namespace: string | null;
  namespaces: string[];
  sort: SortKey;
  totalEdges: number;
  edges: EdgeDetail[];
}

export interface TopViewOptions {
  endpoint: string;
  sort: SortKey;
  namespace: string | null;
  /** Terminal size; undefined for plain output (no cutting). */
  columns?: number;
  rows?: number;
  /** Shown in the header when the last refresh failed (the table is the last good one). */
  error?: string;
  now?: number;
}

export const KEYS_HELP = 'keys: b bytes  p packets  r retransmits  f failed  d drops  q quit';

export function renderTop(answer: EdgesAnswer | undefined, o: TopViewOptions): string[] {
  const ns = o.namespace === null ? 'all namespaces' : `namespace ${o.namespace}`;
  const at = new Date(o.now ?? Date.now()).toISOString();
  const header = answer
    ? `podflow top ${o.endpoint}  ${at}  window ${answer.windowSeconds.toFixed(1)}s  ${answer.totalEdges} edges  `
      + `top ${answer.edges.length} by ${o.sort}  ${ns}`
    : `podflow top ${o.endpoint}  ${at}  by ${o.sort}  ${ns}`;
  const lines = [header];
  if (o.error) lines.push(`! ${o.error}`);
  if (o.columns !== undefined) lines.push(KEYS_HELP);
  if (!answer) lines.push('(waiting for the agent)');
  else if (answer.edges.length === 0) lines.push(o.namespace !== null && !answer.namespaces.includes(o.namespace)
    ? `(no flows in namespace ${o.namespace}; namespaces in the window: ${answer.namespaces.join(', ') || 'none'})`
    : '(no flows in this window)');
  else lines.push(...formatTable(answer.edges, answer.windowSeconds, o.columns));
  let out = o.columns === undefined ? lines : lines.map((l) => (l.length > o.columns! ? l.slice(0, o.columns) : l));
  if (o.rows !== undefined) out = out.slice(0, Math.max(1, o.rows));
  return out;
}
