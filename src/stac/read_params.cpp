#include "stac/read_params.hpp"

#include <cmath>
#include <fmt/format.h>

#include "cubist/error.hpp"

namespace cubist::stac {

using nlohmann::json;

namespace {

json affine_json(const Affine& a) { return json::array({a.a, a.b, a.c, a.d, a.e, a.f}); }

Affine affine_from(const json& j, const char* field) {
  if (!j.is_array() || j.size() != 6) throw ValueError(fmt::format("stac_read params: '{}' must be 6 numbers", field));
  return Affine{j[0].get<double>(), j[1].get<double>(), j[2].get<double>(), j[3].get<double>(), j[4].get<double>(),
                j[5].get<double>()};
}

// NaN and infinities are not JSON numbers: they travel as strings.
json number_json(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

double number_from(const json& j, const char* field) {
  if (j.is_number()) return j.get<double>();
  if (j == "nan") return std::nan("");
  if (j == "inf") return HUGE_VAL;
  if (j == "-inf") return -HUGE_VAL;
  throw ValueError(fmt::format("stac_read params: '{}' must be a number", field));
}

}  // namespace

json ReadParams::to_json() const {
  json cells_json = json::array();
  for (const auto& c : cells) {
    json j = {{"item", c.item_id}, {"asset", c.asset_key}, {"href", c.href}};
    if (!c.href.empty()) {
      j["crs"] = c.crs_index;
      j["transform"] = affine_json(c.transform);
      j["shape"] = {c.height, c.width};
      j["footprint"] = {c.footprint.minx, c.footprint.miny, c.footprint.maxx, c.footprint.maxy};
      if (c.nodata) j["nodata"] = number_json(*c.nodata);
      j["scale"] = c.scale;
      j["offset"] = c.offset;
    }
    cells_json.push_back(std::move(j));
  }
  json j = {{"crs_table", crs_table},
          {"output", {{"crs", 0}, {"transform", affine_json(output.transform)}, {"shape", {output.height, output.width}}}},
          {"times", times},
          {"bands", bands},
          {"cells", std::move(cells_json)},
          {"fill_value", number_json(fill_value)},
          {"dtype", std::string(dtype_name(dtype))},
          {"rescale", rescale},
          {"resampling", resampling},
          {"skip_bad_assets", skip_bad_assets}};
  if (row_offset || col_offset) j["offset"] = {row_offset, col_offset};
  if (!time_axis) j["time_axis"] = false;
  if (!band_axis) j["band_axis"] = false;
  return j;
}

ReadParams ReadParams::from_json(const json& j) {
  try {
    ReadParams p;
    p.crs_table = j.at("crs_table").get<std::vector<std::string>>();
    if (p.crs_table.empty()) throw ValueError("stac_read params: 'crs_table' is empty");
    const json& out = j.at("output");
    p.output.crs_wkt = p.crs_table.at(out.at("crs").get<std::size_t>());
    p.output.transform = affine_from(out.at("transform"), "output.transform");
    p.output.height = out.at("shape").at(0).get<std::int64_t>();
    p.output.width = out.at("shape").at(1).get<std::int64_t>();
    p.times = j.at("times").get<std::int64_t>();
    p.bands = j.at("bands").get<std::int64_t>();
    const json& cells = j.at("cells");
    if (!cells.is_array() || static_cast<std::int64_t>(cells.size()) != p.times * p.bands)
      throw ValueError(fmt::format("stac_read params: 'cells' must hold times * bands = {} entries", p.times * p.bands));
    for (const auto& cj : cells) {
      ReadCell c;
      c.item_id = cj.at("item").get<std::string>();
      c.asset_key = cj.at("asset").get<std::string>();
      c.href = cj.at("href").get<std::string>();
      if (!c.href.empty()) {
        c.crs_index = cj.at("crs").get<std::size_t>();
        if (c.crs_index >= p.crs_table.size()) throw ValueError("stac_read params: a cell's 'crs' is out of the table");
        c.transform = affine_from(cj.at("transform"), "cells[].transform");
        c.height = cj.at("shape").at(0).get<std::int64_t>();
        c.width = cj.at("shape").at(1).get<std::int64_t>();
        const json& fp = cj.at("footprint");
        c.footprint = Bounds{fp.at(0).get<double>(), fp.at(1).get<double>(), fp.at(2).get<double>(), fp.at(3).get<double>()};
        if (cj.contains("nodata")) c.nodata = number_from(cj["nodata"], "cells[].nodata");
        c.scale = cj.at("scale").get<double>();
        c.offset = cj.at("offset").get<double>();
      }
      p.cells.push_back(std::move(c));
    }
    p.fill_value = number_from(j.at("fill_value"), "fill_value");
    p.dtype = parse_dtype(j.at("dtype").get<std::string>());
    p.rescale = j.at("rescale").get<bool>();
    p.resampling = j.at("resampling").get<std::string>();
    p.skip_bad_assets = j.at("skip_bad_assets").get<bool>();
    if (j.contains("offset")) {
      p.row_offset = j.at("offset").at(0).get<std::int64_t>();
      p.col_offset = j.at("offset").at(1).get<std::int64_t>();
      if (p.row_offset < 0 || p.col_offset < 0) throw ValueError("stac_read params: 'offset' must not be negative");
    }
    p.time_axis = j.value("time_axis", true);
    p.band_axis = j.value("band_axis", true);
    if ((!p.time_axis && p.times != 1) || (!p.band_axis && p.bands != 1))
      throw ValueError("stac_read params: a dropped time or band axis must hold exactly one entry");
    return p;
  } catch (const json::exception& e) {
    throw ValueError(fmt::format("stac_read params are malformed: {}", e.what()));
  }
}

Shape ReadParams::output_shape() const {
  Shape s;
  if (time_axis) s.push_back(times);
  if (band_axis) s.push_back(bands);
  s.push_back(output.height);
  s.push_back(output.width);
  return s;
}

std::optional<ReadParams> ReadParams::window(const std::vector<graph::AxisWindow>& w) const {
  const Shape shape = output_shape();
  if (w.size() != shape.size()) return std::nullopt;
  for (std::size_t a = 0; a < w.size(); ++a)
    if (w[a].start < 0 || w[a].start + (w[a].drop ? 1 : w[a].count) > shape[a] || (!w[a].drop && w[a].count <= 0))
      return std::nullopt;
  std::size_t a = 0;
  graph::AxisWindow wt{0, 1, false}, wb{0, 1, false};
  if (time_axis) wt = w[a++];
  if (band_axis) wb = w[a++];
  const graph::AxisWindow &wy = w[a], &wx = w[a + 1];
  if (wy.drop || wx.drop) return std::nullopt;  // the read always produces a (y, x) plane
  ReadParams p = *this;
  p.time_axis = time_axis && !wt.drop;
  p.band_axis = band_axis && !wb.drop;
  p.times = wt.drop ? 1 : wt.count;
  p.bands = wb.drop ? 1 : wb.count;
  p.cells.clear();
  for (std::int64_t t = 0; t < p.times; ++t)
    for (std::int64_t b = 0; b < p.bands; ++b) p.cells.push_back(cell(wt.start + t, wb.start + b));
  p.row_offset = row_offset + wy.start;  // integers: the chunk windows are computed exactly as unwindowed
  p.col_offset = col_offset + wx.start;
  p.output.height = wy.count;
  p.output.width = wx.count;
  return p;
}

}  // namespace cubist::stac
