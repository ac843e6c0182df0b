// A ring buffer of fixed-size records, drained in batches: the base
// datapath's closed-connection records (pf_events) and the DNS capture's
// messages (pf_dns_events) both go this way.
//
// Two ways out, both one batch at a time, never one record at a time:
// - Take(), from the owner's thread whenever it wants the records (the base
//   datapath: at each collection, so a quiet or steady node costs no thread
//   wake-up and no JS callback between collections);
// - the poll thread, which hands a batch to the sink when the programs wake
//   it (the buffer is half full: a burst must not overflow it before the next
//   Take) and, with a period, also at every period (the DNS capture, whose
//   records are matched as they come).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

struct ring_buffer;

// Receives a batch of n * record_size bytes on the poll thread; takes ownership.
using RecordSink = std::function<void(std::vector<uint8_t>*)>;

class RecordPoller {
 public:
  // Opens the ring buffer of map `map_fd` (throws a DatapathError at step
  // "ringbuf"); records of another size than `record_size` are skipped.
  RecordPoller(int map_fd, size_t record_size, const char* what);
  ~RecordPoller();
  RecordPoller(const RecordPoller&) = delete;
  RecordPoller& operator=(const RecordPoller&) = delete;

  // Starts the poll thread: `sink` gets what the thread drains when the
  // programs wake it, and every `poll_interval_ms` when that is not 0.
  void Start(uint32_t poll_interval_ms, RecordSink sink);
  bool started() const { return thread_.joinable(); }
  // Stops the poll thread (woken at once). Idempotent.
  void Stop();
  // What the ring buffer holds now and nobody took yet; safe while the poll
  // thread runs (the two drain under one lock, so each record goes one way).
  std::vector<uint8_t> Take();

 private:
  static int OnRecord(void* ctx, void* data, size_t size);
  void Loop(uint32_t poll_interval_ms);

  ring_buffer* rb_ = nullptr;
  size_t record_size_;
  RecordSink sink_;
  std::mutex drain_mu_;  // ring_buffer__consume and pending_
  std::vector<uint8_t> pending_;
  // The poll thread's own epoll set: the ring (edge-triggered, so records the
  // programs submit without a wake-up never wake it) and stop_fd_.
  int epoll_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};
