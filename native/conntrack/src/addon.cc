// N-API glue: the thinnest layer that lets JS open a conntrack session, receive
// its batches (one JS call per batch, never per event) and close it. Parsing and
// socket handling live in ct-parse.cc / ct-session.cc.
//
//   native session thread ──Message (records as bytes)──▶ threadsafe function
//        ▲                                                    │ main thread:
//        └── stop()/request_dump() via eventfd ◀── JS ────────┘ cb(kind, ArrayBuffer, info)
#include <napi.h>

#include <cstring>
#include <linux/netlink.h>
#include <memory>
#include <thread>

#include "ct-record.h"
#include "ct-session.h"

using namespace podflow_ct;

namespace {

void CallJs(Napi::Env env, Napi::Function cb, void*, Message* m);
using Tsfn = Napi::TypedThreadSafeFunction<void, Message, CallJs>;

Napi::Value MessageInfo(Napi::Env env, const Message& m) {
  Napi::Object info = Napi::Object::New(env);
  info.Set("count", m.count);
  info.Set("dumpSeq", m.dump_seq);
  info.Set("dumpReason", m.dump_reason);
  info.Set("interrupted", m.interrupted);
  info.Set("errno", m.err);
  info.Set("op", m.op);
  return info;
}

void CallJs(Napi::Env env, Napi::Function cb, void*, Message* m) {
  std::unique_ptr<Message> owned(m);
  if (env == nullptr || cb.IsEmpty()) return;  // the function is being torn down
  Napi::Value buf = env.Null();
  if (!m->data.empty()) {
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, m->data.size());
    std::memcpy(ab.Data(), m->data.data(), m->data.size());
    buf = ab;
  }
  cb.Call({Napi::Number::New(env, m->kind), buf, MessageInfo(env, *m)});
}

class TsfnSink : public Sink {
 public:
  explicit TsfnSink(Tsfn* tsfn) : tsfn_(tsfn) {}
  bool deliver(Message* m) override {
    // Blocking: when JS falls behind, this thread stops reading, the kernel
    // socket buffer fills and the loss surfaces as ENOBUFS, which is counted
    // and resynced, instead of memory growing without bound here.
    napi_status s = tsfn_->BlockingCall(m);
    if (s != napi_ok) {
      delete m;
      return false;
    }
    return true;
  }

 private:
  Tsfn* tsfn_;
};

class Handle : public Napi::ObjectWrap<Handle> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "ConntrackHandle", {
      InstanceMethod<&Handle::Close>("close"),
      InstanceMethod<&Handle::Resync>("resync"),
      InstanceMethod<&Handle::Stats>("stats"),
    });
  }

  explicit Handle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Handle>(info) {}

  // Called once by Open() right after construction.
  bool Start(Napi::Env env, const Options& opts, Napi::Function cb) {
    session_ = std::make_unique<Session>();
    std::string op;
    int err = session_->open(opts, &op);
    if (err != 0) {
      Napi::Error e = Napi::Error::New(env, op + ": " + std::strerror(err));
      e.Set("errno", Napi::Number::New(env, err));
      e.Set("op", Napi::String::New(env, op));
      e.ThrowAsJavaScriptException();
      return false;
    }
    tsfn_ = Tsfn::New(env, cb, "podflow_conntrack", 64, 1, nullptr,
                      [this](Napi::Env, void*, void*) { Finalized(); });
    Ref();  // keep the wrapper alive while the thread runs
    running_ = true;
    thread_ = std::thread([this]() {
      TsfnSink sink(&tsfn_);
      session_->run(&sink);
      tsfn_.Release();
    });
    return true;
  }

 private:
  void Finalized() {
    // Normally the thread has already left run(); on environment teardown it may
    // still be in poll(), so ask it to stop before joining.
    session_->stop();
    if (thread_.joinable()) thread_.join();
    running_ = false;
    for (auto& d : waiters_) d.Resolve(Env().Undefined());
    waiters_.clear();
    Unref();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto d = Napi::Promise::Deferred::New(env);
    if (!running_) {
      d.Resolve(env.Undefined());
      return d.Promise();
    }
    waiters_.push_back(d);
    session_->stop();
    return d.Promise();
  }

  Napi::Value Resync(const Napi::CallbackInfo& info) {
    if (running_) session_->request_dump();
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    if (!session_) return o;
    const auto& s = session_->stats;
    o.Set("new", double(s.ev_new.load()));
    o.Set("update", double(s.ev_update.load()));
    o.Set("destroy", double(s.ev_destroy.load()));
    o.Set("dumpRecords", double(s.dump_records.load()));
    o.Set("contested", double(s.contested.load()));
    o.Set("parseErrors", double(s.parse_errors.load()));
    o.Set("lost", double(s.lost.load()));
    o.Set("resyncs", double(s.resyncs.load()));
    o.Set("dumps", double(s.dumps.load()));
    o.Set("recvErrors", double(s.recv_errors.load()));
    o.Set("batches", double(s.batches.load()));
    o.Set("rcvbuf", double(s.rcvbuf_effective.load()));
    o.Set("acctState", s.acct_state.load());
    o.Set("acctErrno", s.acct_errno.load());
    return o;
  }

  std::unique_ptr<Session> session_;
  Tsfn tsfn_;
  std::thread thread_;
  bool running_ = false;
  std::vector<Napi::Promise::Deferred> waiters_;
};

