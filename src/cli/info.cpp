// `cubist info PATH`: a Zarr store summarised like xarray's repr (dims, coords, variables, dtype,
// chunks, codecs, sizes, attributes, skipped variables).
#include <cstdio>

#include "cli/commands.hpp"
#include "cubist/zarr.hpp"

namespace cubist::cli {
int run_info(const std::string& path) {
  std::fputs(zarr::describe_group(zarr::ZarrGroup::open(path)).c_str(), stdout);
  return 0;
}
}  // namespace cubist::cli
