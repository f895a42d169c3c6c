// Labels added along one dimension of a cube, holding no-data: what aggregate_temporal_period
// needs for periods without data and merge_cubes for the labels only the other cube has.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cubist/data_array.hpp"

namespace cubist::openeo {

// The cube with one step along `dim` per entry of `positions`: the cube's step at that position,
// or `fill` everywhere for -1. `along` holds the result's coordinates along `dim` (each 1-d, one
// value per entry of `positions`); the cube's own coordinates along `dim` are replaced by them.
// Lazy: runs of the cube's steps are selections of it, runs of fill constant blocks on its chunks,
// joined by one concat. The dtype is the cube's, float64 when a NaN fill meets integers.
DataArray reindex(const DataArray& cube, const std::string& dim, const std::vector<std::int64_t>& positions, const Coords& along,
                  double fill);

}  // namespace cubist::openeo
