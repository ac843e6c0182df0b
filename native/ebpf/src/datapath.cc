// See datapath.h. Every program is attached through a bpf_link owned by the
// skeleton: closing it (Close(), the destructor, process exit, or the kernel
// closing the fds of a killed process) detaches it; nothing is pinned.
#include "datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

#include "libbpf-util.h"
#include "podflow.skel.h"

namespace {

// Opens the object into *skel, sizes and configures it, and loads it with one
// of the two receive-side refresh programs (never both): 0 or -errno.
int OpenAndLoad(podflow_bpf** skel, const DatapathOptions& o, int cgroup_fd, bool tp_btf) {
  podflow_bpf* s = *skel = podflow_bpf__open();
  if (!s) Fail("open", errno, "open BPF object");
  bpf_map__set_max_entries(s->maps.pf_conns, o.conn_map_size);
  bpf_map__set_max_entries(s->maps.pf_udp, o.udp_map_size);
  bpf_map__set_max_entries(s->maps.pf_events, o.ring_buffer_size);
  s->rodata->pf_include_loopback = o.include_loopback ? 1 : 0;
  s->rodata->pf_ringbuf_wakeup_bytes = o.ring_buffer_size / 2;
  // cgroup2 ids are the directories' inode numbers: the set_state tracepoint
  // sees every socket and keeps those below the attached cgroup.
  struct stat cst;
  if (cgroup_fd >= 0 && fstat(cgroup_fd, &cst) == 0) s->rodata->pf_cgroup_id = cst.st_ino;
  bpf_program__set_autoload(s->progs.pf_tcp_rcv_space_adjust, !tp_btf);
  bpf_program__set_autoload(s->progs.pf_tcp_rcv_space_adjust_btf, tp_btf);
  return LoadHoldingSignals([&] { return podflow_bpf__load(s); });
}

}  // namespace

Datapath::Datapath(const DatapathOptions& o, RecordSink sink) {
  CaptureLibbpfLog();
  try {
    if (o.attach) cgroup_fd_ = OpenCgroup2(o.cgroup_path);

    tp_btf_ = o.tp_btf;
    int err = OpenAndLoad(&skel_, o, cgroup_fd_, tp_btf_);
    if (err && tp_btf_) {
      // A kernel can run the probe's trivial tp_btf program and still refuse
      // this one (tp_btf came in 5.5, bpf_skc_to_tcp_sock in 5.9): the classic
      // tracepoint does the same work. That attempt's log is not this error's.
      TakeLibbpfLog();
      podflow_bpf__destroy(skel_);
      skel_ = nullptr;
      tp_btf_ = false;
      err = OpenAndLoad(&skel_, o, cgroup_fd_, false);
    }
    if (err) Fail("load", -err, "load BPF programs");

    auto& p = skel_->progs;
    auto& l = skel_->links;
    struct Attach {
      bpf_program* prog;
      bpf_link** link;
      bool cgroup;
    };
    const Attach rcv = tp_btf_ ? Attach{p.pf_tcp_rcv_space_adjust_btf, &l.pf_tcp_rcv_space_adjust_btf, false}
                                : Attach{p.pf_tcp_rcv_space_adjust, &l.pf_tcp_rcv_space_adjust, false};
    Attach attach[] = {
        {p.pf_sockops, &l.pf_sockops, true},
        {p.pf_udp_egress, &l.pf_udp_egress, true},
        {p.pf_udp_ingress, &l.pf_udp_ingress, true},
        rcv,
        {p.pf_tcp_retransmit_skb, &l.pf_tcp_retransmit_skb, false},
        {p.pf_tcp_receive_reset, &l.pf_tcp_receive_reset, false},
        {p.pf_tcp_send_reset, &l.pf_tcp_send_reset, false},
        {p.pf_inet_sock_set_state, &l.pf_inet_sock_set_state, false},
    };
    for (auto& a : attach) {
      if (!o.attach) break;
      *a.link = a.cgroup ? bpf_program__attach_cgroup(a.prog, cgroup_fd_) : bpf_program__attach(a.prog);
      if (!*a.link) {
        int e = errno;
        Fail(a.cgroup ? "attach_cgroup" : "attach_tracepoint", e,
             std::string("attach ") + bpf_program__name(a.prog) + (a.cgroup ? " to " + o.cgroup_path : ""));
      }
    }

    if (!o.attach) return;
    events_ = std::make_unique<RecordPoller>(bpf_map__fd(skel_->maps.pf_events), sizeof(pf_conn), "ring buffer");
    events_->Start(o.poll_interval_ms, std::move(sink));
  } catch (...) {
    events_.reset();
    if (skel_) podflow_bpf__destroy(skel_);
    if (cgroup_fd_ >= 0) close(cgroup_fd_);
    skel_ = nullptr;
    cgroup_fd_ = -1;
    closed_ = true;
    throw;
  }
}

