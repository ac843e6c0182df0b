// The datapath: the bpf/ object loaded, attached and polled. Plain C++ over
// libbpf with no N-API in it, so its life cycle (open → poll → close) can be
// read in one place; addon.cc wraps it for JavaScript.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <linux/types.h>
#include "pf_types.h"
#include "record-poller.h"

struct podflow_bpf;

struct DatapathOptions {
  std::string cgroup_path;
  uint32_t conn_map_size = 65536;
  uint32_t udp_map_size = 65536;
  uint32_t ring_buffer_size = 1u << 22;
  bool include_loopback = false;
  // How often the poll thread drains the ring buffer when nobody wakes it
  // (the programs wake it early when the buffer is half full); 0: never, the
  // owner takes the records itself (TakeRecords) and the thread only empties
  // a buffer that fills up between two takes.
  uint32_t poll_interval_ms = 100;
  // The receive-side refresh as a BTF-typed raw tracepoint (the caller probed
  // that the kernel allows it: ProbeTpBtf) instead of the classic tracepoint.
  bool tp_btf = false;
  // false: load only (BPF_PROG_TEST_RUN tests), nothing attached.
  bool attach = true;
};

// A failure with the step that failed and the errno, so JS can name the cause
// (EPERM at load = CAP_BPF/CAP_PERFMON, at cgroup attach = CAP_NET_ADMIN).
struct DatapathError : std::runtime_error {
  std::string step;
  int err;
  DatapathError(std::string step_, int err_, const std::string& msg)
      : std::runtime_error(msg), step(std::move(step_)), err(err_) {}
};

// RecordSink: receives a batch of ring-buffer records (n * sizeof(pf_conn)
// bytes) on the poll thread; takes ownership.

class Datapath {
 public:
  Datapath(const DatapathOptions& opts, RecordSink sink);
  ~Datapath();
  Datapath(const Datapath&) = delete;
  Datapath& operator=(const Datapath&) = delete;

  // All live entries of pf_conns, as pf_conn records.
  std::vector<uint8_t> ReadConnections();
  // All entries of pf_udp, as (pf_udp_key, pf_udp_value) pairs.
  std::vector<uint8_t> ReadUdp();
  // Deletes entries; returns how many existed.
  uint32_t DeleteConnections(const uint64_t* cookies, size_t n);
  uint32_t DeleteUdp(const pf_udp_key* keys, size_t n);
  // Run time and run count of each program (kernel.bpf_stats_enabled=1).
  struct ProgStats {
    std::string name;
    uint64_t run_time_ns;
    uint64_t run_cnt;
  };
  std::vector<ProgStats> ReadProgStats();
  // pf_stats summed over CPUs.
  std::vector<uint64_t> ReadStats();
  // The final records the ring buffer holds now (n * sizeof(pf_conn) bytes),
  // besides those the poll thread hands to the sink.
  std::vector<uint8_t> TakeRecords();
  // Stops polling, detaches every program and returns the records still in
  // the ring buffer. Idempotent.
  std::vector<uint8_t> Close();
  // BPF_PROG_TEST_RUN of a cgroup_skb program on one packet (L3 and up, behind
  // an Ethernet header); returns the program's return value.
  uint32_t TestRunUdp(bool egress, const uint8_t* packet, size_t len);
  bool closed() const { return closed_; }

 private:
  podflow_bpf* skel_ = nullptr;
  // Whether the receive-side refresh runs as tp_btf (asked for, and loaded).
  bool tp_btf_ = false;
  int cgroup_fd_ = -1;
  // pf_events and its poll thread; none when loaded without attaching.
  std::unique_ptr<RecordPoller> events_;
  std::mutex close_mu_;
  bool closed_ = false;
};
