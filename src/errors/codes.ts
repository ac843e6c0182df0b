// The catalogue of stable error codes. Every code here is documented in
// docs/errors.md; test/errors/codes.test.ts keeps the two in step.

export const ERROR_CODES = {
  PODFLOW_CONFIG_READ: 'A config file could not be read.',
  PODFLOW_CONFIG_YAML: 'A config file is not valid YAML.',
  PODFLOW_CONFIG_INVALID: 'The configuration has one or more problems; each is listed with its path.',
  PODFLOW_CONFIG_ENV: 'An environment reference in the config is malformed.',
  PODFLOW_COMPONENT_START: 'A component failed to start.',
  PODFLOW_PORT_IN_USE: 'A port a component wants to listen on is taken.',
  PODFLOW_EXPORT_FAILED: 'An exporter could not deliver data to its backend.',
  PODFLOW_NATIVE_LOAD: 'A native addon could not be loaded; the message lists every path tried.',
  PODFLOW_CONNTRACK_PERMISSION: 'conntrack over netlink needs CAP_NET_ADMIN, which podflow does not have.',
  PODFLOW_CONNTRACK_UNSUPPORTED: 'The kernel has no conntrack netlink support (nf_conntrack / nf_conntrack_netlink).',
  PODFLOW_EBPF_PRIVILEGE: 'The ebpf receiver lacks a capability it needs; the message names it (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN).',
  PODFLOW_EBPF_BTF: 'The kernel exposes no BTF (/sys/kernel/btf/vmlinux), which the CO-RE programs of the ebpf receiver need.',
  PODFLOW_EBPF_FS: 'A filesystem the ebpf receiver needs (tracefs, cgroup2) is not mounted and podflow may not mount it.',
  PODFLOW_EBPF_KERNEL: 'The kernel is too old (before 5.8) or lacks a BPF feature the ebpf receiver needs.',
  PODFLOW_EBPF_LOAD: 'The BPF programs failed to load or attach; the message carries the step and the verifier log.',
  PODFLOW_USAGE: 'The command line is wrong.',
  PODFLOW_TOP_UNREACHABLE: 'podflow top could not read the flows_ui endpoint of the podflow it was pointed at.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
