#include "zarr/scratch_pool.hpp"

#include <algorithm>

namespace cubist::zarr::detail {

ScratchPool::Lease ScratchPool::take(std::size_t capacity) {
  std::vector<Bytes> freed;  // freed outside the lock (munmap of tens of MiB)
  Bytes found;
  {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    release_idle(now, freed);
    for (auto it = idle_.end(); it != idle_.begin();) {
      if ((--it)->bytes.capacity() >= capacity) {
        found = std::move(it->bytes);
        idle_.erase(it);
        break;
      }
    }
    peak_leased_ = std::max(peak_leased_, ++leased_);
  }
  if (found.capacity() < capacity) found = Bytes(capacity);
  return Lease(*this, std::move(found));
}

void ScratchPool::give(Bytes b) {
  std::vector<Bytes> freed;
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  release_idle(now, freed);
  --leased_;
  if (idle_.size() >= peak_leased_) {
    freed.push_back(std::move(b));  // freed after the lock is released
    return;
  }
  idle_.push_back({std::move(b), now});
}

void ScratchPool::release_idle(Clock::time_point now, std::vector<Bytes>& freed) {
  std::size_t n = 0;
  while (n < idle_.size() && now - idle_[n].since > kMaxIdle) ++n;
  for (std::size_t i = 0; i < n; ++i) freed.push_back(std::move(idle_[i].bytes));
  idle_.erase(idle_.begin(), idle_.begin() + static_cast<std::ptrdiff_t>(n));
}

std::size_t ScratchPool::cached_bytes() const {
  std::lock_guard lock(mutex_);
  std::size_t total = 0;
  for (const auto& i : idle_) total += i.bytes.capacity();
  return total;
}

}  // namespace cubist::zarr::detail
