// Services by ClusterIP (VIP) and by backend address (EndpointSlices, which is
// also how a headless Service's pods are named), kept as small entries with
// pooled names.

import { addressKeyOfText, type AddressKey } from './address-key.ts';
import type { InternPool } from './intern-pool.ts';
import { ObjectProblem, asObj, optArray, optString, readMeta } from './object-fields.ts';

export interface ServiceEntry { name: string; namespace: string; ips: AddressKey[]; mark: number }
interface SliceEntry { service: string; namespace: string; ips: AddressKey[]; mark: number }

export class ServiceIndex {
  readonly services = new Map<string, ServiceEntry>();
  readonly slices = new Map<string, SliceEntry>();
  readonly #byVip = new Map<AddressKey, ServiceEntry>();
  readonly #slicesByIp = new Map<AddressKey, SliceEntry | SliceEntry[]>();
  readonly #pool: InternPool;

  constructor(pool: InternPool) {
    this.#pool = pool;
  }

  upsertService(obj: unknown, mark: number): void {
    const m = readMeta(obj, true);
    const spec = asObj(asObj(obj)!.spec);
    const texts = optArray(spec, 'clusterIPs', 'spec.clusterIPs').filter((x): x is string => typeof x === 'string');
    const one = optString(spec, 'clusterIP', 'spec.clusterIP');
    if (one !== undefined && !texts.includes(one)) texts.push(one);
    const ips: AddressKey[] = [];
    for (const t of texts) {
      if (t === 'None' || t === '') continue; // headless: named through its EndpointSlices
      const k = addressKeyOfText(t);
      if (k === undefined) throw new ObjectProblem('spec.clusterIPs', `"${t}" is not an IP address`);
      ips.push(k);
    }
    this.dropService(m.uid);
    const s: ServiceEntry = { name: this.#pool.intern(m.name), namespace: this.#pool.intern(m.namespace), ips: ips.slice(), mark };
    this.services.set(m.uid, s);
    for (const ip of ips) this.#byVip.set(ip, s);
  }

  dropService(uid: string): void {
    const s = this.services.get(uid);
    if (!s) return;
    this.services.delete(uid);
    for (const ip of s.ips) if (this.#byVip.get(ip) === s) this.#byVip.delete(ip);
  }

  upsertSlice(obj: unknown, mark: number): void {
    const m = readMeta(obj, true);
    const svc = m.labels?.['kubernetes.io/service-name'];
    this.dropSlice(m.uid);
    if (typeof svc !== 'string' || svc === '') return; // not owned by a Service
    const o = asObj(obj)!;
    if (o.addressType === 'FQDN') return;
    const ips: AddressKey[] = [];
    optArray(o, 'endpoints', 'endpoints').forEach((ep, i) => {
      optArray(asObj(ep), 'addresses', `endpoints[${i}].addresses`).forEach((a, j) => {
        const k = typeof a === 'string' ? addressKeyOfText(a) : undefined;
        if (k === undefined) throw new ObjectProblem(`endpoints[${i}].addresses[${j}]`, `${JSON.stringify(a)} is not an IP address`);
        if (!ips.includes(k)) ips.push(k);
      });
    });
    const s: SliceEntry = { service: this.#pool.intern(svc), namespace: this.#pool.intern(m.namespace), ips: ips.slice(), mark };
    this.slices.set(m.uid, s);
    for (const ip of ips) {
      const cur = this.#slicesByIp.get(ip);
      if (cur === undefined) this.#slicesByIp.set(ip, s);
      else if (Array.isArray(cur)) cur.push(s);
      else this.#slicesByIp.set(ip, [cur, s]);
    }
  }

  dropSlice(uid: string): void {
    const s = this.slices.get(uid);
    if (!s) return;
    this.slices.delete(uid);
    for (const ip of s.ips) {
      const cur = this.#slicesByIp.get(ip);
      if (cur === s) this.#slicesByIp.delete(ip);
      else if (Array.isArray(cur)) {
        const rest = cur.filter((x) => x !== s);
        this.#slicesByIp.set(ip, rest.length === 1 ? rest[0]! : rest);
      }
    }
  }

  /** After a relist: drops what the new list did not contain. */
  sweep(resource: 'services' | 'endpointslices', mark: number): void {
    if (resource === 'services') {
      for (const [k, v] of [...this.services]) if (v.mark !== mark) this.dropService(k);
    } else {
      for (const [k, v] of [...this.slices]) if (v.mark !== mark) this.dropSlice(k);
    }
  }

  atVip(key: AddressKey): ServiceEntry | undefined {
    return this.#byVip.get(key);
  }

  /** The Service a backend address belongs to; with several, the first by name (stable). */
  ofBackend(key: AddressKey): string | undefined {
    const s = this.#slicesByIp.get(key);
    if (s === undefined) return undefined;
    if (!Array.isArray(s)) return s.service;
    let best = s[0]!.service;
    for (const x of s) if (x.service < best) best = x.service;
    return best;
  }

  /** Re-points names at the (rebuilt) pool. */
  reintern(): void {
    for (const s of this.services.values()) { s.name = this.#pool.intern(s.name); s.namespace = this.#pool.intern(s.namespace); }
    for (const s of this.slices.values()) { s.service = this.#pool.intern(s.service); s.namespace = this.#pool.intern(s.namespace); }
  }
}
