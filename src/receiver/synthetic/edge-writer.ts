// Writes synthetic flow edges straight into a pre-sized FlowBatch's columns:
// addresses copied from the precomputed pod table, Kubernetes names interned
// once per batch per pod. No object is created per row.

import { FLAG_HAS_ORIGINAL_DST, type FlowBatch } from '../../pdata/flow-batch.ts';
import { KIND_COLUMN, type WorkloadKind } from './roles.ts';
import { POD_KIND, POD_NAME, POD_NAMESPACE, POD_NODE, POD_STRINGS, POD_WORKLOAD, type Topology, type Workload } from './topology.ts';

const KINDS: readonly WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet'];

/** The attribute columns of one side (source. or destination.), in POD_* order, then one per kind. */
interface SideColumns {
  pod: Int32Array[];
  kind: Int32Array[];
}

export class EdgeWriter {
  readonly #batch: FlowBatch;
  readonly #topo: Topology;
  readonly #src: SideColumns;
  readonly #dst: SideColumns;
  readonly #service: Int32Array;
  /** Per batch: string-table index of each pod string, -1 until first used. */
  readonly #podIdx: Int32Array;
  readonly #serviceIdx: Int32Array;

  /** `batch` must already have its final capacity: columns are looked up once here. */
  constructor(batch: FlowBatch, topo: Topology) {
    this.#batch = batch;
    this.#topo = topo;
    this.#src = sideColumns(batch, 'source');
    this.#dst = sideColumns(batch, 'destination');
    this.#service = batch.attributeColumn('destination.k8s.service.name');
    this.#podIdx = new Int32Array(topo.podCount * POD_STRINGS).fill(-1);
    this.#serviceIdx = new Int32Array(topo.workloads.length).fill(-1);
  }

  /** Fills row `row` with the addressing of one edge; counters are left to the caller. */
  edge(row: number, protocol: number, flags: number, srcPod: number, srcPort: number, dstPod: number, dstPort: number, v6: boolean): void {
    const b = this.#batch;
    const addrs = v6 ? this.#topo.podAddr6 : this.#topo.podAddr4;
    copy16(b.srcAddr, row * 16, addrs, srcPod * 16);
    copy16(b.dstAddr, row * 16, addrs, dstPod * 16);
    b.family[row] = v6 ? 6 : 4;
    b.protocol[row] = protocol;
    b.flags[row] = flags;
    b.srcPort[row] = srcPort;
    b.dstPort[row] = dstPort;
    this.#names(row, this.#src, srcPod);
    this.#names(row, this.#dst, dstPod);
  }

  /** NAT: the client dialled the Service's ClusterIP; the batch keeps it as the original destination. */
  viaService(row: number, server: Workload, v6: boolean): void {
    const b = this.#batch;
    copy16(b.origDstAddr, row * 16, v6 ? server.vip6 : server.vip4, 0);
    b.origDstPort[row] = server.servicePort;
    b.flags[row] |= FLAG_HAS_ORIGINAL_DST;
    let idx = this.#serviceIdx[server.index]!;
    if (idx < 0) idx = this.#serviceIdx[server.index] = b.strings.intern(server.service ?? server.name);
    this.#service[row] = idx;
  }

  #names(row: number, cols: SideColumns, pod: number): void {
    const base = pod * POD_STRINGS;
    const idx = this.#podIdx;
    if (idx[base]! < 0) {
      const strings = this.#topo.podStrings;
      for (let k = 0; k < POD_STRINGS; k++) idx[base + k] = this.#batch.strings.intern(strings[base + k]!);
    }
    for (let k = 0; k < POD_STRINGS; k++) cols.pod[k]![row] = idx[base + k]!;
    const kind = this.#topo.workloads[this.#topo.podWorkload[pod]!]!.kind;
    cols.kind[KINDS.indexOf(kind)]![row] = idx[base + POD_WORKLOAD]!;
  }
}

function sideColumns(b: FlowBatch, side: 'source' | 'destination'): SideColumns {
  const names: string[] = [];
  names[POD_NAMESPACE] = 'namespace.name';
  names[POD_NAME] = 'pod.name';
  names[POD_NODE] = 'node.name';
  names[POD_WORKLOAD] = 'workload.name';
  names[POD_KIND] = 'workload.kind';
  return {
    pod: names.map((n) => b.attributeColumn(`${side}.k8s.${n}`)),
    kind: KINDS.map((k) => b.attributeColumn(`${side}.k8s.${KIND_COLUMN[k]}.name`)),
  };
}

function copy16(dst: Uint8Array, d: number, src: Uint8Array, s: number): void {
  for (let k = 0; k < 16; k++) dst[d + k] = src[s + k]!;
}
