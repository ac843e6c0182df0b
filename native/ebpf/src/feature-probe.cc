// Start-up feature probes, each with the smallest valid program (return 0):
// - fentry (a BPF trampoline) on tcp_connect: podflow does not need one; the
//   result is reported so an operator knows which optional hooks a kernel
//   would allow. Loaded, closed at once, never attached.
// - a BTF-typed raw tracepoint (tp_btf): the datapath uses one for the
//   receive-side refresh when the kernel allows it, else the classic
//   tracepoint (datapath.cc). Loaded and attached, so an attach refusal is
//   seen here rather than half-way through the datapath's attach.

#include "feature-probe.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>

namespace {

// The smallest valid program: r0 = 0; exit.
const struct bpf_insn kReturnZero[] = {
    {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
    {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
};

}  // namespace

int ProbeTpBtf(const char* tracepoint) {
  int btf_id = libbpf_find_vmlinux_btf_id(tracepoint, BPF_TRACE_RAW_TP);
  if (btf_id < 0) return btf_id;
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP,
              .attach_btf_id = static_cast<__u32>(btf_id));
  int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "pf_probe_tp_btf", "GPL", kReturnZero, 2, &opts);
  if (fd < 0) return -errno;
  int link = bpf_raw_tracepoint_open(nullptr, fd);
  int err = link < 0 ? -errno : 0;
  if (link >= 0) close(link);
  close(fd);
  return err;
}

int ProbeFentry() {
  int btf_id = libbpf_find_vmlinux_btf_id("tcp_connect", BPF_TRACE_FENTRY);
  if (btf_id < 0) return btf_id;  // no BTF or no such function: -ENOENT etc.
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY,
              .attach_btf_id = static_cast<__u32>(btf_id));
  int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "pf_probe_fentry", "GPL", kReturnZero, 2, &opts);
  if (fd < 0) return -errno;
  close(fd);
  return 0;
}
