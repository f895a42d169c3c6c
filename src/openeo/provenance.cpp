#include "openeo/provenance.hpp"

#include <map>
#include <mutex>

#include "graph/layer.hpp"

namespace cubist::openeo {
namespace {

std::mutex& mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, LoadProvenance>& table() {
  static std::map<std::string, LoadProvenance> t;
  return t;
}

}  // namespace

void remember_load(const DataArray& cube, LoadProvenance provenance) {
  std::lock_guard lock(mutex());
  table()[cube.layer()->key] = std::move(provenance);
}

const LoadProvenance* load_provenance(const DataArray& cube) {
  std::lock_guard lock(mutex());
  auto it = table().find(cube.layer()->key);
  return it == table().end() ? nullptr : &it->second;
}

}  // namespace cubist::openeo
