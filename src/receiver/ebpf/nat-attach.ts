// Joins the shared NAT index for the ebpf receiver (config `nat: auto`). The
// sockets name what the application dialled (a Service VIP); resolving each
// batch through conntrack's tuples reports the backend that answered, with the
// VIP kept as destination.original. Without conntrack (no CAP_NET_ADMIN, no
// nf_conntrack_netlink) the receiver still works: one warning, rows unresolved
// (nothing is lost, so nothing is counted).

import { isPodflowError } from '../../errors/podflow-error.ts';
import { acquireNatJoin, type NatJoin, type NatJoinOptions } from '../../nat/nat-join.ts';
import type { Logger } from '../../service/logger.ts';

export type AcquireNat = (opts: NatJoinOptions) => Promise<NatJoin>;

const UNAVAILABLE = new Set(['PODFLOW_CONNTRACK_PERMISSION', 'PODFLOW_CONNTRACK_UNSUPPORTED']);

/**
 * The join, or undefined when `nat` is off or conntrack is unavailable (warned
 * once). Any other failure (a `nat_netns` that cannot be joined) is a
 * configuration error and is thrown.
 */
export async function attachNat(
  opts: Omit<NatJoinOptions, 'feeder'> & { mode: 'auto' | 'off'; logger: Logger },
  acquire: AcquireNat = acquireNatJoin,
): Promise<NatJoin | undefined> {
  if (opts.mode === 'off') return undefined;
  try {
    return await acquire({ netns: opts.netns, feeder: false, logger: opts.logger, telemetry: opts.telemetry, where: opts.where });
  } catch (e) {
    if (isPodflowError(e) && UNAVAILABLE.has(e.code)) {
      opts.logger.warn('conntrack is not available: ebpf flows are emitted without NAT resolution (a Service VIP stays the destination)', { code: e.code, error: e.message });
      return undefined;
    }
    throw e;
  }
}
