// Packet-drop tracking (bpf/features/drops.bpf.c): the skb:kfree_skb program
// loaded and attached, its maps read and trimmed. Plain C++ over libbpf; the
// N-API side is drop-addon.cc.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <linux/types.h>
#include "datapath.h"  // DatapathError
#include "pf_drop_types.h"

struct podflow_drops_bpf;

struct DropOptions {
  uint32_t map_size = 16384;
  bool include_loopback = false;
  // enum skb_drop_reason values not to count (config drops.exclude_reasons).
  std::vector<uint32_t> exclude;
  // false: load only, attach nothing.
  bool attach = true;
};

class DropDatapath {
 public:
  explicit DropDatapath(const DropOptions& opts);
  ~DropDatapath();
  DropDatapath(const DropDatapath&) = delete;
  DropDatapath& operator=(const DropDatapath&) = delete;

  // The drops since the previous call, as (pf_drop_key, pf_drop_value)
  // pairs: swaps the active half of pf_drops and drains the other.
  std::vector<uint8_t> ReadDrops();
  // pf_drops_unattributed: (reason, cumulative packets).
  std::vector<std::pair<uint32_t, uint64_t>> ReadUnattributed();
  // pf_drop_stats summed over CPUs, indexed by PF_DROP_STAT_*.
  std::vector<uint64_t> ReadStats();
  // Run time and run count of the program (kernel.bpf_stats_enabled=1).
  Datapath::ProgStats ReadProgStats();
  // Detaches the program; the maps stay readable until Close(). Idempotent.
  void Detach();
  // Detaches and frees everything. Idempotent.
  void Close();
  bool closed() const { return closed_; }

 private:
  podflow_drops_bpf* skel_ = nullptr;
  // Which half of pf_drops (a = 0, b = 1) the program counts into.
  int active_ = 0;
  std::mutex close_mu_;
  bool closed_ = false;
};

// The members of the kernel's enum skb_drop_reason (vmlinux BTF) as the kernel
// spells them (SKB_DROP_REASON_NO_SOCKET, SKB_CONSUMED, ...). Empty when the
// kernel has no BTF or no such enum (before 5.17).
std::vector<std::pair<uint32_t, std::string>> DropReasonNames();
