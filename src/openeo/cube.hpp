// Data cube conventions for the openEO processes.
//
// Cubes keep cubist's dimension names: stack() makes (time, band, y, x). openEO's dimension
// names map onto them: `t` -> `time`, `bands` -> `band` (and back, for cubes named the openEO
// way); `x` and `y` are the same. The temporal dimension's labels stay datetime64[ns] and band
// labels are strings. No-data is NaN; boolean results of comparisons on float data are float64
// 1/0 with NaN where an input was no-data (openEO's `null`), plain bool arrays otherwise.
#pragma once
#include <string>
#include <vector>

#include "cubist/data_array.hpp"
#include "openeo/value.hpp"

namespace cubist::openeo {

// The cube's dimension for an openEO dimension name; DimensionError naming both when absent.
std::string dimension_of(const DataArray& cube, const std::string& openeo_name);
// The temporal dimensions: those labelled by datetimes (and `time`/`t` without labels), in order.
std::vector<std::string> temporal_dimensions(const DataArray& cube);
// The cube's one temporal dimension: DimensionError when it has none or several (openEO's
// TooManyDimensions: the process then needs its `dimension` argument).
std::string time_dimension(const DataArray& cube);
// The band dimension of the cube (DimensionError when it has none).

std::string band_dimension(const DataArray& cube);
// The string labels along a dimension (numbers formatted).
std::vector<std::string> labels_of(const DataArray& cube, const std::string& dim);

// A rank-0 array holding v (broadcasts against any cube).
DataArray scalar_array(double v);
// Float64 copy unless already floating point.
DataArray as_float(const DataArray& a);
// openEO booleans: null where any input is no-data (only float inputs can be).
DataArray bool_with_nodata(const DataArray& result, const std::vector<DataArray>& inputs);

// The array of an operand (Cube or Labeled) or a scalar broadcast array for a number.
bool is_numeric_operand(const Value& v);
DataArray operand_array(const Value& v);
// Wraps an elementwise result the way its operands were: Labeled along the same dim if any was.
Value like_operands(DataArray result, const std::vector<const Value*>& operands);

}  // namespace cubist::openeo
