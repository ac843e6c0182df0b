// The JSON-lines protocol of a running traffic driver (ebpf-traffic.ts): what
// it prints comes back one parsed line at a time, in order, whether the test
// asks before or after the line arrives.

import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Driver {
  proc: ChildProcess;
  /** Resolves with the next JSON line the driver prints. */
  next(): Promise<Record<string, unknown>>;
  send(line: string): void;
  done: Promise<number | null>;
}

/** `label` names the driver in errors; `timeoutMs` bounds the wait for each line. */
export function attachDriver(proc: ChildProcess, label: string, timeoutMs: number): Driver {
  const lines: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  createInterface({ input: proc.stdout! }).on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else lines.push(l);
  });
  const done = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  return {
    proc,
    done,
    send: (line) => proc.stdin!.write(`${line}\n`),
    next: () => new Promise((res, rej) => {
      const l = lines.shift();
      if (l !== undefined) return res(JSON.parse(l) as Record<string, unknown>);
      const timer = setTimeout(() => rej(new Error(`${label}: no output within ${timeoutMs / 1000}s`)), timeoutMs);
      proc.once('exit', (code) => rej(new Error(`${label} exited with ${code}`)));
      waiters.push((x) => { clearTimeout(timer); res(JSON.parse(x) as Record<string, unknown>); });
    }),
  };
}