Datapath::~Datapath() {
  std::vector<uint8_t> rest = Close();
  (void)rest;
}

std::vector<uint8_t> Datapath::Close() {
  std::lock_guard<std::mutex> lock(close_mu_);
  std::vector<uint8_t> rest;
  if (closed_) return rest;
  closed_ = true;
  if (events_) events_->Stop();
  // Detach first so nothing new arrives, then drain what is left.
  if (skel_) podflow_bpf__detach(skel_);
  if (events_) {
    rest = events_->Take();
    events_.reset();
  }
  if (skel_) podflow_bpf__destroy(skel_);
  skel_ = nullptr;
  if (cgroup_fd_ >= 0) close(cgroup_fd_);
  cgroup_fd_ = -1;
  return rest;
}

std::vector<uint8_t> Datapath::ReadConnections() {
  std::vector<uint8_t> out;
  if (closed_) return out;
  LookupAll(bpf_map__fd(skel_->maps.pf_conns), sizeof(uint64_t), sizeof(pf_conn),
            [&](const uint8_t*, const uint8_t* v) { out.insert(out.end(), v, v + sizeof(pf_conn)); });
  return out;
}

std::vector<uint8_t> Datapath::ReadUdp() {
  std::vector<uint8_t> out;
  if (closed_) return out;
  LookupAll(bpf_map__fd(skel_->maps.pf_udp), sizeof(pf_udp_key), sizeof(pf_udp_value),
            [&](const uint8_t* k, const uint8_t* v) {
              out.insert(out.end(), k, k + sizeof(pf_udp_key));
              out.insert(out.end(), v, v + sizeof(pf_udp_value));
            });
  return out;
}

uint32_t Datapath::DeleteConnections(const uint64_t* cookies, size_t n) {
  uint32_t deleted = 0;
  if (closed_) return 0;
  int fd = bpf_map__fd(skel_->maps.pf_conns);
  for (size_t i = 0; i < n; i++)
    if (bpf_map_delete_elem(fd, &cookies[i]) == 0) deleted++;
  return deleted;
}

uint32_t Datapath::DeleteUdp(const pf_udp_key* keys, size_t n) {
  uint32_t deleted = 0;
  if (closed_) return 0;
  int fd = bpf_map__fd(skel_->maps.pf_udp);
  for (size_t i = 0; i < n; i++)
    if (bpf_map_delete_elem(fd, &keys[i]) == 0) deleted++;
  return deleted;
}

std::vector<uint8_t> Datapath::TakeRecords() {
  if (closed_ || !events_) return {};
  return events_->Take();
}

std::vector<uint64_t> Datapath::ReadStats() {
  if (closed_) return std::vector<uint64_t>(PF_STAT_MAX, 0);
  return SumPerCpu(bpf_map__fd(skel_->maps.pf_stats), PF_STAT_MAX, "pf_stats");
}

uint32_t Datapath::TestRunUdp(bool egress, const uint8_t* packet, size_t len) {
  if (closed_) Fail("test_run", EBADF, "datapath is closed");
  bpf_program* prog = egress ? skel_->progs.pf_udp_egress : skel_->progs.pf_udp_ingress;
  std::vector<uint8_t> in(packet, packet + len);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_size_in = static_cast<uint32_t>(in.size()),
              .repeat = 1);
  if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts)) Fail("test_run", errno, "BPF_PROG_TEST_RUN");
  return opts.retval;
}

std::vector<Datapath::ProgStats> Datapath::ReadProgStats() {
  if (closed_) return {};
  return ObjectProgramStats(skel_->obj);
}
