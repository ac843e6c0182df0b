// A fake Kubernetes API server speaking the real wire protocol over HTTP, so
// the real @kubernetes/client-node can be tested against it:
//
// - lists: JSON <Kind>List with metadata.resourceVersion, paged by limit and
//   continue (a continue token older than the compaction point gets 410 Expired);
// - watches (?watch=true): a chunked stream of one JSON event per line, ADDED /
//   MODIFIED / DELETED replayed from the requested resourceVersion, BOOKMARK
//   events when allowWatchBookmarks=true, ends after timeoutSeconds;
// - a resourceVersion older than the retained history answers 410 Gone, as an
//   HTTP 410 or as an ERROR event carrying a Status with code 410 (goneMode);
// - Accept: application/json;as=PartialObjectMetadata… gives metadata only;
// - bearer-token auth, field selectors spec.nodeName= and metadata.name=;
// - test controls: upsert/remove objects, compact the history, drop open watch
//   connections, stop and restart on the same port (optionally losing history).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { parseCollectionPath, RESOURCES, type ResourceDef } from './resources.ts';

export type KubeObject = { metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; [k: string]: unknown }; [k: string]: unknown };

interface HistoryEvent { rv: number; resource: string; type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: KubeObject }

interface Watcher {
  def: ResourceDef;
  namespace: string;
  selector: ((o: KubeObject) => boolean) | undefined;
  metadataOnly: boolean;
  res: ServerResponse;
  bookmarkTimer: NodeJS.Timeout | undefined;
  endTimer: NodeJS.Timeout | undefined;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  accept: string;
  status: number;
  /** A list's metadata.resourceVersion. */
  listResourceVersion?: string;
}

export interface FakeKubeApiServerOptions {
  token?: string;
  /** How a too-old resourceVersion on a watch is answered. */
  goneMode?: 'http' | 'event';
  /** BOOKMARK period for watches that ask for them; 0 = only on bookmarkNow(). */
  bookmarkIntervalMs?: number;
}

export class FakeKubeApiServer {
  readonly token: string;
  goneMode: 'http' | 'event';
  bookmarkIntervalMs: number;
  readonly requests: RequestRecord[] = [];
  /** Called before each list is answered (tests use it to compact between pages). */
  beforeList: ((rec: RequestRecord) => void) | undefined;
  #rv = 1000;
  /** History at or below this resourceVersion is gone (compacted). */
  #compactedRv = 1000;
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  #history: HistoryEvent[] = [];
  readonly #watchers = new Set<Watcher>();
  #server: Server | undefined;
  #port = 0;

  constructor(o: FakeKubeApiServerOptions = {}) {
    this.token = o.token ?? 'fake-token';
    this.goneMode = o.goneMode ?? 'http';
    this.bookmarkIntervalMs = o.bookmarkIntervalMs ?? 0;
    for (const r of Object.keys(RESOURCES)) this.#objects.set(r, new Map());
  }

