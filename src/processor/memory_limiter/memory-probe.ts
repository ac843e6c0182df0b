// What the memory_limiter measures and how it asks V8 to collect garbage.
//
// What is measured is the memory podflow holds: the V8 heap in use plus
// external memory (ArrayBuffers: the FlowBatch columns live there), the
// counterpart of the Go heap the Collector's memory_limiter reads. Not the RSS:
// after a spike glibc keeps freed pages (the mmap threshold rises), so the RSS
// can stay high with nothing live, and a limiter reading it would refuse
// forever. RSS = this + code and allocator overhead (tens of MiB), so the limit
// needs that headroom below a container limit. The memory available is the
// cgroup limit when there is one (process.constrainedMemory()), else the
// machine's total.
//
// GC: globalThis.gc when node runs with --expose-gc; otherwise the flag is
// turned on at run time and gc() taken from a fresh V8 context, which works
// without a command-line flag.

import { totalmem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function heldBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

export function availableMemoryBytes(): number {
  const total = totalmem();
  const constrained = process.constrainedMemory?.() ?? 0;
  return constrained > 0 && constrained < total ? constrained : total;
}

let cachedGc: (() => void) | null | undefined;

/** A function that forces a full GC, or null when none can be had. */
export function gcFunction(): (() => void) | null {
  if (cachedGc !== undefined) return cachedGc;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return (cachedGc = exposed);
  try {
    setFlagsFromString('--expose-gc');
    const fn = runInNewContext('gc') as unknown;
    cachedGc = typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    cachedGc = null;
  }
  return cachedGc;
}
