// The session thread: poll() over the event socket, the dump socket and an
// eventfd used to wake it for stop() and on-demand dumps.
//
// Losses: when the kernel cannot queue an event because our receive buffer is
// full, the next recv() fails with ENOBUFS. We count it, tell JS (MSG_LOST) and
// schedule a resync dump so the table and the byte counters are right again.
#include "ct-session.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <unordered_set>

namespace podflow_ct {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}

constexpr size_t kRxSize = 256 * 1024;

int make_socket(bool events, bool update_events, int rcvbuf, int* effective, std::string* op) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
  if (fd < 0) { *op = "socket(AF_NETLINK, NETLINK_NETFILTER)"; return -errno; }
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
    int e = errno; close(fd); *op = "bind"; return -e;
  }
  if (events) {
    // SO_RCVBUFFORCE passes rmem_max with CAP_NET_ADMIN; plain SO_RCVBUF is the fallback.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    int got = 0;
    socklen_t gl = sizeof(got);
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 && effective) *effective = got;
    // UPDATE (every state change: 4-6 a TCP connection) only when asked: the
    // kernel builds an event only for a group someone listens to, so a
    // session that needs only births and deaths (the NAT join) spares both
    // the kernel and the parser most messages.
    const int groups[] = {NFNLGRP_CONNTRACK_NEW, NFNLGRP_CONNTRACK_DESTROY, NFNLGRP_CONNTRACK_UPDATE};
    for (int g : groups) {
      if (g == NFNLGRP_CONNTRACK_UPDATE && !update_events) continue;
      if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0) {
        int e = errno; close(fd); *op = "join conntrack multicast groups"; return -e;
      }
    }
  }
  return fd;
}

// Reads nf_conntrack_acct and turns it on when asked; runs on the thread that
// is inside the target namespace (the sysctl is per namespace).
void check_acct(bool enable, Stats* st) {
  const char* path = "/proc/sys/net/netfilter/nf_conntrack_acct";
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) { st->acct_state = ACCT_UNKNOWN; st->acct_errno = errno; return; }
  char c = 0;
  ssize_t n = read(fd, &c, 1);
  close(fd);
  if (n == 1 && c == '1') { st->acct_state = ACCT_WAS_ON; return; }
  if (!enable) { st->acct_state = ACCT_OFF; return; }
  fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, "1", 1) != 1) {
    st->acct_errno = errno;
    st->acct_state = ACCT_OFF;
  } else {
    st->acct_state = ACCT_ENABLED;
  }
  if (fd >= 0) close(fd);
}

}  // namespace

Session::~Session() {
  if (ev_fd_ >= 0) close(ev_fd_);
  if (dump_fd_ >= 0) close(dump_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

int Session::open(const Options& opts, std::string* op) {
  opts_ = opts;
  if (opts_.batch_records < 1) opts_.batch_records = 1;
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) { *op = "eventfd"; return errno; }
  int ns_fd = -1;
  if (!opts_.netns.empty()) {
    ns_fd = ::open(opts_.netns.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns_fd < 0) { *op = "open netns " + opts_.netns; return errno; }
  }
  // A netlink socket belongs to the namespace of the thread that creates it, so
  // sockets for another namespace are made on a short-lived thread that joins it
  // (setns affects only the calling thread; Node's threads are left alone).
  int err = 0;
  int effective = 0;
  auto create = [&]() {
    if (ns_fd >= 0 && setns(ns_fd, CLONE_NEWNET) < 0) { err = errno; *op = "setns " + opts_.netns; return; }
    check_acct(opts_.enable_acct, &stats);
    int fd = make_socket(opts_.events, opts_.update_events, opts_.rcvbuf, &effective, op);
    if (fd < 0) { err = -fd; return; }
    if (opts_.events) ev_fd_ = fd; else dump_fd_ = fd;
    if (opts_.events) {
      fd = make_socket(false, false, 0, nullptr, op);
      if (fd < 0) { err = -fd; return; }
      dump_fd_ = fd;
    }
  };
  if (ns_fd >= 0) {
    std::thread t(create);
    t.join();
    close(ns_fd);
  } else {
    create();
  }
  stats.rcvbuf_effective = effective;
  rx_.resize(kRxSize);
  return err;
}

void Session::wake() {
  uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof(one));
}

void Session::request_dump() {
  dump_requested_ = true;
  wake();
}

void Session::stop() {
  stopping_ = true;
  wake();
}

