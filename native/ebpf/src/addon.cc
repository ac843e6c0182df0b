// N-API glue for the datapath (datapath.h): the Datapath class for JS, and
// layout() so a test can compare the C record layouts with the TypeScript ones.
//
// Ring-buffer records reach JS in batches, never one per record: takeRecords()
// returns what the buffer holds, and the poll thread hands what it drains (at
// its period, or when the buffer fills up) to a thread-safe function, which
// calls the JS callback once per batch; both as ArrayBuffers of
// n * sizeof(pf_conn) bytes.
#include <napi.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>

#include "datapath.h"
#include "napi-glue.h"
#include "dns-addon.h"
#include "drop-addon.h"
#include "feature-probe.h"

namespace {

using napi_glue::BatchCallback;
using napi_glue::Guard;
using napi_glue::ToArrayBuffer;
using napi_glue::ToJsError;
using napi_glue::ToJsProgStats;
using napi_glue::ToNumberArray;

// Every open datapath, so process exit detaches them even when JS never
// called close() (the kernel would too when the fds close; this also stops the
// poll thread cleanly).
napi_glue::OpenSet<Datapath> g_open;

void CloseAllAtExit() { g_open.CloseAll(); }


class DatapathWrap : public Napi::ObjectWrap<DatapathWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Datapath",
                       {
                           InstanceMethod("readConnections", &DatapathWrap::ReadConnections),
                           InstanceMethod("readUdp", &DatapathWrap::ReadUdp),
                           InstanceMethod("deleteConnections", &DatapathWrap::DeleteConnections),
                           InstanceMethod("deleteUdp", &DatapathWrap::DeleteUdp),
                           InstanceMethod("readStats", &DatapathWrap::ReadStats),
                           InstanceMethod("takeRecords", &DatapathWrap::TakeRecords),
                           InstanceMethod("readProgStats", &DatapathWrap::ReadProgStats),
                           InstanceMethod("testRunUdp", &DatapathWrap::TestRunUdp),
                           InstanceMethod("close", &DatapathWrap::Close),
                       });
  }

  // new Datapath({ cgroupPath, connMapSize, udpMapSize, ringBufferSize, includeLoopback, attach }, onRecords)
  explicit DatapathWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DatapathWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction())
      throw Napi::TypeError::New(env, "new Datapath(options, onRecords)");
    Napi::Object o = info[0].As<Napi::Object>();
    DatapathOptions opts;
    opts.cgroup_path = o.Get("cgroupPath").As<Napi::String>().Utf8Value();
    opts.conn_map_size = o.Get("connMapSize").As<Napi::Number>().Uint32Value();
    opts.udp_map_size = o.Get("udpMapSize").As<Napi::Number>().Uint32Value();
    opts.ring_buffer_size = o.Get("ringBufferSize").As<Napi::Number>().Uint32Value();
    opts.include_loopback = o.Get("includeLoopback").ToBoolean().Value();
    opts.tp_btf = o.Has("tpBtf") && o.Get("tpBtf").ToBoolean().Value();
    opts.attach = !o.Has("attach") || o.Get("attach").ToBoolean().Value();
    if (o.Has("pollIntervalMs")) opts.poll_interval_ms = o.Get("pollIntervalMs").As<Napi::Number>().Uint32Value();

    records_ = std::make_unique<BatchCallback>(env, info[1].As<Napi::Function>(), "podflow-ebpf-ringbuf");
    try {
      dp_ = std::make_unique<Datapath>(opts, records_->Sink());
    } catch (const DatapathError& e) {
      records_->Release();
      throw ToJsError(env, e);
    }
    g_open.Add(dp_.get());
  }

  ~DatapathWrap() override { Shutdown(); }

 private:
  std::vector<uint8_t> Shutdown() {
    if (!dp_) return {};
    g_open.Remove(dp_.get());
    std::vector<uint8_t> rest = dp_->Close();  // empty once closed
    records_->Release();
    return rest;
  }


  Napi::Value ReadConnections(const Napi::CallbackInfo& info) {
    return ToArrayBuffer(info.Env(), Guard(info.Env(), [&] { return dp_->ReadConnections(); }));
  }

  Napi::Value ReadUdp(const Napi::CallbackInfo& info) {
    return ToArrayBuffer(info.Env(), Guard(info.Env(), [&] { return dp_->ReadUdp(); }));
  }

  Napi::Value DeleteConnections(const Napi::CallbackInfo& info) {
    if (!info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "deleteConnections(BigUint64Array)");
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    if (ta.TypedArrayType() != napi_biguint64_array)
      throw Napi::TypeError::New(info.Env(), "deleteConnections(BigUint64Array)");
    auto a = ta.As<Napi::TypedArrayOf<uint64_t>>();
    return Napi::Number::New(info.Env(), dp_->DeleteConnections(a.Data(), a.ElementLength()));
  }

  Napi::Value DeleteUdp(const Napi::CallbackInfo& info) {
    if (!info[0].IsArrayBuffer()) throw Napi::TypeError::New(info.Env(), "deleteUdp(ArrayBuffer of pf_udp_key)");
    Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
    size_t n = ab.ByteLength() / sizeof(pf_udp_key);
    std::vector<pf_udp_key> keys(n);
    if (n) memcpy(keys.data(), ab.Data(), n * sizeof(pf_udp_key));
    return Napi::Number::New(info.Env(), dp_->DeleteUdp(keys.data(), n));
  }

  Napi::Value ReadStats(const Napi::CallbackInfo& info) {
    return ToNumberArray(info.Env(), Guard(info.Env(), [&] { return dp_->ReadStats(); }));
  }

  Napi::Value TakeRecords(const Napi::CallbackInfo& info) {
    return ToArrayBuffer(info.Env(), Guard(info.Env(), [&] { return dp_->TakeRecords(); }));
  }

  Napi::Value ReadProgStats(const Napi::CallbackInfo& info) {
    return ToJsProgStats(info.Env(), Guard(info.Env(), [&] { return dp_->ReadProgStats(); }));
  }

  Napi::Value TestRunUdp(const Napi::CallbackInfo& info) {
    if (!info[1].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "testRunUdp(egress, Uint8Array)");
    bool egress = info[0].ToBoolean().Value();
    auto pkt = info[1].As<Napi::Uint8Array>();
    uint32_t rv = Guard(info.Env(), [&] { return dp_->TestRunUdp(egress, pkt.Data(), pkt.ByteLength()); });
    return Napi::Number::New(info.Env(), rv);
  }

  // Detaches everything; returns the ring-buffer records not yet delivered.
  Napi::Value Close(const Napi::CallbackInfo& info) { return ToArrayBuffer(info.Env(), Shutdown()); }

  std::unique_ptr<BatchCallback> records_;
  std::unique_ptr<Datapath> dp_;
};

