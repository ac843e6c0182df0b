// Config of the ebpf receiver's packet-drop tracking (key `drops`).

import { bool, int, list, object, string, type Infer } from '../../../config/schema.ts';
import { REASON_NAME } from './drop-reasons.ts';

const MAX_EXCLUDED = 256;

export const dropsConfigSchema = object({
  enabled: bool({ default: true, description: 'Count the packets the kernel drops (skb:kfree_skb) per 5-tuple and drop reason.' }),
  map_size: int({ default: 16_384, min: 64, max: 16_777_216, description: 'Entries (5-tuple × reason, LRU) one collection interval can hold, in each of the two halves of pf_drops; evictions are counted in podflow_ebpf_map_full_total{map="pf_drops"}.' }),
  exclude_reasons: list(string({
    check: (v) => (REASON_NAME.test(v) ? undefined
      : `invalid value "${v}": a drop reason is written in lower case without SKB_DROP_REASON_ (e.g. not_specified, netfilter_drop, reason_7)`),
  }), {
    default: [],
    // pf_drop_exclude's max_entries in bpf/features/drops.bpf.c.
    check: (v) => (v.length > MAX_EXCLUDED ? `${v.length} reasons: at most ${MAX_EXCLUDED}` : undefined),
    description: 'Drop reasons not to count (e.g. not_specified). Names the running kernel does not know are reported in a warning at start.',
  }),
});

export type DropsConfig = Infer<typeof dropsConfigSchema>;
