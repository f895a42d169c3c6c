// Appending one label to a dimension (ndvi's target_band), lazily, through cubist::concat.
#pragma once
#include <string>

#include "cubist/data_array.hpp"

namespace cubist::openeo {

// `cube` with one more label `label` at the end of its string-labelled dimension `dim`, holding
// `values` (which must broadcast against the cube without `dim`). Other coordinates along `dim`
// are dropped (they have no value for the new label). ValueError when the label exists.
DataArray append_label(const DataArray& cube, const std::string& dim, const std::string& label, const DataArray& values);

}  // namespace cubist::openeo
