// Dataset: named DataArrays sharing dimensions and coordinates (xarray.Dataset).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "cubist/data_array.hpp"

namespace cubist {

class Dataset {
 public:
  Dataset() = default;
  Dataset(std::vector<std::pair<std::string, DataArray>> data_vars, Coords coords = {}, Attrs attrs = Attrs::object());

  const DataArray& operator[](const std::string& name) const;  // throws KeyError naming it
  bool contains(const std::string& name) const;
  std::vector<std::string> data_vars() const;
  DimSizes dims() const;  // every dimension of the variables, in first-seen order
  const Coords& coords() const { return coords_; }
  const Attrs& attrs() const { return attrs_; }
  Dataset assign(const std::string& name, DataArray var) const;  // adds or replaces a variable
  Dataset assign_attrs(Attrs attrs) const;
  Dataset drop_vars(const std::vector<std::string>& names) const;

  Dataset reduce(const std::string& reduction, const Dims& dims, const ReduceOptions& o = {}) const;
  Dataset mean(const Dims& dims = {}, const ReduceOptions& o = {}) const { return reduce("mean", dims, o); }
  Dataset chunk(const ChunkSpec& spec) const;
  Dataset isel(const Indexers& indexers) const;
  Dataset sel(const LabelIndexers& indexers, const SelOptions& options = {}) const;
  // Computes every variable in one run, sharing common inputs.
  Dataset compute(const ComputeOptions& options = {}, ComputeStats* stats = nullptr) const;
  std::string repr() const;

 private:
  std::vector<std::pair<std::string, DataArray>> vars_;
  Coords coords_;
  Attrs attrs_ = Attrs::object();
};

std::ostream& operator<<(std::ostream& os, const Dataset& ds);

}  // namespace cubist
