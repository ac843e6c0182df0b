// See record-poller.h.
#include "record-poller.h"

#include <bpf/libbpf.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "libbpf-util.h"

namespace {
constexpr uint64_t kRingTag = 1;
constexpr uint64_t kStopTag = 2;
}  // namespace

RecordPoller::RecordPoller(int map_fd, size_t record_size, const char* what) : record_size_(record_size) {
  rb_ = ring_buffer__new(map_fd, OnRecord, this, nullptr);
  if (!rb_) Fail("ringbuf", errno, std::string("open ") + what);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event ring{};
  ring.events = EPOLLIN | EPOLLET;
  ring.data.u64 = kRingTag;
  epoll_event stop{};
  stop.events = EPOLLIN;
  stop.data.u64 = kStopTag;
  if (epoll_fd_ < 0 || stop_fd_ < 0 || epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, map_fd, &ring) ||
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, stop_fd_, &stop)) {
    int e = errno;
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (stop_fd_ >= 0) close(stop_fd_);
    ring_buffer__free(rb_);
    Fail("ringbuf", e, std::string("poll set for ") + what);
  }
}

RecordPoller::~RecordPoller() {
  Stop();
  ring_buffer__free(rb_);
  close(epoll_fd_);
  close(stop_fd_);
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
  thread_ = std::thread([this, poll_interval_ms] { Loop(poll_interval_ms); });
}

void RecordPoller::Loop(uint32_t poll_interval_ms) {
  const int timeout = poll_interval_ms ? static_cast<int>(poll_interval_ms) : -1;
  epoll_event events[2];
  while (!stop_.load(std::memory_order_relaxed)) {
    int n = epoll_wait(epoll_fd_, events, 2, timeout);
    if (n < 0 && errno != EINTR) break;
    if (stop_.load(std::memory_order_relaxed)) break;
    std::vector<uint8_t>* batch = nullptr;
    {
      std::lock_guard<std::mutex> lock(drain_mu_);
      ring_buffer__consume(rb_);
      if (!pending_.empty()) {
        batch = new std::vector<uint8_t>(std::move(pending_));
        pending_.clear();
      }
    }
    if (batch) sink_(batch);
  }
}

void RecordPoller::Stop() {
  stop_ = true;
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  ssize_t w = write(stop_fd_, &one, sizeof(one));
  (void)w;  // a full counter already wakes the thread
  thread_.join();
}

std::vector<uint8_t> RecordPoller::Take() {
  std::lock_guard<std::mutex> lock(drain_mu_);
  ring_buffer__consume(rb_);
  std::vector<uint8_t> out;
  out.swap(pending_);
  return out;
}
