// Parameters of the "stac_read" op, shared by stack() (which writes them) and the op (which
// reads them). Plain JSON so the layer can travel to another process: per (time, band) cell the
// asset's href, source grid, nodata, scale/offset and footprint in the output CRS; the output
// grid; fill value; dtype; skip_bad_assets. CRS WKTs are kept once in a table, cells index it.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cubist/geo.hpp"
#include "graph/layer.hpp"
#include "raster/raster.hpp"

namespace cubist::stac {

struct ReadCell {
  std::string item_id, asset_key;
  std::string href;                  // empty: no asset here (a skipped missing asset) -> fill
  std::size_t crs_index = 0;         // into ReadParams::crs_table
  Affine transform;                  // the asset's own grid
  std::int64_t width = 0, height = 0;
  Bounds footprint;                  // in the output CRS
  std::optional<double> nodata;
  double scale = 1, offset = 0;
};

struct ReadParams {
  std::vector<std::string> crs_table;  // WKT of the output CRS (index 0) and of the assets
  raster::Grid output;                 // the output grid: transform of the whole stack, shape of this read
  std::int64_t row_offset = 0, col_offset = 0;  // where this read's pixel (0, 0) lies in the whole grid
  std::int64_t times = 0, bands = 0;
  std::vector<ReadCell> cells;         // times * bands, time-major
  double fill_value = 0;
  DType dtype = DType::Float64;
  bool rescale = true;
  std::string resampling = "nearest";
  bool skip_bad_assets = false;
  // Whether the output keeps the time and band axes (a selection pushed into the read can index
  // them away: the output is then (band, y, x), (time, y, x) or (y, x), with times or bands = 1).
  bool time_axis = true, band_axis = true;

  const ReadCell& cell(std::int64_t t, std::int64_t b) const { return cells[static_cast<std::size_t>(t * bands + b)]; }
  nlohmann::json to_json() const;
  static ReadParams from_json(const nlohmann::json& j);  // ValueError naming the field
  Shape output_shape() const;  // [times] [bands] height width, as the axes are kept

  // The same read restricted to a window of output_shape() (one entry per axis; y and x cannot
  // be dropped): the cells of the kept times and bands, the offsets moved to the window.
  std::optional<ReadParams> window(const std::vector<graph::AxisWindow>& window) const;
};

}  // namespace cubist::stac
