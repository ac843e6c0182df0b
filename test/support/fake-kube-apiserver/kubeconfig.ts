// Writes a kubeconfig file pointing at a fake API server, as a user's would.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function writeKubeconfig(server: string, token: string, dir = mkdtempSync(join(tmpdir(), 'pf-k8s-'))): string {
  const path = join(dir, 'kubeconfig.yaml');
  writeFileSync(path, [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: fake',
    '  cluster:',
    `    server: ${server}`,
    // @kubernetes/client-node refuses plain http unless TLS verification is declared off.
    '    insecure-skip-tls-verify: true',
    'users:',
    '- name: fake-user',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: fake',
    '  context:',
    '    cluster: fake',
    '    user: fake-user',
    'current-context: fake',
    '',
  ].join('\n'));
  return path;
}
