// N-API glue of the DNS capture: the DnsCapture class for JS, and dnsLayout()
// so a test can compare struct pf_dns_event with the TypeScript table.
//
// Records reach JS in batches: the poll thread hands each batch to a
// thread-safe function that calls the JS callback once per batch with an
// ArrayBuffer of n * sizeof(pf_dns_event) bytes.
#include "dns-addon.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>

#include "dns-capture.h"
#include "napi-glue.h"

namespace {

using napi_glue::BatchCallback;
using napi_glue::Guard;
using napi_glue::ToArrayBuffer;
using napi_glue::ToJsError;
using napi_glue::ToJsProgStats;
using napi_glue::ToNumberArray;

// Every open capture, so process exit detaches them and stops their poll
// threads even when JS never called close().
napi_glue::OpenSet<DnsCapture> g_dns_open;

void CloseDnsAtExit() { g_dns_open.CloseAll(); }


class DnsCaptureWrap : public Napi::ObjectWrap<DnsCaptureWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "DnsCapture",
                       {
                           InstanceMethod("readStats", &DnsCaptureWrap::ReadStats),
                           InstanceMethod("takeRecords", &DnsCaptureWrap::TakeRecords),
                           InstanceMethod("readProgStats", &DnsCaptureWrap::ReadProgStats),
                           InstanceMethod("testRun", &DnsCaptureWrap::TestRun),
                           InstanceMethod("close", &DnsCaptureWrap::Close),
                       });
  }

  // new DnsCapture({ cgroupPath, ports, ringBufferSize, includeLoopback, pollIntervalMs?, attach? }, onRecords)
  explicit DnsCaptureWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DnsCaptureWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction())
      throw Napi::TypeError::New(env, "new DnsCapture(options, onRecords)");
    Napi::Object o = info[0].As<Napi::Object>();
    DnsCaptureOptions opts;
    opts.cgroup_path = o.Get("cgroupPath").ToString().Utf8Value();
    if (!o.Get("ports").IsArray()) throw Napi::TypeError::New(env, "DnsCapture: ports must be an array");
    Napi::Array ports = o.Get("ports").As<Napi::Array>();
    for (uint32_t i = 0; i < ports.Length(); i++) {
      uint32_t p = ports.Get(i).ToNumber().Uint32Value();
      if (p == 0 || p > 65535) throw Napi::RangeError::New(env, "DnsCapture: port out of range");
      opts.ports.push_back(static_cast<uint16_t>(p));
    }
    opts.ring_buffer_size = o.Get("ringBufferSize").ToNumber().Uint32Value();
    opts.include_loopback = o.Get("includeLoopback").ToBoolean().Value();
    opts.attach = !o.Has("attach") || o.Get("attach").ToBoolean().Value();
    if (o.Has("pollIntervalMs")) opts.poll_interval_ms = o.Get("pollIntervalMs").ToNumber().Uint32Value();

    records_ = std::make_unique<BatchCallback>(env, info[1].As<Napi::Function>(), "podflow-ebpf-dns");
    try {
      cap_ = std::make_unique<DnsCapture>(opts, records_->Sink());
    } catch (const DatapathError& e) {
      records_->Release();
      throw ToJsError(env, e);
    }
    g_dns_open.Add(cap_.get());
  }

  ~DnsCaptureWrap() override { Shutdown(); }

 private:
  std::vector<uint8_t> Shutdown() {
    if (!cap_) return {};
    g_dns_open.Remove(cap_.get());
    std::vector<uint8_t> rest = cap_->Close();  // empty once closed
    records_->Release();
    return rest;
  }


  Napi::Value ReadStats(const Napi::CallbackInfo& info) {
    return ToNumberArray(info.Env(), Guard(info.Env(), [&] { return cap_->ReadStats(); }));
  }

  Napi::Value ReadProgStats(const Napi::CallbackInfo& info) {
    return ToJsProgStats(info.Env(), Guard(info.Env(), [&] { return cap_->ReadProgStats(); }));
  }

  // What the ring buffer holds now, as n * sizeof(pf_dns_event) bytes (empty once closed).
  Napi::Value TakeRecords(const Napi::CallbackInfo& info) {
    return ToArrayBuffer(info.Env(), Guard(info.Env(), [&] { return cap_->TakeRecords(); }));
  }

  // testRun(egress, Uint8Array, repeat?) → { retval, records: ArrayBuffer, durationNs }
  Napi::Value TestRun(const Napi::CallbackInfo& info) {
    if (info.Length() < 2 || !info[1].IsTypedArray())
      throw Napi::TypeError::New(info.Env(), "testRun(egress, Uint8Array)");
    bool egress = info[0].ToBoolean().Value();
    auto pkt = info[1].As<Napi::Uint8Array>();
    uint32_t repeat = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Uint32Value() : 1;
    std::vector<uint8_t> records;
    uint32_t duration = 0;
    uint32_t rv = Guard(info.Env(), [&] {
      return cap_->TestRun(egress, pkt.Data(), pkt.ByteLength(), repeat, &records, &duration);
    });
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("retval", Napi::Number::New(info.Env(), rv));
    out.Set("records", ToArrayBuffer(info.Env(), records));
    out.Set("durationNs", Napi::Number::New(info.Env(), duration));
    return out;
  }

  // Detaches; returns the records not yet delivered.
  Napi::Value Close(const Napi::CallbackInfo& info) { return ToArrayBuffer(info.Env(), Shutdown()); }

  std::unique_ptr<BatchCallback> records_;
  std::unique_ptr<DnsCapture> cap_;
};

#define FIELD(obj, type, f) obj.Set(#f, Napi::Number::New(env, offsetof(type, f)))

Napi::Value DnsLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  Napi::Object ev = Napi::Object::New(env);
  FIELD(ev, pf_dns_event, time_ns);
  FIELD(ev, pf_dns_event, client_addr);
  FIELD(ev, pf_dns_event, server_addr);
  FIELD(ev, pf_dns_event, payload_len);
  FIELD(ev, pf_dns_event, client_port);
  FIELD(ev, pf_dns_event, server_port);
  FIELD(ev, pf_dns_event, captured_len);
  FIELD(ev, pf_dns_event, family);
  FIELD(ev, pf_dns_event, protocol);
  FIELD(ev, pf_dns_event, flags);
  FIELD(ev, pf_dns_event, payload);
  ev.Set("size", Napi::Number::New(env, sizeof(pf_dns_event)));
  out.Set("pf_dns_event", ev);
  Napi::Object consts = Napi::Object::New(env);
  consts.Set("PF_DNS_MAX_PAYLOAD", PF_DNS_MAX_PAYLOAD);
  consts.Set("PF_DNS_FROM_CLIENT", PF_DNS_FROM_CLIENT);
  consts.Set("PF_DNS_TRUNCATED", PF_DNS_TRUNCATED);
  consts.Set("PF_DNS_STAT_RINGBUF_FULL", PF_DNS_STAT_RINGBUF_FULL);
  consts.Set("PF_DNS_STAT_READ_FAILED", PF_DNS_STAT_READ_FAILED);
  consts.Set("PF_DNS_STAT_MAX", PF_DNS_STAT_MAX);
  out.Set("constants", consts);
  return out;
}

}  // namespace

void InitDns(Napi::Env env, Napi::Object exports) {
  static bool registered = false;
  if (!registered) {
    registered = true;
    atexit(CloseDnsAtExit);
  }
  exports.Set("DnsCapture", DnsCaptureWrap::Define(env));
  exports.Set("dnsLayout", Napi::Function::New(env, DnsLayout));
}
