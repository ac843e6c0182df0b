// See dns-capture.h. The two programs are attached through bpf_links owned by
// the skeleton: Close(), the destructor, process exit (dns-addon.cc) or the
// kernel closing a killed process's fds detach them; nothing is pinned.
#include "dns-capture.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "libbpf-util.h"
#include "podflow_dns.skel.h"


DnsCapture::DnsCapture(const DnsCaptureOptions& o, DnsSink sink) {
  LibbpfLogScope log_scope;
  try {
    if (o.ports.empty() || o.ports.size() > 16) Fail("options", EINVAL, "DNS capture needs 1 to 16 ports");
    if (o.attach) cgroup_fd_ = OpenCgroup2(o.cgroup_path);
    skel_ = podflow_dns_bpf__open();
    if (!skel_) Fail("open", errno, "open DNS BPF object");
    bpf_map__set_max_entries(skel_->maps.pf_dns_events, o.ring_buffer_size);
    for (uint16_t p : o.ports) {
      if (p == 0) Fail("options", EINVAL, "DNS port 0");
      skel_->rodata->pf_dns_port_bits[p >> 3] |= static_cast<uint8_t>(1u << (p & 7));
    }
    skel_->rodata->pf_dns_include_loopback = o.include_loopback ? 1 : 0;
    skel_->rodata->pf_dns_wakeup_bytes = o.ring_buffer_size / 2;
    if (int err = LoadHoldingSignals([&] { return podflow_dns_bpf__load(skel_); }))
      Fail("load", -err, "load DNS BPF programs");
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

std::vector<uint8_t> DnsCapture::TakeRecords() {
  std::lock_guard<std::mutex> lock(close_mu_);
  if (closed_ || !events_) return {};
  return events_->Take();
}

std::vector<uint64_t> DnsCapture::ReadStats() {
  if (closed_) return std::vector<uint64_t>(PF_DNS_STAT_MAX, 0);
  return SumPerCpu(bpf_map__fd(skel_->maps.pf_dns_stats), PF_DNS_STAT_MAX, "pf_dns_stats");
}

std::vector<Datapath::ProgStats> DnsCapture::ReadProgStats() {
  if (closed_) return {};
  return ObjectProgramStats(skel_->obj);
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
