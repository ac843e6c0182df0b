// See record-poller.h.
#include "record-poller.h"

#include <bpf/libbpf.h>
#include <cerrno>
#include <string>

#include "libbpf-util.h"

RecordPoller::RecordPoller(int map_fd, size_t record_size, const char* what) : record_size_(record_size) {
  rb_ = ring_buffer__new(map_fd, OnRecord, this, nullptr);
  if (!rb_) Fail("ringbuf", errno, std::string("open ") + what);
}

RecordPoller::~RecordPoller() {
  Stop();
  ring_buffer__free(rb_);
}

int RecordPoller::OnRecord(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RecordPoller*>(ctx);
  if (size != self->record_size_) return 0;  // not ours: the layout is fixed
  auto* bytes = static_cast<uint8_t*>(data);
  self->pending_.insert(self->pending_.end(), bytes, bytes + size);
  return 0;
}

void RecordPoller::Start(uint32_t poll_interval_ms, RecordSink sink) {
  sink_ = std::move(sink);
  const uint32_t period = poll_interval_ms ? poll_interval_ms : 100;
  thread_ = std::thread([this, period] { Loop(period); });
}

void RecordPoller::Loop(uint32_t poll_interval_ms) {
  while (!stop_.load(std::memory_order_relaxed)) {
    int n = ring_buffer__poll(rb_, static_cast<int>(poll_interval_ms));
    if (n < 0 && n != -EINTR) break;
    ring_buffer__consume(rb_);
    if (pending_.empty()) continue;
    auto* batch = new std::vector<uint8_t>(std::move(pending_));
    pending_.clear();
    sink_(batch);
  }
}

void RecordPoller::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::vector<uint8_t> RecordPoller::Take() {
  ring_buffer__consume(rb_);
  std::vector<uint8_t> out;
  out.swap(pending_);
  return out;
}
