// The ClusterRole grants exactly what podflow asks the API server for. The
// list comes from the code itself: the k8s_attributes processor's real
// clients (resourceClients, through @kubernetes/client-node) are pointed at a
// fake API server on loopback, each one lists and watches once, and the
// requests the server saw become (API group, resource, verb) triples, which
// must equal the ClusterRole's rules expanded the same way.

import t from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { resourceClients } from '../../src/processor/k8s_attributes/kube-client.ts';
import { ofKind, renderAll, type K8sObject } from './helpers/kustomize.ts';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** "group/resource verb" for a request path (/api/v1/..., /apis/GROUP/VERSION/...). */
function triple(req: IncomingMessage): string {
  const url = new URL(req.url ?? '/', 'http://x');
  const parts = url.pathname.split('/').filter(Boolean);
  const [group, rest] = parts[0] === 'api' ? ['', parts.slice(2)] : [parts[1]!, parts.slice(3)];
  // [namespaces, NS,] RESOURCE [, NAME]
  const resource = rest[0] === 'namespaces' && rest.length > 2 ? rest[2]! : rest[0]!;
  const named = rest[0] === 'namespaces' && rest.length > 2 ? rest.length > 3 : rest.length > 1;
  const verb = req.method !== 'GET' ? req.method!.toLowerCase() : url.searchParams.get('watch') === 'true' ? 'watch' : named ? 'get' : 'list';
  return `${group}/${resource} ${verb}`;
}

async function observedRequests(): Promise<Set<string>> {
  const seen = new Set<string>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.add(triple(req));
    res.writeHead(200, { 'content-type': 'application/json' });
    // An empty list, or a watch stream that ends at once.
    res.end(new URL(req.url ?? '/', 'http://x').searchParams.get('watch') === 'true'
      ? ''
      : JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as { port: number };
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'fake' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
      currentContext: 'fake',
    });
    // No namespace/node filter: the DaemonSet's config watches the whole cluster.
    const clients = resourceClients(kc, { namespace: '', node: '' });
    for (const c of Object.values(clients)) {
      await c.list(10, undefined);
      await new Promise<void>((resolve, reject) => {
        c.watch('1', 5, () => undefined, () => resolve()).catch(reject);
      });
    }
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  return seen;
}

const tmp = mkdtempSync(join(tmpdir(), 'pf-deploy-rbac-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

t.test('the ClusterRole grants exactly the lists and watches the code makes', async (t) => {
  const wanted = await observedRequests();
  t.ok(wanted.size >= 2, `the clients made requests: ${[...wanted].sort().join(', ')}`);
  for (const w of wanted) t.match(w, / (list|watch)$/, `${w}: podflow only reads`);

  for (const r of renderAll(tmp)) {
    const roles = ofKind<K8sObject & { rules: Rule[] }>(r.objects, 'ClusterRole');
    t.equal(roles.length, 1, `${r.name}: one ClusterRole`);
    const granted = new Set<string>();
    for (const rule of roles[0]?.rules ?? []) {
      t.notOk(rule.resourceNames ?? rule.nonResourceURLs, `${r.name}: rules are per resource type`);
      for (const g of rule.apiGroups ?? []) {
        for (const res of rule.resources ?? []) for (const v of rule.verbs) granted.add(`${g}/${res} ${v}`);
      }
    }
    // A "*" would never equal a requested triple, so equality also rules out wildcards.
    t.same([...granted].sort(), [...wanted].sort(), `${r.name}: granted = requested`);
  }
});