  get port(): number {
    return this.#port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  /** Listens on 127.0.0.1 (the same port again after a stop()). */
  async start(port = this.#port): Promise<void> {
    if (this.#server) return;
    const server = createServer((req, res) => this.#handle(req, res));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
  }

  /** Goes away as a crashed API server does: every connection is cut. */
  async stop(): Promise<void> {
    const s = this.#server;
    if (!s) return;
    this.#server = undefined;
    for (const w of [...this.#watchers]) this.#closeWatcher(w, true);
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** stop() then start() on the same port; `loseHistory` makes every older resourceVersion 410. */
  async restart(o: { loseHistory?: boolean; downMs?: number } = {}): Promise<void> {
    await this.stop();
    if (o.loseHistory) this.compact();
    if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
    await this.start();
  }

  // ---- state -------------------------------------------------------------

  upsert(resource: string, input: KubeObject): KubeObject {
    const def = this.#def(resource);
    const obj = structuredClone(input);
    const key = keyOf(def, obj);
    const store = this.#objects.get(resource)!;
    const old = store.get(key);
    obj.metadata.uid ??= old?.metadata.uid ?? randomUUID();
    obj.metadata.creationTimestamp ??= old?.metadata.creationTimestamp ?? new Date().toISOString();
    obj.metadata.resourceVersion = String(++this.#rv);
    obj.kind = def.kind;
    obj.apiVersion = def.apiVersion;
    store.set(key, obj);
    this.#emit(resource, old ? 'MODIFIED' : 'ADDED', obj);
    return obj;
  }

  remove(resource: string, namespace: string, name: string): boolean {
    const def = this.#def(resource);
    const store = this.#objects.get(resource)!;
    const key = def.namespaced ? `${namespace}/${name}` : name;
    const old = store.get(key);
    if (!old) return false;
    store.delete(key);
    const obj = structuredClone(old);
    obj.metadata.resourceVersion = String(++this.#rv);
    this.#emit(resource, 'DELETED', obj);
    return true;
  }

  get(resource: string, namespace: string, name: string): KubeObject | undefined {
    const def = this.#def(resource);
    return this.#objects.get(resource)!.get(def.namespaced ? `${namespace}/${name}` : name);
  }

  /** Forgets the event history: watches from any older resourceVersion get 410. */
  compact(): void {
    this.#history = [];
    this.#compactedRv = this.#rv;
  }

  /** Cuts open watch connections mid-stream (no terminating chunk). */
  dropWatches(resource?: string): number {
    let n = 0;
    for (const w of [...this.#watchers]) {
      if (resource && w.def.name !== resource) continue;
      this.#closeWatcher(w, true);
      n++;
    }
    return n;
  }

  /** Sends an ERROR event with a 410 Status to open watches and ends them, as an API server does on compaction. */
  expireWatches(resource?: string): number {
    this.compact();
    let n = 0;
    for (const w of [...this.#watchers]) {
      if (resource && w.def.name !== resource) continue;
      write(w.res, { type: 'ERROR', object: goneStatus() });
      this.#closeWatcher(w, false);
      n++;
    }
    return n;
  }

  /** Sends a BOOKMARK with the current resourceVersion to watches that asked for bookmarks. */
  bookmarkNow(): void {
    for (const w of this.#watchers) if (w.bookmarkTimer !== undefined || this.bookmarkIntervalMs === 0) this.#bookmark(w);
  }

  watcherCount(resource?: string): number {
    return [...this.#watchers].filter((w) => !resource || w.def.name === resource).length;
  }

  async waitForWatchers(resource: string, n = 1, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.watcherCount(resource) < n) {
      if (Date.now() > deadline) throw new Error(`no ${n} watch(es) on ${resource} within ${ms}ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  #def(resource: string): ResourceDef {
    const def = RESOURCES[resource];
    if (!def) throw new Error(`fake API server: unknown resource ${resource}`);
    return def;
  }

  #emit(resource: string, type: HistoryEvent['type'], object: KubeObject): void {
    const ev: HistoryEvent = { rv: this.#rv, resource, type, object };
    this.#history.push(ev);
    for (const w of this.#watchers) if (w.def.name === resource) this.#send(w, ev);
  }

  // ---- HTTP ----------------------------------------------------------------

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams);
    const rec: RequestRecord = { method: req.method ?? '', path: url.pathname, query, accept: String(req.headers.accept ?? ''), status: 200 };
    this.requests.push(rec);
    const fail = (code: number, reason: string, message: string) => {
      rec.status = code;
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
    };
    if (req.headers.authorization !== `Bearer ${this.token}`) return fail(401, 'Unauthorized', 'Unauthorized');
    if (req.method !== 'GET') return fail(405, 'MethodNotAllowed', `${req.method} is not supported`);
    const target = parseCollectionPath(url.pathname);
    if (!target) return fail(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    let selector: ((o: KubeObject) => boolean) | undefined;
    if (query.fieldSelector) {
      selector = parseFieldSelector(query.fieldSelector);
      if (!selector) return fail(400, 'BadRequest', `unsupported fieldSelector "${query.fieldSelector}"`);
    }
    const metadataOnly = /as=PartialObjectMetadata/.test(rec.accept);
    if (query.watch === 'true' || query.watch === '1') return this.#watch(target.def, target.namespace, selector, metadataOnly, query, res, rec);
    this.#list(target.def, target.namespace, selector, metadataOnly, query, res, fail, rec);
  }

  #matching(def: ResourceDef, ns: string, selector: ((o: KubeObject) => boolean) | undefined): KubeObject[] {
    return [...this.#objects.get(def.name)!.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => o)
      .filter((o) => (!ns || o.metadata.namespace === ns) && (!selector || selector(o)));
  }

  #list(
    def: ResourceDef, ns: string, selector: ((o: KubeObject) => boolean) | undefined, metadataOnly: boolean,
    query: Record<string, string>, res: ServerResponse, fail: (code: number, reason: string, msg: string) => void, rec: RequestRecord,
  ): void {
    this.beforeList?.(rec);
    let snapshotRv = this.#rv;
    let startAfter = '';
    if (query.continue) {
      let tok: { rv: number; start: string };
      try {
        tok = JSON.parse(Buffer.from(query.continue, 'base64url').toString()) as { rv: number; start: string };
      } catch {
        return fail(400, 'BadRequest', 'invalid continue token');
      }
      if (tok.rv < this.#compactedRv) {
        return fail(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      }
      snapshotRv = tok.rv;
      startAfter = tok.start;
    }
    const all = this.#matching(def, ns, selector).filter((o) => !startAfter || keyOf(def, o) > startAfter);
    const limit = query.limit ? Number(query.limit) : 0;
    const page = limit > 0 ? all.slice(0, limit) : all;
    const more = limit > 0 && all.length > limit;
    const metadata: Record<string, unknown> = { resourceVersion: String(snapshotRv) };
    rec.listResourceVersion = String(snapshotRv);
    if (more) {
      metadata.continue = Buffer.from(JSON.stringify({ rv: snapshotRv, start: keyOf(def, page[page.length - 1]!) })).toString('base64url');
      metadata.remainingItemCount = all.length - page.length;
    }
    const body = metadataOnly
      ? { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata, items: page.map(partial) }
      : { kind: `${def.kind}List`, apiVersion: def.apiVersion, metadata, items: page };
    res.writeHead(200, {
      'content-type': metadataOnly ? 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1' : 'application/json',
    });
    res.end(JSON.stringify(body));
  }

  #watch(
    def: ResourceDef, ns: string, selector: ((o: KubeObject) => boolean) | undefined, metadataOnly: boolean,
    query: Record<string, string>, res: ServerResponse, rec: RequestRecord,
  ): void {
    const rvText = query.resourceVersion ?? '';
    const fromRv = rvText === '' || rvText === '0' ? undefined : Number(rvText);
    const gone = fromRv !== undefined && (!Number.isFinite(fromRv) || fromRv < this.#compactedRv);
    if (gone && this.goneMode === 'http') {
      rec.status = 410;
      res.writeHead(410, { 'content-type': 'application/json' });
      res.end(JSON.stringify(goneStatus()));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (gone) {
      write(res, { type: 'ERROR', object: goneStatus() });
      res.end();
      return;
    }
    const w: Watcher = { def, namespace: ns, selector, metadataOnly, res, bookmarkTimer: undefined, endTimer: undefined };
    if (fromRv === undefined) {
      // No resourceVersion: the current state as synthetic ADDED events, then live.
      for (const o of this.#matching(def, ns, selector)) this.#send(w, { rv: Number(o.metadata.resourceVersion), resource: def.name, type: 'ADDED', object: o });
    } else {
      for (const ev of this.#history) if (ev.resource === def.name && ev.rv > fromRv) this.#send(w, ev);
    }
    if (query.allowWatchBookmarks === 'true' && this.bookmarkIntervalMs > 0) {
      w.bookmarkTimer = setInterval(() => this.#bookmark(w), this.bookmarkIntervalMs);
    }
    const timeout = Number(query.timeoutSeconds ?? 0);
    if (timeout > 0) w.endTimer = setTimeout(() => this.#closeWatcher(w, false), timeout * 1000);
    this.#watchers.add(w);
    res.on('close', () => this.#closeWatcher(w, false));
  }

  #send(w: Watcher, ev: HistoryEvent): void {
    const o = ev.object;
    if (w.namespace && o.metadata.namespace !== w.namespace) return;
    if (w.selector && !w.selector(o)) return;
    write(w.res, { type: ev.type, object: w.metadataOnly ? partial(o) : o });
  }

  #bookmark(w: Watcher): void {
    const kind = w.metadataOnly ? 'PartialObjectMetadata' : w.def.kind;
    const apiVersion = w.metadataOnly ? 'meta.k8s.io/v1' : w.def.apiVersion;
    write(w.res, { type: 'BOOKMARK', object: { kind, apiVersion, metadata: { resourceVersion: String(this.#rv) } } });
  }

  #closeWatcher(w: Watcher, abrupt: boolean): void {
    if (!this.#watchers.delete(w)) return;
    clearInterval(w.bookmarkTimer);
    clearTimeout(w.endTimer);
    if (abrupt) w.res.socket?.destroy();
    else w.res.end();
  }
}

function keyOf(def: ResourceDef, o: KubeObject): string {
  return def.namespaced ? `${o.metadata.namespace ?? ''}/${o.metadata.name}` : o.metadata.name;
}

function partial(o: KubeObject): KubeObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

function goneStatus() {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 };
}

function write(res: ServerResponse, ev: unknown): void {
  if (!res.writableEnded && !res.destroyed) res.write(JSON.stringify(ev) + '\n');
}

function parseFieldSelector(text: string): ((o: KubeObject) => boolean) | undefined {
  const parts = text.split(',').map((p) => /^(spec\.nodeName|metadata\.name|metadata\.namespace)=(.*)$/.exec(p));
  if (parts.some((p) => p === null)) return undefined;
  return (o) => parts.every((p) => {
    const [, field, value] = p!;
    const v = field === 'spec.nodeName' ? (o.spec as { nodeName?: string } | undefined)?.nodeName : o.metadata[field!.slice(9)];
    return v === value;
  });
}
