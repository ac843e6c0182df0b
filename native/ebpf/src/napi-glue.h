// N-API glue the addon's wrappers share (addon.cc, dns-addon.cc,
// drop-addon.cc): DatapathError to a JS Error with step/errno/code, byte
// vectors to ArrayBuffers, ring-buffer batches to a JS callback, and the set
// of open instances that process exit closes.
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "datapath.h"

namespace napi_glue {

inline Napi::Error ToJsError(Napi::Env env, const DatapathError& e) {
  Napi::Error err = Napi::Error::New(env, e.what());
  err.Set("step", Napi::String::New(env, e.step));
  err.Set("errno", Napi::Number::New(env, e.err));
  const int n = e.err;
  const std::string name = n == EPERM ? "PERM" : n == EACCES ? "ACCES" : n == ENOENT ? "NOENT" : n == ENOTDIR ? "NOTDIR"
      : n == EINVAL ? "INVAL" : n == E2BIG ? "2BIG" : n == ENOMEM ? "NOMEM" : "RRNO" + std::to_string(n);
  err.Set("code", Napi::String::New(env, "E" + name));
  return err;
}

// Runs `f`, turning a DatapathError into the JS error above.
template <typename F>
auto Guard(Napi::Env env, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const DatapathError& e) {
    throw ToJsError(env, e);
  }
}

inline Napi::ArrayBuffer ToArrayBuffer(Napi::Env env, const std::vector<uint8_t>& v) {
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, v.size());
  if (!v.empty()) memcpy(ab.Data(), v.data(), v.size());
  return ab;
}

// Thread-safe-function target: one JS call per batch of records, never one per record.
inline void CallJs(Napi::Env env, Napi::Function cb, void*, std::vector<uint8_t>* batch) {
  std::unique_ptr<std::vector<uint8_t>> owned(batch);
  if (env == nullptr || cb.IsEmpty()) return;
  cb.Call({ToArrayBuffer(env, *owned)});
}

using BatchTsfn = Napi::TypedThreadSafeFunction<void, std::vector<uint8_t>, CallJs>;

// The open instances of one native class, so process exit can close (detach)
// them even when JS never called close().
template <typename T>
class OpenSet {
 public:
  void Add(T* t) {
    std::lock_guard<std::mutex> lock(mu_);
    open_.insert(t);
  }
  void Remove(T* t) {
    std::lock_guard<std::mutex> lock(mu_);
    open_.erase(t);
  }
  void CloseAll() {
    std::lock_guard<std::mutex> lock(mu_);
    for (T* t : open_) t->Close();
    open_.clear();
  }

 private:
  std::mutex mu_;
  std::set<T*> open_;
};

}  // namespace napi_glue
