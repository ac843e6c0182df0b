// Runs the tests' DNS server (dns-test-server.ts) and client
// (dns-test-client.ts) inside the namespaces of a NetPair; both are killed at
// teardown whatever happens.

import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NODE, type Teardown } from './ebpf-netns.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const SERVER = resolve(HERE, 'dns-test-server.ts');
const CLIENT = resolve(HERE, 'dns-test-client.ts');

export interface DnsServer {
  proc: ChildProcess;
  /** Queries received so far, by transport. */
  report(): Promise<{ udp: number; tcp: number }>;
}

function lines(proc: ChildProcess, what: string): () => Promise<string> {
  const queued: string[] = [];
  const waiters: Array<{ res: (l: string) => void; rej: (e: Error) => void }> = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    const w = waiters.shift();
    if (w) w.res(l);
    else queued.push(l);
  });
  proc.on('exit', (code) => {
    for (const w of waiters.splice(0)) w.rej(new Error(`${what} exited with ${code}`));
  });
  return () => {
    const l = queued.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (proc.exitCode !== null) return Promise.reject(new Error(`${what} exited with ${proc.exitCode}`));
    return new Promise((res, rej) => waiters.push({ res, rej }));
  };
}

export async function startDnsServer(t: Teardown, ns: string, address: string, port: number, delayMs: number): Promise<DnsServer> {
  const proc = spawn('ip', ['netns', 'exec', ns, NODE, SERVER, address, String(port), String(delayMs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => { if (proc.exitCode === null) proc.kill('SIGKILL'); });
  const next = lines(proc, `dns server ${address}`);
  const ready = JSON.parse(await next()) as { ready?: boolean };
  if (!ready.ready) throw new Error(`dns server ${address}: unexpected first line`);
  return {
    proc,
    async report() {
      proc.stdin!.write('report\n');
      return JSON.parse(await next()) as { udp: number; tcp: number };
    },
  };
}

export interface DnsClientResult {
  localPort: number;
  results: Array<{ name: string; rcode: number | null; ms: number }>;
}

/** Sends the queries (NAME or NAME/TYPE) one by one; resolves with what the client saw. */
export async function runDnsClient(t: Teardown, ns: string, server: string, port: number, mode: 'udp' | 'udp-connected' | 'tcp' | 'raw-udp', waitMs: number, names: string[]): Promise<DnsClientResult> {
  const proc = spawn('ip', ['netns', 'exec', ns, NODE, CLIENT, server, String(port), mode, String(waitMs), ...names], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { if (proc.exitCode === null) proc.kill('SIGKILL'); });
  const line = await lines(proc, `dns client ${mode} ${server}`)();
  return JSON.parse(line) as DnsClientResult;
}
