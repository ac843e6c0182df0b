// N-API glue the addon's wrappers share (addon.cc, dns-addon.cc,
// drop-addon.cc): DatapathError to a JS Error with step/errno/code, byte
// vectors to ArrayBuffers, ring-buffer batches to a JS callback, and the set
// of open instances that process exit closes.
#pragma once

#include <napi.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
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

// The JS callback a native poll thread hands its record batches to (a
// RecordSink), one call per batch. It does not keep the process alive: the
// receiver's own timer does while it runs. Release() is idempotent.
class BatchCallback {
 public:
  BatchCallback(Napi::Env env, Napi::Function cb, const char* name) : tsfn_(BatchTsfn::New(env, cb, name, 0, 1)) {
    tsfn_.Unref(env);
  }
  std::function<void(std::vector<uint8_t>*)> Sink() {
    return [this](std::vector<uint8_t>* batch) {
      if (tsfn_.NonBlockingCall(batch) != napi_ok) delete batch;
    };
  }
  void Release() {
    if (released_) return;
    released_ = true;
    tsfn_.Release();
  }

 private:
  BatchTsfn tsfn_;
  bool released_ = false;
};

// Counters (a stats map summed over CPUs) as a JS array of numbers.
inline Napi::Array ToNumberArray(Napi::Env env, const std::vector<uint64_t>& v) {
  Napi::Array out = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) out[i] = Napi::Number::New(env, static_cast<double>(v[i]));
  return out;
}

// One program's run statistics as { name, runTimeNs, runCount }.
inline Napi::Object ToJsProgStats(Napi::Env env, const Datapath::ProgStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", s.name);
  o.Set("runTimeNs", static_cast<double>(s.run_time_ns));
  o.Set("runCount", static_cast<double>(s.run_cnt));
  return o;
}

inline Napi::Array ToJsProgStats(Napi::Env env, const std::vector<Datapath::ProgStats>& stats) {
  Napi::Array out = Napi::Array::New(env, stats.size());
  for (size_t i = 0; i < stats.size(); i++) out[i] = ToJsProgStats(env, stats[i]);
  return out;
}

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
