// See dns-capture.h. The two programs are attached through bpf_links owned by
// the skeleton: Close(), the destructor, process exit (dns-addon.cc) or the
// kernel closing a killed process's fds detach them; nothing is pinned.
#include "dns-capture.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstring>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "podflow_dns.skel.h"

namespace {

thread_local std::string dns_libbpf_log;

int CaptureLog(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[1024];
  int n = vsnprintf(buf, sizeof buf, fmt, args);
  dns_libbpf_log.append(buf);
  // The verifier's verdict is at the end of its log: keep the tail.
  if (dns_libbpf_log.size() > 8192) dns_libbpf_log.erase(0, dns_libbpf_log.size() - 8192);
  return n;
}

[[noreturn]] void Fail(const std::string& step, int err, const std::string& what) {
  std::string msg = what + ": " + strerror(err);
  std::string log;
  log.swap(dns_libbpf_log);
  while (!log.empty() && (log.back() == '\n' || log.back() == ' ')) log.pop_back();
  if (!log.empty()) msg += "\nlibbpf: " + log;
  throw DatapathError(step, err, msg);
}

// libbpf's printer is process-wide: ours only while this object loads, then
// whatever was there before (the base datapath's), so neither steals the other's log.
struct LogScope {
  libbpf_print_fn_t prev;
  LogScope() : prev(libbpf_set_print(CaptureLog)) { dns_libbpf_log.clear(); }
  ~LogScope() { libbpf_set_print(prev); }
};

}  // namespace

DnsCapture::DnsCapture(const DnsCaptureOptions& o, DnsSink sink) {
  LogScope log_scope;
  try {
    if (o.ports.empty() || o.ports.size() > 16) Fail("options", EINVAL, "DNS capture needs 1 to 16 ports");
    if (o.attach) {
      cgroup_fd_ = open(o.cgroup_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (cgroup_fd_ < 0) Fail("cgroup", errno, "open cgroup " + o.cgroup_path);
      struct statfs sfs;
      if (fstatfs(cgroup_fd_, &sfs) == 0 && sfs.f_type != CGROUP2_SUPER_MAGIC)
        Fail("cgroup", ENOTDIR, o.cgroup_path + " is not a cgroup2 mount");
    }
    skel_ = podflow_dns_bpf__open();
    if (!skel_) Fail("open", errno, "open DNS BPF object");
    bpf_map__set_max_entries(skel_->maps.pf_dns_events, o.ring_buffer_size);
    for (uint16_t p : o.ports) {
      if (p == 0) Fail("options", EINVAL, "DNS port 0");
      skel_->rodata->pf_dns_port_bits[p >> 3] |= static_cast<uint8_t>(1u << (p & 7));
    }
    skel_->rodata->pf_dns_include_loopback = o.include_loopback ? 1 : 0;
    skel_->rodata->pf_dns_wakeup_bytes = o.ring_buffer_size / 2;
    {
      // A pending signal makes the verifier give up with EAGAIN (see datapath.cc).
      sigset_t block, old;
      sigfillset(&block);
      for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP}) sigdelset(&block, sig);
      pthread_sigmask(SIG_BLOCK, &block, &old);
      int err = podflow_dns_bpf__load(skel_);
      pthread_sigmask(SIG_SETMASK, &old, nullptr);
      if (err) Fail("load", -err, "load DNS BPF programs");
    }
    events_ = std::make_unique<RecordPoller>(bpf_map__fd(skel_->maps.pf_dns_events), sizeof(pf_dns_event),
                                             "DNS ring buffer");
    if (!o.attach) return;
    struct {
      bpf_program* prog;
      bpf_link** link;
    } attach[] = {
        {skel_->progs.pf_dns_egress, &skel_->links.pf_dns_egress},
        {skel_->progs.pf_dns_ingress, &skel_->links.pf_dns_ingress},
    };
    for (auto& a : attach) {
      *a.link = bpf_program__attach_cgroup(a.prog, cgroup_fd_);
      if (!*a.link) {
        int e = errno;
        Fail("attach_cgroup", e, std::string("attach ") + bpf_program__name(a.prog) + " to " + o.cgroup_path);
      }
    }
    events_->Start(o.poll_interval_ms, std::move(sink));
  } catch (...) {
    events_.reset();
    if (skel_) podflow_dns_bpf__destroy(skel_);
    if (cgroup_fd_ >= 0) close(cgroup_fd_);
    skel_ = nullptr;
    cgroup_fd_ = -1;
    closed_ = true;
    throw;
  }
}

DnsCapture::~DnsCapture() {
  std::vector<uint8_t> rest = Close();
  (void)rest;
}

std::vector<uint8_t> DnsCapture::Close() {
  std::lock_guard<std::mutex> lock(close_mu_);
  std::vector<uint8_t> rest;
  if (closed_) return rest;
  closed_ = true;
  if (events_) events_->Stop();
  // Detach first so nothing new arrives, then drain what is left.
  if (skel_) podflow_dns_bpf__detach(skel_);
  if (events_) {
    rest = events_->Take();
    events_.reset();
  }
  if (skel_) podflow_dns_bpf__destroy(skel_);
  skel_ = nullptr;
  if (cgroup_fd_ >= 0) close(cgroup_fd_);
  cgroup_fd_ = -1;
  return rest;
}

std::vector<uint64_t> DnsCapture::ReadStats() {
  std::vector<uint64_t> out(PF_DNS_STAT_MAX, 0);
  if (closed_) return out;
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) Fail("read_map", -ncpu, "count possible CPUs");
  std::vector<uint64_t> percpu(ncpu);
  int fd = bpf_map__fd(skel_->maps.pf_dns_stats);
  for (uint32_t i = 0; i < PF_DNS_STAT_MAX; i++) {
    if (bpf_map_lookup_elem(fd, &i, percpu.data())) Fail("read_map", errno, "read pf_dns_stats");
    for (int c = 0; c < ncpu; c++) out[i] += percpu[c];
  }
  return out;
}

std::vector<Datapath::ProgStats> DnsCapture::ReadProgStats() {
  std::vector<Datapath::ProgStats> out;
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

uint32_t DnsCapture::TestRun(bool egress, const uint8_t* packet, size_t len, uint32_t repeat,
                             std::vector<uint8_t>* records, uint32_t* duration_ns) {
  if (closed_) Fail("test_run", EBADF, "DNS capture is closed");
  // With a poll thread, consuming here would race it.
  if (events_->started()) Fail("test_run", EBUSY, "DNS capture is attached");
  bpf_program* prog = egress ? skel_->progs.pf_dns_egress : skel_->progs.pf_dns_ingress;
  std::vector<uint8_t> in(packet, packet + len);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_size_in = static_cast<uint32_t>(in.size()),
              .repeat = static_cast<int>(repeat ? repeat : 1));
  if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts)) Fail("test_run", errno, "BPF_PROG_TEST_RUN");
  *records = events_->Take();
  *duration_ns = opts.duration;
  return opts.retval;
}