bool Session::flush_events(Sink* sink) {
  if (ev_count_ == 0) return true;
  auto* m = new Message();
  m->kind = MSG_EVENTS;
  m->data.swap(ev_buf_);
  m->count = ev_count_;
  ev_count_ = 0;
  ev_buf_.clear();
  stats.batches++;
  return sink->deliver(m);
}

bool Session::flush_dump(Sink* sink) {
  if (dump_count_ == 0) return true;
  auto* m = new Message();
  m->kind = MSG_DUMP_BATCH;
  m->data.swap(dump_buf_);
  m->count = dump_count_;
  m->dump_seq = dump_seq_;
  dump_count_ = 0;
  dump_buf_.clear();
  stats.batches++;
  return sink->deliver(m);
}

bool Session::begin_dump(int reason, Sink* sink) {
  // Events read before the dump starts are delivered first, so JS sees every
  // event older than the snapshot before the snapshot itself.
  if (!flush_events(sink)) return false;
  dump_seq_++;
  struct {
    nlmsghdr nh;
    nfgenmsg nf;
  } req{};
  req.nh.nlmsg_len = sizeof(req);
  req.nh.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = dump_seq_;
  req.nf.nfgen_family = AF_UNSPEC;
  req.nf.version = NFNETLINK_V0;
  auto* b = new Message();
  b->kind = MSG_DUMP_BEGIN;
  b->dump_seq = dump_seq_;
  b->dump_reason = reason;
  if (!sink->deliver(b)) return false;
  if (send(dump_fd_, &req, sizeof(req), 0) < 0) {
    auto* m = new Message();
    m->kind = MSG_ERROR;
    m->err = errno;
    m->op = "send dump request";
    return sink->deliver(m);
  }
  dump_active_ = true;
  dump_interrupted_ = false;
  dump_reason_ = reason;
  stats.dumps++;
  if (reason == DUMP_RESYNC) stats.resyncs++;
  return true;
}

bool Session::append_event(Sink* sink, const Record& r) {
  if (dump_count_ > 0 && !flush_dump(sink)) return false;  // keep the read order
  if (ev_count_ == 0) ev_first_ms_ = now_ms();
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&r);
  ev_buf_.insert(ev_buf_.end(), p, p + sizeof(r));
  return ++ev_count_ < uint32_t(opts_.batch_records) || flush_events(sink);
}

bool Session::append_dump(Sink* sink, const Record& r) {
  if (ev_count_ > 0 && !flush_events(sink)) return false;  // keep the read order
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&r);
  dump_buf_.insert(dump_buf_.end(), p, p + sizeof(r));
  return ++dump_count_ < uint32_t(opts_.batch_records) || flush_dump(sink);
}

// The event records go to `hold` when given, else on to JS.
bool Session::read_events(Sink* sink, std::vector<Record>* hold) {
  // Bounded so a busy event socket cannot starve the dump and the wake fd.
  for (int round = 0; round < 64; round++) {
    ssize_t n = recv(ev_fd_, rx_.data(), rx_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;
      if (errno == ENOBUFS) {
        stats.lost++;
        resync_pending_ = true;
        auto* m = new Message();
        m->kind = MSG_LOST;
        m->count = 1;
        if (!sink->deliver(m)) return false;
        continue;
      }
      stats.recv_errors++;
      auto* m = new Message();
      m->kind = MSG_ERROR;
      m->err = errno;
      m->op = "recv events";
      return sink->deliver(m);
    }
    size_t off = 0, len = size_t(n);
    while (off + sizeof(nlmsghdr) <= len) {
      nlmsghdr nh;
      std::memcpy(&nh, rx_.data() + off, sizeof(nh));
      if (nh.nlmsg_len < sizeof(nlmsghdr) || nh.nlmsg_len > len - off) {
        stats.parse_errors++;
        break;  // the rest of this datagram cannot be framed
      }
      uint8_t type = classify_event(nh.nlmsg_type, nh.nlmsg_flags);
      if (type != 0) {
        Record r;
        ParseResult pr = parse_ct_message(rx_.data() + off + NLMSG_HDRLEN,
                                          nh.nlmsg_len >= NLMSG_HDRLEN ? nh.nlmsg_len - NLMSG_HDRLEN : 0, type, &r);
        if (pr == PARSE_OK) {
          if (type == REC_NEW) stats.ev_new++;
          else if (type == REC_UPDATE) stats.ev_update++;
          else stats.ev_destroy++;
          if (hold) hold->push_back(r);
          else if (!append_event(sink, r)) return false;
        } else if (pr == PARSE_ERROR) {
          stats.parse_errors++;
        }
      }
      off += NLMSG_ALIGN(nh.nlmsg_len);
    }
  }
  return true;
}

