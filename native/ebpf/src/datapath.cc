// See datapath.h. Every program is attached through a bpf_link owned by the
// skeleton: closing it (Close(), the destructor, process exit, or the kernel
// closing the fds of a killed process) detaches it; nothing is pinned.
#include "datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <csignal>
#include <fcntl.h>
#include <pthread.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "map-batch.h"
#include "podflow.skel.h"

namespace {

thread_local std::string libbpf_log;

int CaptureLibbpf(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[1024];
  int n = vsnprintf(buf, sizeof buf, fmt, args);
  // Keep the tail: the verifier's verdict is at the end of its log.
  libbpf_log.append(buf);
  if (libbpf_log.size() > 8192) libbpf_log.erase(0, libbpf_log.size() - 8192);
  return n;
}

}  // namespace

std::string TakeLibbpfLog() {
  std::string s;
  s.swap(libbpf_log);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Datapath::Datapath(const DatapathOptions& o, RecordSink sink) {
  libbpf_set_print(CaptureLibbpf);
  libbpf_log.clear();
  try {
    if (o.attach) {
      cgroup_fd_ = open(o.cgroup_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (cgroup_fd_ < 0) Fail("cgroup", errno, "open cgroup " + o.cgroup_path);
      struct statfs sfs;
      if (fstatfs(cgroup_fd_, &sfs) == 0 && sfs.f_type != CGROUP2_SUPER_MAGIC)
        Fail("cgroup", ENOTDIR, o.cgroup_path + " is not a cgroup2 mount");
    }

    skel_ = podflow_bpf__open();
    if (!skel_) Fail("open", errno, "open BPF object");
    bpf_map__set_max_entries(skel_->maps.pf_conns, o.conn_map_size);
    bpf_map__set_max_entries(skel_->maps.pf_udp, o.udp_map_size);
    bpf_map__set_max_entries(skel_->maps.pf_events, o.ring_buffer_size);
    skel_->rodata->pf_include_loopback = o.include_loopback ? 1 : 0;
    skel_->rodata->pf_ringbuf_wakeup_bytes = o.ring_buffer_size / 2;
    // cgroup2 ids are the directories' inode numbers: the set_state tracepoint
    // sees every socket and keeps those below the attached cgroup.
    struct stat cst;
    if (cgroup_fd_ >= 0 && fstat(cgroup_fd_, &cst) == 0) skel_->rodata->pf_cgroup_id = cst.st_ino;
    {
      // The verifier gives up with EAGAIN when a signal is pending (a
      // profiler's SIGPROF, a child's SIGCHLD); hold them back while loading,
      // they are delivered right after.
      sigset_t block, old;
      sigfillset(&block);
      for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP}) sigdelset(&block, sig);
      pthread_sigmask(SIG_BLOCK, &block, &old);
      int err = podflow_bpf__load(skel_);
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      if (err) Fail("load", -err, "load BPF programs");
    }

    auto& p = skel_->progs;
    auto& l = skel_->links;
    struct {
      bpf_program* prog;
      bpf_link** link;
      bool cgroup;
    } attach[] = {
        {p.pf_sockops, &l.pf_sockops, true},
        {p.pf_udp_egress, &l.pf_udp_egress, true},
        {p.pf_udp_ingress, &l.pf_udp_ingress, true},
        {p.pf_tcp_rcv_space_adjust, &l.pf_tcp_rcv_space_adjust, false},
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

std::vector<uint64_t> Datapath::ReadStats() {
  std::vector<uint64_t> out(PF_STAT_MAX, 0);
  if (closed_) return out;
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) Fail("read_map", -ncpu, "count possible CPUs");
  std::vector<uint64_t> percpu(ncpu);
  int fd = bpf_map__fd(skel_->maps.pf_stats);
  for (uint32_t i = 0; i < PF_STAT_MAX; i++) {
    if (bpf_map_lookup_elem(fd, &i, percpu.data())) Fail("read_map", errno, "read pf_stats");
    for (int c = 0; c < ncpu; c++) out[i] += percpu[c];
  }
  return out;
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
  std::vector<ProgStats> out;
  if (closed_) return out;
  bpf_program* prog;
  bpf_object__for_each_program(prog, skel_->obj) {
    bpf_prog_info info = {};
    uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len)) Fail("prog_info", errno, "read program info");
    out.push_back({bpf_program__name(prog), info.run_time_ns, info.run_cnt});
  }
  return out;
}
