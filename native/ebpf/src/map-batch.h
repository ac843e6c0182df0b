// Map reading and error reporting shared by the base datapath (datapath.cc)
// and the optional features that read hash maps of their own (drop-*.cc).
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "datapath.h"

// Throws a DatapathError for `step` with strerror(err) and libbpf's messages
// for the failure (verifier log, BTF errors) when it logged any.
[[noreturn]] inline void Fail(const std::string& step, int err, const std::string& what) {
  std::string msg = what + ": " + strerror(err);
  std::string log = TakeLibbpfLog();
  if (!log.empty()) msg += "\nlibbpf: " + log;
  throw DatapathError(step, err, msg);
}

// Reads every entry of a hash map with BPF_MAP_LOOKUP_BATCH (or, `drain`,
// BPF_MAP_LOOKUP_AND_DELETE_BATCH: read and removed), `chunk` at a time.
template <typename Emit>
void LookupAll(int fd, size_t key_size, size_t value_size, Emit emit, bool drain = false) {
  const uint32_t chunk = 4096;
  std::vector<uint8_t> keys(chunk * key_size), values(chunk * value_size);
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
