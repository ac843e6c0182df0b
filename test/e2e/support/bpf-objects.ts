// What is loaded in the kernel (bpftool's JSON) and which of it a process
// holds (its /proc/PID/fdinfo: prog_id, link_id, map_id of each bpf fd; this
// bpftool has no pid column), plus what is attached to each cgroup. For tests
// that check a process leaves nothing behind while other test files, in
// parallel, load and unload their own.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export type BpfKind = 'prog' | 'link' | 'map';

export interface BpfObject {
  kind: BpfKind;
  id: number;
  name: string;
}

export const objectKey = (o: { kind: BpfKind; id: number }) => `${o.kind} ${o.id}`;
export const describeObject = (o: BpfObject) => `${o.kind} ${o.id} ${o.name}`;

function bpftool(args: string[]): unknown {
  const text = execFileSync('bpftool', [...args, '-j'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  return JSON.parse(text || '[]');
}

/** Every program, link and map loaded now. */
export function bpfObjects(): BpfObject[] {
  const out: BpfObject[] = [];
  for (const kind of ['prog', 'link', 'map'] as const) {
    for (const r of bpftool([kind, 'show']) as Array<{ id: number; name?: string; type?: string; attach_type?: string }>) {
      out.push({ kind, id: r.id, name: r.name ?? [r.type, r.attach_type].filter(Boolean).join('/') });
    }
  }
  return out;
}

/** The programs, links and maps process `pid` has an fd to, as "kind id" keys. */
export function heldBy(pid: number): Set<string> {
  const held = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return held; // gone
  }
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const kind = /^anon_inode:bpf[-_](prog|link|map)$/.exec(target)?.[1] as BpfKind | undefined;
    if (!kind) continue;
    try {
      const id = new RegExp(`^${kind}_id:\\s*(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1];
      if (id) held.add(`${kind} ${id}`);
    } catch { /* closed meanwhile */ }
  }
  return held;
}

/** What every live process holds. */
export function heldByAnyProcess(): Set<string> {
  const all = new Set<string>();
  for (const p of readdirSync('/proc')) if (/^\d+$/.test(p)) for (const k of heldBy(Number(p))) all.add(k);
  return all;
}

export interface CgroupAttachment { cgroup: string; id: number; name: string; attachType: string }

/** Every program attached to a cgroup, anywhere in the cgroup2 hierarchy. */
export function cgroupAttachments(): CgroupAttachment[] {
  const rows = bpftool(['cgroup', 'tree']) as Array<{ cgroup: string; programs?: Array<{ id: number; name?: string; attach_type?: string }> }>;
  return rows.flatMap((c) => (c.programs ?? []).map((p) => ({ cgroup: c.cgroup, id: p.id, name: p.name ?? '', attachType: p.attach_type ?? '' })));
}

/** Links with the program each holds. */
export function bpfLinks(): Array<{ id: number; progId: number }> {
  return (bpftool(['link', 'show']) as Array<{ id: number; prog_id: number }>).map((l) => ({ id: l.id, progId: l.prog_id }));
}
