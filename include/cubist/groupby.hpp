// GroupBy: xarray's DataArray.groupby(...) reductions, lazy like every other operation.
//
//   ndvi.groupby(floor_time(ndvi.coords().at("time"), "D")).max()   // daily maximum composite
//   cube.groupby("platform").mean()                                    // by a per-time label
//
// Labels are sorted ascending and become the coordinate of the grouped dimension; positions
// whose label is NaN/NaT belong to no group (xarray drops them). The grouped dimension is named
// after the group: the coordinate's name for groupby("name"), the labels' dimension for
// groupby(Coordinate) (so floored times keep the name "time", as in the seed workflow).
// Other coordinates along the grouped dimension are dropped, the rest are kept, and so are the
// attributes (xarray's default for groupby reductions). Result dtypes follow the plain
// reductions: count -> int64, mean/std/var/median of integers -> float64, sum of ints -> int64.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cubist/coordinate.hpp"
#include "cubist/data_array.hpp"

namespace cubist {

class GroupBy {
 public:
  // The reductions over each group; skipna defaults to true for float data, as xarray.
  DataArray max(const ReduceOptions& o = {}) const;
  DataArray min(const ReduceOptions& o = {}) const;
  DataArray mean(const ReduceOptions& o = {}) const;
  DataArray median(const ReduceOptions& o = {}) const;
  DataArray sum(const ReduceOptions& o = {}) const;
  DataArray std(const ReduceOptions& o = {}) const;
  DataArray var(const ReduceOptions& o = {}) const;
  DataArray count() const;
  // Any of the above by name ("max", "median", ...).
  DataArray reduce(const std::string& reduction, const ReduceOptions& o = {}) const;

  const std::string& dim() const { return dim_; }    // the grouped dimension of the input
  const std::string& name() const { return name_; }  // its name in the results
  const Coordinate& labels() const { return labels_; }  // sorted unique labels along name()
  std::int64_t num_groups() const { return labels_.size(); }
  // Per position along dim(): the group it belongs to, or -1 (NaN/NaT label).
  const std::vector<std::int64_t>& group_of() const { return group_of_; }

 private:
  friend class DataArray;
  GroupBy(DataArray array, std::string dim, std::string name, const Coordinate& labels);

  DataArray array_;
  std::string dim_, name_;
  Coordinate labels_;
  std::vector<std::int64_t> group_of_;
};

// pandas' Series.dt.floor for datetime64[ns] labels: freq "D" (or "day"), "h"/"H", "min"/"T",
// "s"/"S", optionally with a multiple ("6h", "15min"); plus period starts "MS" (or "M", "month")
// and "YS" (or "Y", "year"). NaT stays NaT. Throws TypeError for non-datetime coordinates and
// ValueError naming an unknown freq.
Coordinate floor_time(const Coordinate& times, const std::string& freq);

}  // namespace cubist
