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
  if ((errno === EPERM || errno === EACCES) && op.startsWith('setns')) {
    return new PodflowError(
      'PODFLOW_CONNTRACK_PERMISSION',
      `${where}::netns: ${op}: permission denied: reading another network namespace's conntrack table needs CAP_SYS_ADMIN (setns)`,
    );
  }
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
  // A namespace that cannot be joined is a problem with the `netns` setting.
  return new PodflowError('PODFLOW_COMPONENT_START', `${where}${netnsStep ? '::netns' : ''}: ${op}: ${errnoText(errno)}`);
}

const ERRNO_TEXT: Record<number, string> = {
  2: 'no such file or directory', 9: 'bad file descriptor', 12: 'out of memory', 22: 'invalid argument',
  24: 'too many open files', 105: 'no buffer space available',
};

function errnoText(errno: number): string {
  return ERRNO_TEXT[errno] ? `${ERRNO_TEXT[errno]} (errno ${errno})` : `errno ${errno}`;
}
