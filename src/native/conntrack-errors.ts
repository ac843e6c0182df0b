// Turns a failing conntrack socket step (errno + what was tried) into the
// PodflowError a user can act on: missing privilege vs. missing kernel support.

import { PodflowError } from '../errors/podflow-error.ts';

const EPERM = 1;
const ENOENT = 2;
const EACCES = 13;
const EPROTONOSUPPORT = 93;
const EOPNOTSUPP = 95;
const EAFNOSUPPORT = 97;

export function conntrackError(errno: number, op: string, where: string): PodflowError {
  if (errno === EPERM || errno === EACCES) {
    return new PodflowError(
      'PODFLOW_CONNTRACK_PERMISSION',
      `${where}: ${op}: permission denied: reading conntrack needs CAP_NET_ADMIN ` +
        '(run podflow as root or grant the capability, e.g. securityContext.capabilities.add: [NET_ADMIN])',
    );
  }
  const netnsStep = op.startsWith('open netns') || op.startsWith('setns');
  if (!netnsStep && (errno === EPROTONOSUPPORT || errno === EAFNOSUPPORT || errno === EOPNOTSUPP || errno === ENOENT)) {
    return new PodflowError(
      'PODFLOW_CONNTRACK_UNSUPPORTED',
      `${where}: ${op}: this kernel has no conntrack netlink support (errno ${errno}); ` +
        'load the modules with "modprobe nf_conntrack nf_conntrack_netlink" or use the ebpf receiver',
    );
  }
  return new PodflowError('PODFLOW_COMPONENT_START', `${where}: ${op}: errno ${errno}`);
}
