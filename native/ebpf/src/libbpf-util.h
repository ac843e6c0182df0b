// What every BPF object of the addon does the same way around libbpf (the
// base datapath, the DNS capture, drop tracking): capture libbpf's messages
// for errors, fail with the step and errno, load with signals held back, open
// the cgroup to attach to, and read maps and program statistics.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "datapath.h"

// libbpf's messages since the last call on this thread (verifier log, BTF
// errors), tail kept, trailing blanks trimmed; empty when none.
std::string TakeLibbpfLog();

// Sends libbpf's messages to the buffer TakeLibbpfLog() reads, from now on.
void CaptureLibbpfLog();

// The same for one scope (an object's load), then whatever printer was set
// before, so two objects never take each other's log.
class LibbpfLogScope {
 public:
  LibbpfLogScope();
  ~LibbpfLogScope();
  LibbpfLogScope(const LibbpfLogScope&) = delete;
  LibbpfLogScope& operator=(const LibbpfLogScope&) = delete;

 private:
  libbpf_print_fn_t prev_;
};

// Throws a DatapathError for `step` with strerror(err) and libbpf's messages
// for the failure when it logged any.
[[noreturn]] void Fail(const std::string& step, int err, const std::string& what);

// Runs `load` (a skeleton's __load) with signals held back: the verifier gives
// up with EAGAIN when one is pending (a profiler's SIGPROF, a child's
// SIGCHLD); they are delivered right after. Returns what `load` returned.
int LoadHoldingSignals(const std::function<int()>& load);

// Opens the cgroup2 directory programs attach to (throws at step "cgroup").
int OpenCgroup2(const std::string& path);

// A per-CPU array of `n` u64 counters, each summed over the CPUs.
std::vector<uint64_t> SumPerCpu(int fd, uint32_t n, const std::string& what);

// Run time and count of one program (zero unless kernel.bpf_stats_enabled=1).
Datapath::ProgStats ProgramStats(const bpf_program* prog);

// ProgramStats of every program of an object that was loaded (one left out
// with autoload off has no fd and no statistics).
std::vector<Datapath::ProgStats> ObjectProgramStats(bpf_object* obj);

// Reads every entry of a hash map with BPF_MAP_LOOKUP_BATCH (or, `drain`,
// BPF_MAP_LOOKUP_AND_DELETE_BATCH: read and removed), `chunk` at a time.
// The chunk buffers (~0.5 MiB for pf_conns) are kept per thread between
// calls: allocated afresh, each collection paid for zeroing them and for
// faulting their pages in (mmap-sized allocations), which was a good part of
// what an idle receiver cost per collection. They are only read after the
// kernel wrote them, so they are never cleared.
template <typename Emit>
void LookupAll(int fd, size_t key_size, size_t value_size, Emit emit, bool drain = false) {
  const uint32_t chunk = 4096;
  thread_local std::vector<uint8_t> keys, values;
  if (keys.size() < chunk * key_size) keys.resize(chunk * key_size);
  if (values.size() < chunk * value_size) values.resize(chunk * value_size);
  uint64_t in_batch = 0, out_batch = 0;
  bool first = true;
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  for (;;) {
    uint32_t count = chunk;
    int err = drain
        ? bpf_map_lookup_and_delete_batch(fd, first ? nullptr : &in_batch, &out_batch, keys.data(), values.data(),
                                          &count, &opts)
        : bpf_map_lookup_batch(fd, first ? nullptr : &in_batch, &out_batch, keys.data(), values.data(), &count,
                               &opts);
    int e = err ? errno : 0;
    for (uint32_t i = 0; i < count; i++) emit(&keys[i * key_size], &values[i * value_size]);
    if (err) {
      if (e == ENOENT) return;
      Fail("read_map", e, "batch lookup");
    }
    first = false;
    in_batch = out_batch;
  }
}
