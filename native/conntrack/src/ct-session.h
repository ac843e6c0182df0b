// A conntrack netlink session: one socket subscribed to the NEW/UPDATE/DESTROY
// multicast groups and one for table dumps, both read by a native thread that
// turns messages into fixed-size Records (ct-record.h) and hands them to a Sink
// in batches. Nothing here knows about N-API; addon.cc is the Sink.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "ct-record.h"

namespace podflow_ct {

enum MessageKind { MSG_EVENTS = 1, MSG_DUMP_BEGIN = 2, MSG_DUMP_BATCH = 3, MSG_DUMP_END = 4, MSG_LOST = 5, MSG_ERROR = 6 };
enum DumpReason { DUMP_START = 1, DUMP_INTERVAL = 2, DUMP_RESYNC = 3, DUMP_MANUAL = 4 };

struct Message {
  int kind = 0;
  std::vector<uint8_t> data;  // Records, for MSG_EVENTS / MSG_DUMP_BATCH
  uint32_t count = 0;         // records in data; losses for MSG_LOST
  uint32_t dump_seq = 0;
  int dump_reason = 0;
  bool interrupted = false;   // MSG_DUMP_END: the kernel flagged the dump as inconsistent
  int err = 0;                // MSG_ERROR: errno
  std::string op;             // MSG_ERROR: what failed
};

// Receives messages on the session thread. deliver() may block (backpressure);
// it takes ownership of the message and returns false once the session is closing.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual bool deliver(Message* m) = 0;
};

struct Options {
  int rcvbuf = 8 << 20;        // bytes requested for the event socket
  int dump_interval_ms = 10000;// 0 = only on start and on resync
  int batch_records = 4096;    // flush a batch at this many records
  int flush_ms = 20;           // ... or when the oldest record waited this long
  bool events = true;          // subscribe to the multicast groups
  bool update_events = true;   // ... UPDATE too, not only NEW and DESTROY
  std::string netns;           // path of a network namespace file, "" = our own
  bool enable_acct = true;     // set net.netfilter.nf_conntrack_acct=1 in that namespace
};

// What open() found for nf_conntrack_acct (per network namespace, so it is read
// and written from inside the session's namespace).
enum AcctState { ACCT_UNKNOWN = 0, ACCT_WAS_ON = 1, ACCT_ENABLED = 2, ACCT_OFF = 3 };

struct Stats {
  std::atomic<uint64_t> ev_new{0}, ev_update{0}, ev_destroy{0}, dump_records{0};
  std::atomic<uint64_t> parse_errors{0}, lost{0}, resyncs{0}, dumps{0}, recv_errors{0};
  std::atomic<uint64_t> batches{0};
  // Dump records flagged CONTESTED (an event for their key came right after).
  std::atomic<uint64_t> contested{0};
  std::atomic<int> rcvbuf_effective{0};
  std::atomic<int> acct_state{0}, acct_errno{0};
};

class Session {
 public:
  ~Session();
  // Creates the sockets (inside opts.netns when set). Returns 0, or an errno
  // with *op naming the failing step ("socket", "setns", "bind groups", ...).
  int open(const Options& opts, std::string* op);
  // The thread body: runs until stop(); reports through `sink`.
  void run(Sink* sink);
  void request_dump();
  void stop();
  Stats stats;

 private:
  void wake();
  bool begin_dump(int reason, Sink* sink);
  bool read_events(Sink* sink, std::vector<Record>* hold = nullptr);
  bool read_dump(Sink* sink);
  bool release_held(Sink* sink);
  bool append_event(Sink* sink, const Record& r);
  bool append_dump(Sink* sink, const Record& r);
  bool flush_events(Sink* sink);
  bool flush_dump(Sink* sink);

  Options opts_;
  int ev_fd_ = -1, dump_fd_ = -1, wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> dump_requested_{false};
  bool dump_active_ = false;
  bool dump_interrupted_ = false;
  bool resync_pending_ = false;
  int dump_reason_ = 0;
  uint32_t dump_seq_ = 0;
  std::vector<uint8_t> ev_buf_, dump_buf_, rx_;
  // One dump message's records, and the events read right after it, held
  // until the two are compared (release_held).
  std::vector<Record> held_dump_, held_ev_;
  uint32_t ev_count_ = 0, dump_count_ = 0;
  int64_t ev_first_ms_ = 0;
  int64_t next_dump_ms_ = 0;
};

}  // namespace podflow_ct
