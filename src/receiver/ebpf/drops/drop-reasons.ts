// Names of the kernel's drop reasons: enum skb_drop_reason as the running
// kernel's BTF spells it (SKB_DROP_REASON_NETFILTER_DROP → netfilter_drop),
// read at start because the values differ between kernel versions. A value the
// enum lacks (a newer kernel's, or a subsystem's such as mac80211 or
// openvswitch, which have enums of their own) is named reason_<n>; a kernel
// without reasons (before 5.17) reports "unknown".

import { PF_DROP_CONSTANTS } from '../../../native/ebpf-drops.ts';

/** The form of a reason name in config and in the drop.reason attribute. */
export const REASON_NAME = /^[a-z0-9_]+$/;

/** Members that are markers, not reasons. */
const NOT_REASONS = new Set(['SKB_DROP_REASON_MAX', 'SKB_DROP_REASON_SUBSYS_MASK']);

/** SKB_DROP_REASON_NO_SOCKET → no_socket, SKB_CONSUMED → consumed; undefined for markers. */
export function reasonName(kernelName: string): string | undefined {
  if (NOT_REASONS.has(kernelName)) return undefined;
  const m = /^SKB_(?:DROP_REASON_)?(.+)$/.exec(kernelName);
  return (m ? m[1]! : kernelName).toLowerCase();
}

export class DropReasons {
  readonly #byValue = new Map<number, string>();
  readonly #byName = new Map<string, number>();

  /** `entries`: the enum's members as kernelDropReasons() returns them. */
  constructor(entries: ReadonlyArray<{ value: number; name: string }>) {
    for (const { value, name } of entries) {
      const n = reasonName(name);
      if (n === undefined || this.#byValue.has(value)) continue;
      this.#byValue.set(value, n);
      this.#byName.set(n, value);
    }
  }

  /** Whether the kernel's enum was found (false: every value is named reason_<n>). */
  get known(): boolean {
    return this.#byValue.size > 0;
  }

  name(value: number): string {
    if (value === PF_DROP_CONSTANTS.PF_DROP_REASON_UNKNOWN) return 'unknown';
    return this.#byValue.get(value) ?? `reason_${value}`;
  }

  /** The value a name stands for (also reason_<n> and unknown); undefined when this kernel has no such reason. */
  value(name: string): number | undefined {
    if (name === 'unknown') return PF_DROP_CONSTANTS.PF_DROP_REASON_UNKNOWN;
    const v = this.#byName.get(name);
    if (v !== undefined) return v;
    const m = /^reason_(\d+)$/.exec(name);
    return m && Number(m[1]) <= 0xffffffff ? Number(m[1]) : undefined;
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }
}
