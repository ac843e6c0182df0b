// The per-config part of the generator: the cluster topology, the Zipf sampler
// over client→server pairs and the fixed traits of each long-lived flow
// (its pair, client pod, rate, lifetime). Cached by the config values it
// depends on, so generateInterval() stays a pure function of (config, i).

import type { SyntheticConfig } from './config.ts';
import { hash32, Rng, seedHash } from './rng.ts';
import { buildTopology, type Topology } from './topology.ts';
import { ZipfSampler } from './zipf.ts';

export interface FlowModel {
  topo: Topology;
  zipf: ZipfSampler;
  seed: number;
  /** Long-lived flow c: its pair rank, UDP or not, client pod, c→s bytes/s (DNS: queries/s), reply ratio, lifetime and phase in intervals. */
  pair: Int32Array;
  udp: Uint8Array;
  clientPod: Int32Array;
  rate: Float64Array;
  replyRatio: Float64Array;
  lifetime: Int32Array;
  phase: Int32Array;
}

const SALT_POOL = 0x9001;
const cache = new Map<string, FlowModel>();
const CACHE_SIZE = 8;

export function flowModel(c: SyntheticConfig): FlowModel {
  const key = [c.seed, c.namespaces, c.workloads_per_namespace, c.pods_per_workload, c.flows_per_interval, c.zipf_exponent, c.udp_ratio].join('/');
  let m = cache.get(key);
  if (!m) {
    m = buildModel(c);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
    cache.set(key, m);
  }
  return m;
}

function buildModel(c: SyntheticConfig): FlowModel {
  const topo = buildTopology(c);
  const zipf = new ZipfSampler(topo.pairClient.length, c.zipf_exponent);
  const seed = seedHash(c.seed);
  const n = c.flows_per_interval;
  const m: FlowModel = {
    topo, zipf, seed,
    pair: new Int32Array(n), udp: new Uint8Array(n), clientPod: new Int32Array(n), rate: new Float64Array(n),
    replyRatio: new Float64Array(n), lifetime: new Int32Array(n), phase: new Int32Array(n),
  };
  const rng = new Rng();
  for (let f = 0; f < n; f++) {
    rng.reseed(hash32(seed, f, SALT_POOL));
    const pair = zipf.rank(rng.next());
    const client = topo.workloads[topo.pairClient[pair]!]!;
    m.pair[f] = pair;
    m.udp[f] = rng.next() < c.udp_ratio ? 1 : 0;
    m.clientPod[f] = client.firstPod + rng.int(client.podCount);
    // Bytes per second from client to server: heavy-tailed, a few flows are bulk transfers.
    m.rate[f] = m.udp[f] ? rng.logNormal(3, 0.8) : rng.logNormal(4000, 1.4);
    m.replyRatio[f] = rng.logNormal(3, 0.8);
    m.lifetime[f] = 5 + rng.int(120);
    m.phase[f] = rng.int(m.lifetime[f]!);
  }
  return m;
}
