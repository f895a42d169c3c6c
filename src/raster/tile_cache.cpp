#include "raster/tile_cache.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <future>
#include <list>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "cubist/error.hpp"

namespace cubist::raster {
namespace {

class TileCache {
 public:
  static TileCache& instance() {
    static auto* cache = new TileCache();  // never destroyed: reads may run during exit
    return *cache;
  }

  std::shared_ptr<const Tile> get(const TileKey& key, std::size_t bytes, const std::function<void(std::byte*)>& decode,
                                  TileUse use) {
    const std::string id = fmt::format("{}\n{},{}", key.source, key.col, key.row);
    std::promise<std::shared_ptr<const Tile>> promise;
    {
      std::unique_lock lock(mutex_);
      auto it = entries_.find(id);
      if (it != entries_.end()) {
        ++hits_;
        touch_locked(it->second, use);
        auto pending = it->second.tile;
        lock.unlock();
        return pending.get();  // waits while another thread decodes it
      }
      wanted_.push_front(id);
      auto [added, _] = entries_.emplace(id, Entry{promise.get_future().share(), bytes, wanted_.begin()});
      held_ += bytes;
      ++decoded_;
      touch_locked(added->second, use);
      evict_locked();
    }
    try {
      auto tile = std::make_shared<Tile>(bytes);
      decode(tile->data());
      std::shared_ptr<const Tile> done = std::move(tile);
      promise.set_value(done);
      return done;
    } catch (...) {
      promise.set_exception(std::current_exception());
      std::lock_guard lock(mutex_);
      auto it = entries_.find(id);
      if (it != entries_.end()) remove_locked(it);
      throw;
    }
  }

  TileCacheStats stats() {
    std::lock_guard lock(mutex_);
    return {decoded_, hits_, held_};
  }
  void set_capacity(std::size_t bytes) {
    std::lock_guard lock(mutex_);
    capacity_ = bytes;
    evict_locked();
  }
  void clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
    wanted_.clear();
    done_.clear();
    held_ = 0;
    decoded_ = hits_ = 0;
  }

 private:
  struct Entry {
    std::shared_future<std::shared_ptr<const Tile>> tile;
    std::size_t bytes;
    std::list<std::string>::iterator lru;  // in done_ when `done`, else in wanted_
    std::int64_t pixels_read = 0;
    bool done = false;
  };
  using Map = std::unordered_map<std::string, Entry>;

  // Marks a use: the entry becomes most recently used in its list, and moves to done_ once its
  // uses cover the tile.
  void touch_locked(Entry& e, TileUse use) {
    e.pixels_read += use.pixels;
    const bool done = e.done || (use.tile_pixels > 0 && e.pixels_read >= use.tile_pixels);
    (done ? done_ : wanted_).splice((done ? done_ : wanted_).begin(), e.done ? done_ : wanted_, e.lru);
    e.done = done;
  }
  void remove_locked(Map::iterator it) {
    held_ -= it->second.bytes;
    (it->second.done ? done_ : wanted_).erase(it->second.lru);
    entries_.erase(it);
  }
  // Dropping an entry only forgets it: callers holding the tile (or waiting for it) keep it alive.
  void evict_locked() {
    while (held_ > capacity_ && !done_.empty()) remove_locked(entries_.find(done_.back()));
    while (held_ > capacity_ && !wanted_.empty()) remove_locked(entries_.find(wanted_.back()));
  }

  std::mutex mutex_;
  Map entries_;
  // Most recently used first: tiles read in full (evicted first), and the others.
  std::list<std::string> done_, wanted_;
  std::size_t held_ = 0, capacity_ = tile_cache_capacity_from_env();
  std::int64_t decoded_ = 0, hits_ = 0;
};

}  // namespace

std::size_t tile_cache_capacity_from_env() {
  const char* text = std::getenv("CUBIST_TILE_CACHE_MB");
  if (!text) return std::size_t{64} << 20;
  // A cache larger than the machine's memory is a typo, not a setting.
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const std::uint64_t max_mb = pages > 0 && page > 0 ? (static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)) >> 20
                                                     : std::uint64_t{1} << 20;
  const std::string_view s(text);
  std::uint64_t mb = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), mb);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || mb > max_mb)
    throw ValueError(fmt::format("CUBIST_TILE_CACHE_MB='{}': expected a whole number of MiB from 0 (no tile cache) to {} "
                                 "(this machine's memory)",
                                 s, max_mb));
  return static_cast<std::size_t>(mb) << 20;
}

std::shared_ptr<const Tile> cached_tile(const TileKey& key, std::size_t bytes, const std::function<void(std::byte*)>& decode,
                                        TileUse use) {
  return TileCache::instance().get(key, bytes, decode, use);
}
TileCacheStats tile_cache_stats() { return TileCache::instance().stats(); }
void set_tile_cache_capacity(std::size_t bytes) { TileCache::instance().set_capacity(bytes); }
void clear_tile_cache() { TileCache::instance().clear(); }

}  // namespace cubist::raster
