// A ring buffer of fixed-size records, drained on a thread of its own and
// handed over in batches: the base datapath's closed-connection records
// (pf_events) and the DNS capture's messages (pf_dns_events) both go this
// way. Records mostly wait for the timed poll (the programs wake the thread
// early only when the buffer is half full), so JS gets one batch per period
// whatever the rate.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
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

  // Starts the poll thread: `sink` gets each period's records.
  void Start(uint32_t poll_interval_ms, RecordSink sink);
  bool started() const { return thread_.joinable(); }
  // Stops the poll thread (its timeout bounds the wait). Idempotent.
  void Stop();
  // What the ring buffer holds now and nobody took yet. Only without a
  // running poll thread (after Stop(), or never started).
  std::vector<uint8_t> Take();

 private:
  static int OnRecord(void* ctx, void* data, size_t size);
  void Loop(uint32_t poll_interval_ms);

  ring_buffer* rb_ = nullptr;
  size_t record_size_;
  RecordSink sink_;
  std::vector<uint8_t> pending_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};