bool Session::read_dump(Sink* sink) {
  for (int round = 0; round < 16 && dump_active_; round++) {
    // The kernel writes a dump message when we receive it, so it is a snapshot
    // of that moment, while the event socket holds changes made before it.
    // Events must reach JS in the order they happened relative to the
    // snapshot: a DESTROY of an old entry read after a snapshot of the new
    // entry on the same key (same id: same slot, same 5-tuple) would end the
    // new one and count it opened twice. So take what the event socket holds
    // first; what changes while this one message is written is sorted out
    // by release_held.
    if (ev_fd_ >= 0 && !read_events(sink)) return false;
    ssize_t n = recv(dump_fd_, rx_.data(), rx_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;
      dump_active_ = false;
      stats.recv_errors++;
      auto* m = new Message();
      m->kind = MSG_ERROR;
      m->err = errno;
      m->op = "recv dump";
      return sink->deliver(m);
    }
    size_t off = 0, len = size_t(n);
    while (off + sizeof(nlmsghdr) <= len && dump_active_) {
      nlmsghdr nh;
      std::memcpy(&nh, rx_.data() + off, sizeof(nh));
      if (nh.nlmsg_len < sizeof(nlmsghdr) || nh.nlmsg_len > len - off) {
        stats.parse_errors++;
        break;
      }
      if (nh.nlmsg_flags & NLM_F_DUMP_INTR) dump_interrupted_ = true;
      if (nh.nlmsg_type == NLMSG_DONE || nh.nlmsg_type == NLMSG_ERROR) {
        int err = 0;
        if (nh.nlmsg_type == NLMSG_ERROR) {
          nlmsgerr e{};
          if (nh.nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) std::memcpy(&e.error, rx_.data() + off + NLMSG_HDRLEN, sizeof(int));
          err = -e.error;
        }
        if (!release_held(sink)) return false;
        dump_active_ = false;
        if (!flush_events(sink) || !flush_dump(sink)) return false;  // at most one holds records
        if (err != 0) {
          auto* m = new Message();
          m->kind = MSG_ERROR;
          m->err = err;
          m->op = dump_reason_ == DUMP_START ? "dump conntrack table" : "periodic dump";
          m->dump_seq = dump_seq_;
          return sink->deliver(m);
        }
        auto* m = new Message();
        m->kind = MSG_DUMP_END;
        m->dump_seq = dump_seq_;
        m->dump_reason = dump_reason_;
        m->interrupted = dump_interrupted_;
        if (!sink->deliver(m)) return false;
        break;
      }
      uint8_t type = ((nh.nlmsg_type >> 8) == NFNL_SUBSYS_CTNETLINK && (nh.nlmsg_type & 0xff) == IPCTNL_MSG_CT_NEW) ? REC_DUMP : 0;
      if (type) {
        Record r;
        ParseResult pr = parse_ct_message(rx_.data() + off + NLMSG_HDRLEN, nh.nlmsg_len - NLMSG_HDRLEN, type, &r);
        if (pr == PARSE_OK) {
          stats.dump_records++;
          held_dump_.push_back(r);
        } else if (pr == PARSE_ERROR) {
          stats.parse_errors++;
        }
      }
      off += NLMSG_ALIGN(nh.nlmsg_len);
    }
    if (!release_held(sink)) return false;
  }
  return true;
}

namespace {
// The key JS gives a connection (src/native/conntrack-record.ts key()).
bool same_key(const Record& a, const Record& b) {
  return a.id == b.id && a.proto == b.proto && a.orig_sport == b.orig_sport && a.orig_dport == b.orig_dport &&
         std::memcmp(a.orig_src, b.orig_src, sizeof(a.orig_src)) == 0 &&
         std::memcmp(a.orig_dst, b.orig_dst, sizeof(a.orig_dst)) == 0;
}

// A hash of that key (FNV-1a over its fields).
uint64_t key_hash(const Record& r) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
  };
  mix(&r.id, sizeof(r.id));
  mix(&r.proto, sizeof(r.proto));
  mix(&r.orig_sport, sizeof(r.orig_sport));
  mix(&r.orig_dport, sizeof(r.orig_dport));
  mix(r.orig_src, sizeof(r.orig_src));
  mix(r.orig_dst, sizeof(r.orig_dst));
  return h;
}