Napi::FunctionReference* g_handle_ctor = nullptr;

int IntOpt(Napi::Object o, const char* key, int dflt) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : dflt;
}

// open(options, callback) → handle. Throws an Error with .errno and .op.
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "open(options, callback)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  Options opts;
  opts.rcvbuf = IntOpt(o, "rcvbuf", opts.rcvbuf);
  opts.dump_interval_ms = IntOpt(o, "dumpIntervalMs", opts.dump_interval_ms);
  opts.batch_records = IntOpt(o, "batchRecords", opts.batch_records);
  opts.flush_ms = IntOpt(o, "flushMs", opts.flush_ms);
  Napi::Value ev = o.Get("events");
  if (ev.IsBoolean()) opts.events = ev.As<Napi::Boolean>().Value();
  Napi::Value upd = o.Get("updateEvents");
  if (upd.IsBoolean()) opts.update_events = upd.As<Napi::Boolean>().Value();
  Napi::Value acct = o.Get("enableAcct");
  if (acct.IsBoolean()) opts.enable_acct = acct.As<Napi::Boolean>().Value();
  Napi::Value ns = o.Get("netns");
  if (ns.IsString()) opts.netns = ns.As<Napi::String>().Utf8Value();
  Napi::Object obj = g_handle_ctor->New({});
  Handle* h = Handle::Unwrap(obj);
  if (!h->Start(env, opts, info[1].As<Napi::Function>())) return env.Undefined();
  return obj;
}

// parseMessages(buffer) → { records: ArrayBuffer, count, parseErrors }: the
// event-socket framing and attribute parser applied to arbitrary bytes, so tests
// can feed malformed netlink data straight to the code that reads the kernel's.
Napi::Value ParseMessages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray()) {
    Napi::TypeError::New(env, "parseMessages(Uint8Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array in = info[0].As<Napi::Uint8Array>();
  const uint8_t* data = in.Data();
  size_t len = in.ByteLength();
  std::vector<uint8_t> out;
  uint32_t count = 0, errors = 0;
  size_t off = 0;
  while (off + sizeof(nlmsghdr) <= len) {
    nlmsghdr nh;
    std::memcpy(&nh, data + off, sizeof(nh));
    if (nh.nlmsg_len < sizeof(nlmsghdr) || nh.nlmsg_len > len - off) { errors++; break; }
    uint8_t type = classify_event(nh.nlmsg_type, nh.nlmsg_flags);
    if (type != 0) {
      Record r;
      ParseResult pr = parse_ct_message(data + off + NLMSG_HDRLEN, nh.nlmsg_len - NLMSG_HDRLEN, type, &r);
      if (pr == PARSE_OK) {
        const uint8_t* p = reinterpret_cast<const uint8_t*>(&r);
        out.insert(out.end(), p, p + sizeof(r));
        count++;
      } else if (pr == PARSE_ERROR) {
        errors++;
      }
    }
    off += NLMSG_ALIGN(nh.nlmsg_len);
  }
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, out.size());
  if (!out.empty()) std::memcpy(ab.Data(), out.data(), out.size());
  Napi::Object res = Napi::Object::New(env);
  res.Set("records", ab);
  res.Set("count", count);
  res.Set("parseErrors", errors);
  return res;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  g_handle_ctor = new Napi::FunctionReference(Napi::Persistent(Handle::Init(env)));
  exports.Set("open", Napi::Function::New(env, Open));
  exports.Set("parseMessages", Napi::Function::New(env, ParseMessages));
  exports.Set("RECORD_SIZE", Napi::Number::New(env, sizeof(Record)));
  return exports;
}

}  // namespace

NODE_API_MODULE(podflow_conntrack, Init)
