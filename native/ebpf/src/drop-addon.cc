// N-API glue of the packet-drop tracking: the Drops class for JS,
// dropReasonNames() (the kernel's enum skb_drop_reason from BTF), and
// dropLayout() so a test can compare the C layouts with the TypeScript table.
#include "drop-addon.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>

#include "drop-datapath.h"
#include "napi-glue.h"

namespace {

using napi_glue::Guard;
using napi_glue::ToArrayBuffer;
using napi_glue::ToJsError;
using napi_glue::ToJsProgStats;
using napi_glue::ToNumberArray;

// Every open instance, so process exit detaches them even when JS never
// called close().
napi_glue::OpenSet<DropDatapath> g_drops_open;

void CloseDropsAtExit() { g_drops_open.CloseAll(); }


class DropsWrap : public Napi::ObjectWrap<DropsWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Drops",
                       {
                           InstanceMethod("readDrops", &DropsWrap::ReadDrops),
                           InstanceMethod("readUnattributed", &DropsWrap::ReadUnattributed),
                           InstanceMethod("readStats", &DropsWrap::ReadStats),
                           InstanceMethod("readProgStats", &DropsWrap::ReadProgStats),
                           InstanceMethod("detach", &DropsWrap::Detach),
                           InstanceMethod("close", &DropsWrap::Close),
                       });
  }

  // new Drops({ mapSize, includeLoopback, exclude: number[], attach })
  explicit DropsWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DropsWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "new Drops(options)");
    Napi::Object o = info[0].As<Napi::Object>();
    DropOptions opts;
    opts.map_size = o.Get("mapSize").As<Napi::Number>().Uint32Value();
    opts.include_loopback = o.Get("includeLoopback").ToBoolean().Value();
    opts.attach = !o.Has("attach") || o.Get("attach").ToBoolean().Value();
    if (o.Has("exclude")) {
      Napi::Array ex = o.Get("exclude").As<Napi::Array>();
      for (uint32_t i = 0; i < ex.Length(); i++) opts.exclude.push_back(ex.Get(i).As<Napi::Number>().Uint32Value());
    }
    try {
      dp_ = std::make_unique<DropDatapath>(opts);
    } catch (const DatapathError& e) {
      throw ToJsError(env, e);
    }
    g_drops_open.Add(dp_.get());
  }

  ~DropsWrap() override { Shutdown(); }

 private:
  void Shutdown() {
    if (!dp_) return;
    {
      g_drops_open.Remove(dp_.get());
    }
    dp_->Close();
  }


  Napi::Value ReadDrops(const Napi::CallbackInfo& info) {
    return ToArrayBuffer(info.Env(), Guard(info.Env(), [&] { return dp_->ReadDrops(); }));
  }

  Napi::Value ReadUnattributed(const Napi::CallbackInfo& info) {
    auto rows = Guard(info.Env(), [&] { return dp_->ReadUnattributed(); });
    Napi::Array out = Napi::Array::New(info.Env(), rows.size());
    for (size_t i = 0; i < rows.size(); i++) {
      Napi::Object o = Napi::Object::New(info.Env());
      o.Set("reason", Napi::Number::New(info.Env(), rows[i].first));
      o.Set("packets", Napi::Number::New(info.Env(), static_cast<double>(rows[i].second)));
      out[i] = o;
    }
    return out;
  }

  Napi::Value ReadStats(const Napi::CallbackInfo& info) {
    return ToNumberArray(info.Env(), Guard(info.Env(), [&] { return dp_->ReadStats(); }));
  }

  Napi::Value ReadProgStats(const Napi::CallbackInfo& info) {
    return ToJsProgStats(info.Env(), Guard(info.Env(), [&] { return dp_->ReadProgStats(); }));
  }

  Napi::Value Detach(const Napi::CallbackInfo& info) {
    dp_->Detach();
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown();
    return info.Env().Undefined();
  }

  std::unique_ptr<DropDatapath> dp_;
};

// dropReasonNames() → [{ value, name }] as the running kernel's BTF spells them.
Napi::Value DropReasonNamesJs(const Napi::CallbackInfo& info) {
  auto names = DropReasonNames();
  Napi::Array out = Napi::Array::New(info.Env(), names.size());
  for (size_t i = 0; i < names.size(); i++) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("value", Napi::Number::New(info.Env(), names[i].first));
    o.Set("name", names[i].second);
    out[i] = o;
  }
  return out;
}

#define FIELD(obj, type, f) obj.Set(#f, Napi::Number::New(env, offsetof(type, f)))

Napi::Value DropLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  Napi::Object key = Napi::Object::New(env);
  FIELD(key, pf_drop_key, src_addr);
  FIELD(key, pf_drop_key, dst_addr);
  FIELD(key, pf_drop_key, reason);
  FIELD(key, pf_drop_key, src_port);
  FIELD(key, pf_drop_key, dst_port);
  FIELD(key, pf_drop_key, family);
  FIELD(key, pf_drop_key, protocol);
  FIELD(key, pf_drop_key, rx);
  key.Set("size", Napi::Number::New(env, sizeof(pf_drop_key)));
  out.Set("pf_drop_key", key);
  Napi::Object val = Napi::Object::New(env);
  FIELD(val, pf_drop_value, packets);
  FIELD(val, pf_drop_value, bytes);
  FIELD(val, pf_drop_value, tcp_flags);
  val.Set("size", Napi::Number::New(env, sizeof(pf_drop_value)));
  out.Set("pf_drop_value", val);
  Napi::Object consts = Napi::Object::New(env);
  consts.Set("PF_DROP_REASON_UNKNOWN", Napi::Number::New(env, PF_DROP_REASON_UNKNOWN));
  consts.Set("PF_DROP_TCP_SYN", PF_DROP_TCP_SYN);
  consts.Set("PF_DROP_TCP_SYNACK", PF_DROP_TCP_SYNACK);
  consts.Set("PF_DROP_STAT_INSERTS", PF_DROP_STAT_INSERTS);
  consts.Set("PF_DROP_STAT_UPDATE_FAILED", PF_DROP_STAT_UPDATE_FAILED);
  consts.Set("PF_DROP_STAT_UNATTRIBUTED_FULL", PF_DROP_STAT_UNATTRIBUTED_FULL);
  consts.Set("PF_DROP_STAT_MAX", PF_DROP_STAT_MAX);
  out.Set("constants", consts);
  return out;
}

}  // namespace

void InitDrops(Napi::Env env, Napi::Object exports) {
  static bool registered = false;
  if (!registered) {
    registered = true;
    atexit(CloseDropsAtExit);
  }
  exports.Set("Drops", DropsWrap::Define(env));
  exports.Set("dropReasonNames", Napi::Function::New(env, DropReasonNamesJs));
  exports.Set("dropLayout", Napi::Function::New(env, DropLayout));
}