#define FIELD(obj, type, f) obj.Set(#f, Napi::Number::New(env, offsetof(type, f)))

Napi::Value Layout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);

  Napi::Object conn = Napi::Object::New(env);
  FIELD(conn, pf_conn, cookie);
  FIELD(conn, pf_conn, start_ns);
  FIELD(conn, pf_conn, established_ns);
  FIELD(conn, pf_conn, end_ns);
  FIELD(conn, pf_conn, bytes_acked);
  FIELD(conn, pf_conn, bytes_received);
  FIELD(conn, pf_conn, segs_out);
  FIELD(conn, pf_conn, segs_in);
  FIELD(conn, pf_conn, total_retrans);
  FIELD(conn, pf_conn, srtt_us);
  FIELD(conn, pf_conn, rtt_min_us);
  FIELD(conn, pf_conn, resets);
  FIELD(conn, pf_conn, local_addr);
  FIELD(conn, pf_conn, remote_addr);
  FIELD(conn, pf_conn, local_port);
  FIELD(conn, pf_conn, remote_port);
  FIELD(conn, pf_conn, family);
  FIELD(conn, pf_conn, flags);
  conn.Set("size", Napi::Number::New(env, sizeof(pf_conn)));
  out.Set("pf_conn", conn);

  Napi::Object key = Napi::Object::New(env);
  FIELD(key, pf_udp_key, local_addr);
  FIELD(key, pf_udp_key, remote_addr);
  FIELD(key, pf_udp_key, local_port);
  FIELD(key, pf_udp_key, remote_port);
  FIELD(key, pf_udp_key, family);
  FIELD(key, pf_udp_key, direction);
  key.Set("size", Napi::Number::New(env, sizeof(pf_udp_key)));
  out.Set("pf_udp_key", key);

  Napi::Object val = Napi::Object::New(env);
  FIELD(val, pf_udp_value, bytes);
  FIELD(val, pf_udp_value, packets);
  val.Set("size", Napi::Number::New(env, sizeof(pf_udp_value)));
  out.Set("pf_udp_value", val);

  Napi::Object consts = Napi::Object::New(env);
  consts.Set("PF_CONN_CLIENT", PF_CONN_CLIENT);
  consts.Set("PF_CONN_ESTABLISHED", PF_CONN_ESTABLISHED);
  consts.Set("PF_CONN_CLOSED", PF_CONN_CLOSED);
  consts.Set("PF_CONN_FAILED", PF_CONN_FAILED);
  consts.Set("PF_CONN_ORPHANED", PF_CONN_ORPHANED);
  consts.Set("PF_DIR_EGRESS", PF_DIR_EGRESS);
  consts.Set("PF_DIR_INGRESS", PF_DIR_INGRESS);
  consts.Set("PF_STAT_RINGBUF_LOST", PF_STAT_RINGBUF_LOST);
  consts.Set("PF_STAT_CONN_MAP_FULL", PF_STAT_CONN_MAP_FULL);
  consts.Set("PF_STAT_UDP_INSERTS", PF_STAT_UDP_INSERTS);
  consts.Set("PF_STAT_UDP_UPDATE_FAILED", PF_STAT_UDP_UPDATE_FAILED);
  consts.Set("PF_STAT_MAX", PF_STAT_MAX);
  out.Set("constants", consts);
  return out;
}

// probeFentry() → 0 or -errno (see feature-probe.cc).
Napi::Value ProbeFentryJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), ProbeFentry());
}

// probeTpBtf(tracepoint) → 0 or -errno (see feature-probe.cc).
Napi::Value ProbeTpBtfJs(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), "probeTpBtf(tracepoint)");
  return Napi::Number::New(info.Env(), ProbeTpBtf(info[0].As<Napi::String>().Utf8Value().c_str()));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  static bool registered = false;
  if (!registered) {
    registered = true;
    atexit(CloseAllAtExit);
  }
  exports.Set("Datapath", DatapathWrap::Define(env));
  exports.Set("layout", Napi::Function::New(env, Layout));
  exports.Set("probeFentry", Napi::Function::New(env, ProbeFentryJs));
  exports.Set("probeTpBtf", Napi::Function::New(env, ProbeTpBtfJs));
  InitDns(env, exports);
  InitDrops(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(podflow_ebpf, Init)
