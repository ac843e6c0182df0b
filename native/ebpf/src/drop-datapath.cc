// See drop-datapath.h. The program is attached through a bpf_link owned by the
// skeleton: Close(), the destructor, process exit or the kernel closing the
// fds of a killed process detach it; nothing is pinned.
#include "drop-datapath.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <cerrno>

#include "libbpf-util.h"
#include "podflow_drops.skel.h"

DropDatapath::DropDatapath(const DropOptions& o) {
  try {
    skel_ = podflow_drops_bpf__open();
    if (!skel_) Fail("open", errno, "open the drops BPF object");
    if (o.map_size == 0) Fail("options", EINVAL, "drops map size 0");
    // Both halves of the double buffer. The outer map's inner-map template
    // need not follow: for hash maps the kernel compares type, key, value and
    // flags, not the size.
    bpf_map__set_max_entries(skel_->maps.pf_drops_a, o.map_size);
    bpf_map__set_max_entries(skel_->maps.pf_drops_b, o.map_size);
    skel_->rodata->pf_drops_include_loopback = o.include_loopback ? 1 : 0;
    skel_->rodata->pf_drops_have_exclude = o.exclude.empty() ? 0 : 1;
    if (int err = LoadHoldingSignals([&] { return podflow_drops_bpf__load(skel_); }))
      Fail("load", -err, "load the drops BPF program");
    // Before attaching, so an excluded reason is never counted.
    int ex = bpf_map__fd(skel_->maps.pf_drop_exclude);
    uint8_t one = 1;
    for (uint32_t reason : o.exclude)
      if (bpf_map_update_elem(ex, &reason, &one, BPF_ANY)) Fail("exclude", errno, "fill pf_drop_exclude");
    if (!o.attach) return;
    skel_->links.pf_kfree_skb = bpf_program__attach(skel_->progs.pf_kfree_skb);
    if (!skel_->links.pf_kfree_skb) Fail("attach_tracepoint", errno, "attach pf_kfree_skb to skb:kfree_skb");
  } catch (...) {
    if (skel_) podflow_drops_bpf__destroy(skel_);
    skel_ = nullptr;
    closed_ = true;
    throw;
  }
}

DropDatapath::~DropDatapath() { Close(); }

void DropDatapath::Detach() {
  std::lock_guard<std::mutex> lock(close_mu_);
  if (!closed_ && skel_) podflow_drops_bpf__detach(skel_);
}

void DropDatapath::Close() {
  std::lock_guard<std::mutex> lock(close_mu_);
  if (closed_) return;
  closed_ = true;
  if (skel_) podflow_drops_bpf__destroy(skel_);
  skel_ = nullptr;
}

std::vector<uint8_t> DropDatapath::ReadDrops() {
  std::vector<uint8_t> out;
  if (closed_) return out;
  bpf_map* old = active_ == 0 ? skel_->maps.pf_drops_a : skel_->maps.pf_drops_b;
  bpf_map* next = active_ == 0 ? skel_->maps.pf_drops_b : skel_->maps.pf_drops_a;
  uint32_t slot = 0;
  int next_fd = bpf_map__fd(next);
  // The kernel returns from an array-of-maps update only after every program
  // that may still hold the old map has finished (synchronize_rcu), so once
  // this returns nothing writes to `old` any more: draining it loses nothing.
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.pf_drops), &slot, &next_fd, BPF_ANY))
    Fail("read_map", errno, "swap pf_drops");
  active_ = 1 - active_;
  LookupAll(bpf_map__fd(old), sizeof(pf_drop_key), sizeof(pf_drop_value),
            [&](const uint8_t* k, const uint8_t* v) {
              out.insert(out.end(), k, k + sizeof(pf_drop_key));
              out.insert(out.end(), v, v + sizeof(pf_drop_value));
            }, true);
  return out;
}

std::vector<std::pair<uint32_t, uint64_t>> DropDatapath::ReadUnattributed() {
  std::vector<std::pair<uint32_t, uint64_t>> out;
  if (closed_) return out;
  LookupAll(bpf_map__fd(skel_->maps.pf_drops_unattributed), sizeof(uint32_t), sizeof(uint64_t),
            [&](const uint8_t* k, const uint8_t* v) {
              uint32_t reason;
              uint64_t packets;
              memcpy(&reason, k, sizeof reason);
              memcpy(&packets, v, sizeof packets);
              out.emplace_back(reason, packets);
            });
  return out;
}

std::vector<uint64_t> DropDatapath::ReadStats() {
  if (closed_) return std::vector<uint64_t>(PF_DROP_STAT_MAX, 0);
  return SumPerCpu(bpf_map__fd(skel_->maps.pf_drop_stats), PF_DROP_STAT_MAX, "pf_drop_stats");
}

Datapath::ProgStats DropDatapath::ReadProgStats() {
  if (closed_) return {"pf_kfree_skb", 0, 0};
  return ProgramStats(skel_->progs.pf_kfree_skb);
}

std::vector<std::pair<uint32_t, std::string>> DropReasonNames() {
  std::vector<std::pair<uint32_t, std::string>> out;
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return out;
  int id = btf__find_by_name_kind(vmlinux, "skb_drop_reason", BTF_KIND_ENUM);
  if (id > 0) {
    const btf_type* t = btf__type_by_id(vmlinux, id);
    const struct btf_enum* e = btf_enum(t);
    for (int i = 0; i < btf_vlen(t); i++)
      out.emplace_back(static_cast<uint32_t>(e[i].val), btf__name_by_offset(vmlinux, e[i].name_off));
  }
  btf__free(vmlinux);
  return out;
}
