// `podflow top`: the console's top-flows table, for any running podflow that has
// the flows_ui extension, read over HTTP (GET /api/edges) once a second.
//
// On a terminal it takes the alternate screen, redraws in place and reads keys
// (b p r f change the ranking, q or Ctrl-C quits); otherwise it prints one plain
// block per refresh, like `podflow run`'s console in a log, until SIGINT/SIGTERM
// or a closed pipe.

import { PodflowError } from '../errors/podflow-error.ts';
import { DEFAULT_FLOWS_UI_ENDPOINT } from '../extension/flows_ui/config.ts';
import { SORT_KEYS, type SortKey } from '../exporter/console/top-flows.ts';
import { renderTop, type EdgesAnswer } from './top-view.ts';

export interface TopOptions {
  endpoint?: string;
  sort?: string;
  namespace?: string;
}

/** The streams the command uses; injectable for tests. */
export interface TopIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WritableStream;
}

const REFRESH_MS = 1000;
const FETCH_TIMEOUT_MS = 3000;
const PLAIN_TOP = 15;
const KEYS: Record<string, SortKey> = { b: 'bytes', p: 'packets', r: 'retransmits', f: 'failed', d: 'drops' };
const ENTER_SCREEN = '\x1b[?1049h\x1b[?25l';
const LEAVE_SCREEN = '\x1b[?25h\x1b[?1049l';
const CLEAR_HOME = '\x1b[H\x1b[2J';

/** "host:port" or a URL → the base URL, without a trailing slash. */
export function endpointUrl(endpoint: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `http://${endpoint}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new PodflowError('PODFLOW_USAGE', `--endpoint: "${endpoint}" is not a URL or host:port (e.g. http://127.0.0.1:13190)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PodflowError('PODFLOW_USAGE', `--endpoint: "${endpoint}" must be http:// or https://`);
  }
  return url.href.replace(/\/+$/, '');
}

export function parseSort(sort: string | undefined): SortKey {
  const s = sort ?? 'bytes';
  if (!(SORT_KEYS as readonly string[]).includes(s)) {
    throw new PodflowError('PODFLOW_USAGE', `--sort: "${s}" is not one of ${SORT_KEYS.join(', ')}`);
  }
  return s as SortKey;
}

async function fetchEdges(base: string, sort: SortKey, namespace: string | null, top: number): Promise<EdgesAnswer> {
  const q = new URLSearchParams({ sort, top: String(top) });
  if (namespace !== null) q.set('namespace', namespace);
  const url = `${base}/api/edges?${q}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new PodflowError('PODFLOW_TOP_UNREACHABLE',
      `cannot reach ${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}; is the flows_ui extension enabled in that podflow's config?`);
  }
  if (!res.ok) {
    const body = await res.text().catch(() => '');
    throw new PodflowError('PODFLOW_TOP_UNREACHABLE', `${url} answered HTTP ${res.status}${body ? `: ${body.slice(0, 200)}` : ''}`
      + (res.status === 404 ? '; is that the flows_ui endpoint?' : ''));
  }
  return await res.json() as EdgesAnswer;
}

export async function topCommand(o: TopOptions, io: TopIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const base = endpointUrl(o.endpoint ?? DEFAULT_FLOWS_UI_ENDPOINT);
  const shown = base.replace(/^http:\/\//, '');
  let sort = parseSort(o.sort);
  const namespace = o.namespace || null;
  const tty = io.stdout.isTTY === true && io.stdin.isTTY === true;
  const topFor = () => (tty ? Math.max(1, (io.stdout.rows || 24) - 4) : PLAIN_TOP);
  // A wrong endpoint fails at once with the reason, before the screen is taken over.
  let answer: EdgesAnswer | undefined = await fetchEdges(base, sort, namespace, topFor());
  return tty ? interactive() : plain();

  function plain(): Promise<number> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const stop = () => {
        clearTimeout(timer);
        timer = undefined;
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        io.stdout.off('error', stop); // EPIPE: `podflow top | head`
        resolve(0);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      io.stdout.on('error', stop);
      const tick = async () => {
        if (answer) io.stdout.write(`${renderTop(answer, { endpoint: shown, sort, namespace }).join('\n')}\n\n`);
        answer = undefined;
        await new Promise((r) => { timer = setTimeout(r, REFRESH_MS); });
        if (timer === undefined) return;
        try {
          answer = await fetchEdges(base, sort, namespace, PLAIN_TOP);
        } catch (e) {
          io.stderr.write(`podflow top: ${(e as Error).message}; retrying\n`);
        }
        if (timer !== undefined) void tick();
      };
      void tick();
    });
  }

  function interactive(): Promise<number> {
    const stdin = io.stdin;
    const out = io.stdout;
    let error: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    let generation = 0; // answers to requests made before the last key press are stale
    const draw = () => {
      const lines = renderTop(answer, { endpoint: shown, sort, namespace, columns: out.columns || 80, rows: out.rows || 24, ...(error ? { error } : {}) });
      out.write(CLEAR_HOME + lines.join('\r\n'));
    };
    const refresh = async () => {
      clearTimeout(timer);
      const g = ++generation;
      try {
        const a = await fetchEdges(base, sort, namespace, topFor());
        if (g !== generation) return;
        answer = a;
        error = undefined;
      } catch (e) {
        if (g !== generation) return;
        error = `${(e as Error).message}; retrying`;
      }
      draw();
      timer = setTimeout(() => void refresh(), REFRESH_MS);
    };
    return new Promise((resolve) => {
      const quit = () => {
        clearTimeout(timer);
        generation++;
        stdin.off('data', onKey);
        out.off('resize', draw);
        process.off('SIGTERM', quit);
        process.off('SIGINT', quit);
        stdin.setRawMode(false);
        stdin.pause();
        out.write(LEAVE_SCREEN);
        resolve(0);
      };
      const onKey = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === 'q' || ch === 'Q' || ch === '\x03') return quit();
          const key = KEYS[ch.toLowerCase()];
          if (key && key !== sort) {
            sort = key;
            draw(); // the header shows the new ranking at once; the rows follow with the answer
            void refresh();
          }
        }
      };
      out.write(ENTER_SCREEN);
      stdin.setRawMode(true);
      stdin.resume();
      stdin.on('data', onKey);
      out.on('resize', draw);
      // A signal (raw mode turns Ctrl-C into a key, but `kill` still signals) also gives the terminal back.
      process.on('SIGTERM', quit);
      process.on('SIGINT', quit);
      draw();
      timer = setTimeout(() => void refresh(), REFRESH_MS);
    });
  }
}
