// The DNS capture: bpf/features/dns.bpf.c loaded, attached to a cgroup and its
// ring buffer polled. Plain C++ over libbpf like datapath.h, with its own
// skeleton (podflow_dns_bpf), so it loads nothing when DNS is off; dns-addon.cc
// wraps it for JavaScript.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <linux/types.h>
#include "datapath.h"  // DatapathError
#include "pf_dns_types.h"

struct podflow_dns_bpf;

struct DnsCaptureOptions {
  std::string cgroup_path;
  std::vector<uint16_t> ports;
  uint32_t ring_buffer_size = 1u << 21;
  bool include_loopback = false;
  // 0: the poll thread waits for the programs, which wake it when the buffer
  // is half full; TakeRecords() drains the rest at each collection.
  uint32_t poll_interval_ms = 100;
  // false: load only (BPF_PROG_TEST_RUN tests): nothing attached, no poll
  // thread; TestRun() drains the ring buffer itself.
  bool attach = true;
};

// Receives n * sizeof(pf_dns_event) bytes on the poll thread; takes ownership.
using DnsSink = RecordSink;

class DnsCapture {
 public:
  DnsCapture(const DnsCaptureOptions& opts, DnsSink sink);
  ~DnsCapture();
  DnsCapture(const DnsCapture&) = delete;
  DnsCapture& operator=(const DnsCapture&) = delete;

  // pf_dns_stats summed over CPUs, indexed by PF_DNS_STAT_*.
  std::vector<uint64_t> ReadStats();
  // Run time and count of the two programs (kernel.bpf_stats_enabled=1).
  std::vector<Datapath::ProgStats> ReadProgStats();
  // Drains the ring buffer now (safe beside the poll thread): the collection
  // takes what was captured up to this point without waiting for a poll.
  std::vector<uint8_t> TakeRecords();
  // Stops polling, detaches and returns the records still in the ring buffer. Idempotent.
  std::vector<uint8_t> Close();
  // BPF_PROG_TEST_RUN of one program on one packet (behind an Ethernet
  // header), `repeat` times; returns its return value, in `records` what it
  // captured and in `duration_ns` the kernel's mean run time (benchmarks).
  uint32_t TestRun(bool egress, const uint8_t* packet, size_t len, uint32_t repeat, std::vector<uint8_t>* records,
                   uint32_t* duration_ns);

 private:
  podflow_dns_bpf* skel_ = nullptr;
  int cgroup_fd_ = -1;
  // pf_dns_events; polled on its thread once attached, read by TestRun() when not.
  std::unique_ptr<RecordPoller> events_;
  std::mutex close_mu_;
  bool closed_ = false;
};
