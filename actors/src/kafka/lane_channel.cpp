#include "kafka/lane_channel.hpp"

namespace phoenix::kafka {

void lane_channel::push(lane_batch batch) {
  std::lock_guard<std::mutex> guard{mtx_};
  inbox_.push_back(std::move(batch));
}

void lane_channel::cancel(bool lane_alive) {
  std::deque<lane_batch> dropped; // destroyed outside the lock
  {
    std::lock_guard<std::mutex> guard{mtx_};
    cancelled_.store(true, std::memory_order_release);
    if (!(busy_ && lane_alive))
      dropped.swap(inbox_);
    busy_ = busy_ && lane_alive;
  }
}

bool lane_channel::released() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return inbox_.empty() && !busy_;
}

const lane_batch* lane_channel::acquire() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (inbox_.empty() || cancelled_.load(std::memory_order_relaxed))
    return nullptr;
  busy_ = true;
  return &inbox_.front();
}

void lane_channel::finish() {
  lane_batch done;
  std::lock_guard<std::mutex> guard{mtx_};
  busy_ = false;
  if (inbox_.empty())
    return;
  done = std::move(inbox_.front());
  inbox_.pop_front();
  // `done` is destroyed after the guard: the records are destroyed outside the lock.
}

void lane_channel::give_up(std::int64_t offset) {
  if (gated.load(std::memory_order_acquire)) {
    given_up.store(offset, std::memory_order_release);
    handled.store(offset, std::memory_order_release); // the next lane skips it
  } else {
    last.store(offset, std::memory_order_release);
  }
  add_finished();
}

void lane_channel::release() {
  std::deque<lane_batch> dropped;
  std::lock_guard<std::mutex> guard{mtx_};
  busy_ = false;
  if (cancelled_.load(std::memory_order_relaxed))
    dropped.swap(inbox_);
}

int lane_channel::note_crash(std::int64_t offset, std::string reason) {
  std::lock_guard<std::mutex> guard{mtx_};
  crash_.count = crash_.offset == offset ? crash_.count + 1 : 1;
  crash_.offset = offset;
  crash_.reason = std::move(reason);
  crash_offset_.store(offset, std::memory_order_release);
  return crash_.count;
}

lane_channel::crash_note lane_channel::crashes_at(std::int64_t offset) const {
  if (crash_offset_.load(std::memory_order_acquire) != offset)
    return {};
  std::lock_guard<std::mutex> guard{mtx_};
  return crash_;
}

} // namespace phoenix::kafka
