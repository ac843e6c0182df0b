// Pods by UID and by IP, with the IP-reuse rule.
//
// An IP slot holds the pod that has the address now, plus pods that had it and
// were deleted (or finished: a Succeeded/Failed pod's IP goes back to the pool)
// less than `deleted_pod_grace` ago. Each entry records when it got the address
// (assignedAt) and when it lost it (deletedAt). A lookup at time t picks the
// newest entry that had the address at t, so a flow that began before the
// delete keeps the old name and one that began after it gets the new one.
// hostNetwork pods are never indexed by IP: their IP is the node's.

import type { AddressKey } from './address-key.ts';

export class PodEntry {
  uid: string;
  name: string;
  namespace: string;
  node: string | undefined;
  /** Deployment (from the ReplicaSet owner), StatefulSet, DaemonSet, Job, …, or Pod: see owner.ts. */
  workloadKind: string;
  workloadName: string;
  tags: string[] | undefined;
  /** One address as is (the common case: no array per pod), several as a list; see addresses(). */
  ips: AddressKey | AddressKey[] | undefined;
  hostNetwork: boolean;
  assignedAt = 0;
  deletedAt = 0;
  /** Relist mark: entries not seen in a relist are deleted at its end. */
  mark = 0;
  /** Resolved attribute pairs and the cache generation they were built at. */
  attrs: string[] | undefined = undefined;
  attrsGen = -1;

  constructor(
    f: Pick<PodEntry, 'uid' | 'name' | 'namespace' | 'node' | 'workloadKind' | 'workloadName' | 'tags' | 'ips' | 'hostNetwork'>,
  ) {
    this.uid = f.uid;
    this.name = f.name;
    this.namespace = f.namespace;
    this.node = f.node;
    this.workloadKind = f.workloadKind;
    this.workloadName = f.workloadName;
    this.tags = f.tags;
    this.ips = f.ips;
    this.hostNetwork = f.hostNetwork;
  }
}

type Slot = PodEntry | PodEntry[];

/** A pod's addresses as a list (allocates only for the rare single/none case; not on the hot path). */
export function addresses(p: Pick<PodEntry, 'ips'>): readonly AddressKey[] {
  const v = p.ips;
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** The compact form of an address list for PodEntry.ips. */
export function compactAddresses(list: AddressKey[]): AddressKey | AddressKey[] | undefined {
  return list.length === 0 ? undefined : list.length === 1 ? list[0] : list.slice();
}

export class PodIndex {
  readonly byUid = new Map<string, PodEntry>();
  readonly #byIp = new Map<AddressKey, Slot>();
  /** Tombstones in delete order, for purging. */
  #tombstones: PodEntry[] = [];
  #live = 0;

  get liveCount(): number {
    return this.#live;
  }

  get tombstoneCount(): number {
    return this.#tombstones.length;
  }

  /** Adds or replaces the live pod with this UID. */
  upsert(p: PodEntry, now: number): void {
    const old = this.byUid.get(p.uid);
    if (old && old.deletedAt === 0) {
      p.assignedAt = old.assignedAt;
      p.mark = old.mark;
      const was = addresses(old);
      const is = addresses(p);
      for (const ip of was) if (!is.includes(ip)) this.#unindex(ip, old);
      // A new address (pod IPs are set once, but a pod may first appear without one) counts from now.
      if (is.some((ip) => !was.includes(ip))) p.assignedAt = now;
    } else {
      if (old) this.#forget(old); // a tombstone revived by a relist: start over
      this.#live++;
      p.assignedAt = now;
    }
    this.byUid.set(p.uid, p);
    if (!p.hostNetwork) for (const ip of addresses(p)) this.#index(ip, p, old);
  }

  /** Marks the pod deleted now; it stays findable for flows that began before. */
  remove(uid: string, now: number): void {
    const p = this.byUid.get(uid);
    if (!p || p.deletedAt !== 0) return;
    p.deletedAt = now;
    this.#live--;
    this.#tombstones.push(p);
  }

  /** Drops tombstones deleted before `cutoff`; returns how many. */
  purge(cutoff: number): number {
    let n = 0;
    while (this.#tombstones.length && this.#tombstones[0]!.deletedAt <= cutoff) {
      const p = this.#tombstones.shift()!;
      if (p.deletedAt === 0) continue; // revived
      this.#forget(p);
      n++;
    }
    return n;
  }

  /** The slot of an address: undefined, one entry, or its history (oldest first). */
  slot(key: AddressKey): Slot | undefined {
    return this.#byIp.get(key);
  }

  /** The entry that had the address at time `t`. */
  static pick(slot: PodEntry[], t: number): PodEntry {
    for (let i = slot.length - 1; i >= 0; i--) if (slot[i]!.assignedAt <= t) return slot[i]!;
    return slot[0]!;
  }

  #index(ip: AddressKey, p: PodEntry, old: PodEntry | undefined): void {
    const s = this.#byIp.get(ip);
    if (s === undefined || s === old || s === p) {
      this.#byIp.set(ip, p);
    } else if (Array.isArray(s)) {
      const i = s.findIndex((e) => e.uid === p.uid);
      if (i >= 0) s[i] = p;
      else s.push(p);
    } else if (s.uid === p.uid) {
      this.#byIp.set(ip, p);
    } else {
      this.#byIp.set(ip, [s, p]);
    }
  }

  #unindex(ip: AddressKey, p: PodEntry): void {
    const s = this.#byIp.get(ip);
    if (s === undefined) return;
    if (!Array.isArray(s)) {
      if (s.uid === p.uid) this.#byIp.delete(ip);
      return;
    }
    const rest = s.filter((e) => e.uid !== p.uid);
    if (rest.length === 0) this.#byIp.delete(ip);
    else this.#byIp.set(ip, rest.length === 1 ? rest[0]! : rest);
  }

  #forget(p: PodEntry): void {
    if (this.byUid.get(p.uid) === p) this.byUid.delete(p.uid);
    if (!p.hostNetwork) for (const ip of addresses(p)) this.#unindex(ip, p);
    if (p.deletedAt === 0) this.#live--;
    const i = this.#tombstones.indexOf(p);
    if (i >= 0) this.#tombstones.splice(i, 1);
  }

  get ipCount(): number {
    return this.#byIp.size;
  }
}
