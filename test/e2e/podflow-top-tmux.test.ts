// `podflow top` in a real terminal: tmux runs it against a `bin/podflow run`
// (synthetic receiver + flows_ui on free loopback ports); the screen is read with
// capture-pane, a key changes the ranking, and q quits with status 0. The rows
// on screen are checked against the agent's /api/edges for the same ranking.

import { execFileSync } from 'node:child_process';
import t from 'tap';
import type { EdgesAnswer } from '../../src/cli/top-view.ts';
import { freePort, ROOT, startPodflow, until } from './support/podflow-process.ts';

const SOCKET = `pf-ui-top-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', 'top');
const ROWS = 8;

/** The SOURCE / DESTINATION / PORT cells of the table rows on screen. */
function screenRows(text: string): string[] {
  const lines = text.split('\n');
  const head = lines.findIndex((l) => /^SOURCE\s+DESTINATION\s+PORT/.test(l));
  if (head < 0) return [];
  return lines.slice(head + 1).filter((l) => l.trim()).map((l) => l.split(/\s{2,}/).slice(0, 3).join(' '));
}

t.test('podflow top in tmux: the table, a sort key, q', async (t) => {
  const uiPort = await freePort();
  const podflow = startPodflow(t, 'pf-ui-top-', [
    'receivers:',
    '  synthetic: { seed: 3, interval: 250ms, stop_after: 12 }', // a burst, then a graph that stands still
    'exporters:',
    '  debug: {}',
    'extensions:',
    `  flows_ui: { endpoint: "127.0.0.1:${uiPort}", window: 10m }`,
    'service:',
    '  extensions: [flows_ui]',
    '  telemetry: { metrics: { level: none } }',
    '  pipelines:',
    '    metrics: { receivers: [synthetic], exporters: [debug] }',
    '',
  ].join('\n'));
  const base = `http://127.0.0.1:${uiPort}`;
  const expected = async (sort: string) => {
    const a = await (await fetch(`${base}/api/edges?sort=${sort}&top=${ROWS}`)).json() as EdgesAnswer;
    return a.edges.map((e) => `${e.source} ${e.destination} ${e.reply ? '<' : ''}${e.port}/${e.transport}`);
  };
  // Wait for the whole burst (12 intervals of rows) so the ranking no longer moves.
  await until('the synthetic burst in flows_ui', podflow, async () => {
    const a = await (await fetch(`${base}/api/edges?top=1`)).json() as EdgesAnswer;
    return a.windowSeconds === 3 ? a : undefined;
  });
  const byBytes = await expected('bytes');
  const byRetransmits = await expected('retransmits');
  t.notSame(byRetransmits, byBytes, 'the two rankings differ for this seed (else the key press would prove nothing)');

  // ROWS table rows fit: header, keys, column header, the rows, and a line kept for an error.
  // remain-on-exit keeps the pane (and so the tmux server) if the command ends
  // early, so the screen shows why instead of "no server running".
  tmux('new-session', '-d', '-s', 'top', '-x', '200', '-y', String(ROWS + 4),
    `${ROOT}bin/podflow top --endpoint 127.0.0.1:${uiPort}; echo podflow-top-exited=$?; sleep 120`,
    ';', 'set-option', '-t', 'top', 'remain-on-exit', 'on');
  t.teardown(() => { try { tmux('kill-server'); } catch { /* already gone */ } });

  const pane = { output: () => `${podflow.output()}\nscreen:\n${screen()}`, child: podflow.child };
  let text = await until('podflow top\'s first screen', pane, async () => {
    const s = screen();
    return /by bytes/.test(s) && screenRows(s).length === ROWS ? s : undefined;
  }, 90_000);
  t.match(text, new RegExp(`^podflow top 127\\.0\\.0\\.1:${uiPort} +\\S+ +window 3\\.0s +\\d+ edges +top ${ROWS} by bytes +all namespaces`, 'm'));
  t.match(text, /^keys: b bytes {2}p packets {2}r retransmits {2}f failed {2}d drops {2}q quit$/m);
  t.same(screenRows(text), byBytes, 'rows ranked by bytes, as the agent ranks them');

  tmux('send-keys', '-t', 'top', 'r');
  text = await until('the ranking by retransmits', pane, async () => {
    const s = screen();
    return /by retransmits/.test(s) && screenRows(s).join('\n') === byRetransmits.join('\n') ? s : undefined;
  }, 30_000);
  t.same(screenRows(text), byRetransmits, 'r re-ranks the rows by retransmits');
  const retrans = text.split('\n').filter((l) => /\/(tcp|udp)\s/.test(l)).map((l) => Number(l.split(/\s{2,}/)[5]));
  t.same(retrans, [...retrans].sort((a, b) => b - a), 'the RETRANS column is descending');

  tmux('send-keys', '-t', 'top', 'b');
  await until('the ranking by bytes again', pane, async () => (screenRows(screen()).join('\n') === byBytes.join('\n') && /by bytes/.test(screen()) ? true : undefined), 30_000);
  t.pass('b ranks by bytes again');

  tmux('send-keys', '-t', 'top', 'q');
  text = await until('podflow top to quit', pane, async () => (/podflow-top-exited=\d+/.test(screen()) ? screen() : undefined), 30_000);
  t.match(text, /podflow-top-exited=0/, 'q quits with status 0');
  t.notMatch(text, /SOURCE\s+DESTINATION/, 'and gives the terminal back (alternate screen left)');
});
