// Start-up feature probe: can this process load an fentry (BPF trampoline)
// program? podflow does not need one; the result is reported so an operator
// knows which optional hooks a kernel would allow. The program is the smallest
// valid one (return 0) on tcp_connect; it is closed at once, never attached.

#include "feature-probe.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>

int ProbeFentry() {
  int btf_id = libbpf_find_vmlinux_btf_id("tcp_connect", BPF_TRACE_FENTRY);
  if (btf_id < 0) return btf_id;  // no BTF or no such function: -ENOENT etc.
  const struct bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY,
              .attach_btf_id = static_cast<__u32>(btf_id));
  int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "pf_probe_fentry", "GPL", insns, 2, &opts);
  if (fd < 0) return -errno;
  close(fd);
  return 0;
}