// Whether `d`'s key is among the events'. Usually a handful of events follow
// a dump message; behind a backlog they can be thousands, and a dump message
// holds a few hundred records, so then by hash (a collision only flags a
// record that did not need it: its counters wait for the next dump).
class EventKeys {
 public:
  explicit EventKeys(const std::vector<Record>& events) : events_(events) {
    if (events.size() > kScan)
      for (const Record& e : events) hashes_.insert(key_hash(e));
  }
  bool contains(const Record& d) const {
    if (events_.size() > kScan) return hashes_.count(key_hash(d)) != 0;
    for (const Record& e : events_)
      if (same_key(d, e)) return true;
    return false;
  }

 private:
  static constexpr size_t kScan = 32;
  const std::vector<Record>& events_;
  std::unordered_set<uint64_t> hashes_;
};
}  // namespace

// Hands one dump message's records to JS, then the events read right after it.
// Those events were made while the kernel wrote the message or later, so for
// their keys the snapshot may be older or newer than an event (an old entry's
// DESTROY, the NEW of the entry that took its slot): such a record is flagged
// CONTESTED and JS lets the events decide. Elsewhere the snapshot is older
// than every event that follows it.
bool Session::release_held(Sink* sink) {
  if (held_dump_.empty()) return true;
  if (ev_fd_ >= 0 && !read_events(sink, &held_ev_)) return false;
  if (!held_ev_.empty()) {
    EventKeys keys(held_ev_);
    for (Record& d : held_dump_) {
      if (keys.contains(d)) {
        d.flags |= CONTESTED;
        stats.contested++;
      }
    }
  }
  for (const Record& d : held_dump_)
    if (!append_dump(sink, d)) return false;
  held_dump_.clear();
  for (const Record& e : held_ev_)
    if (!append_event(sink, e)) return false;
  held_ev_.clear();
  return true;
}

void Session::run(Sink* sink) {
  ev_buf_.reserve(size_t(opts_.batch_records) * sizeof(Record));
  bool ok = begin_dump(DUMP_START, sink);
  next_dump_ms_ = opts_.dump_interval_ms > 0 ? now_ms() + opts_.dump_interval_ms : INT64_MAX;
  while (ok && !stopping_) {
    int64_t now = now_ms();
    int64_t deadline = INT64_MAX;
    if (!dump_active_) deadline = next_dump_ms_;
    if (ev_count_ > 0) deadline = std::min(deadline, ev_first_ms_ + opts_.flush_ms);
    int timeout = deadline == INT64_MAX ? -1 : int(std::max<int64_t>(0, std::min<int64_t>(deadline - now, 60000)));
    pollfd fds[3];
    int nfds = 0;
    fds[nfds++] = {wake_fd_, POLLIN, 0};
    int ev_i = -1, dump_i = -1;
    if (ev_fd_ >= 0) { ev_i = nfds; fds[nfds++] = {ev_fd_, POLLIN, 0}; }
    if (dump_active_) { dump_i = nfds; fds[nfds++] = {dump_fd_, POLLIN, 0}; }
    int pr = poll(fds, nfds, timeout);
    if (pr < 0 && errno != EINTR) break;
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      (void)!read(wake_fd_, &v, sizeof(v));
    }
    if (stopping_) break;
    // ENOBUFS is reported as POLLERR on netlink sockets.
    if (ev_i >= 0 && (fds[ev_i].revents & (POLLIN | POLLERR))) ok = read_events(sink);
    if (ok && dump_i >= 0 && (fds[dump_i].revents & (POLLIN | POLLERR))) ok = read_dump(sink);
    now = now_ms();
    if (ok && ev_count_ > 0 && now - ev_first_ms_ >= opts_.flush_ms) ok = flush_events(sink);
    if (ok && !dump_active_) {
      if (resync_pending_) {
        resync_pending_ = false;
        dump_requested_ = false;
        ok = begin_dump(DUMP_RESYNC, sink);
        if (opts_.dump_interval_ms > 0) next_dump_ms_ = now + opts_.dump_interval_ms;
      } else if (dump_requested_.exchange(false)) {
        ok = begin_dump(DUMP_MANUAL, sink);
      } else if (now >= next_dump_ms_) {
        ok = begin_dump(DUMP_INTERVAL, sink);
        next_dump_ms_ = now + opts_.dump_interval_ms;
      }
    }
  }
  if (ok) flush_events(sink);
}

}  // namespace podflow_ct
