// merge_cubes, as openEO defines it: the cubes share their dimensions, their labels may differ,
// and the result holds the union of the labels (cube1's values for its own labels, cube2's for
// its own, the overlap_resolver's for labels in both, which it requires; no-data where neither
// cube has the combination of labels, e.g. the corners of two tiles offset in x and y). Along one
// dimension the union is one lazy concat of the parts; along several, both cubes are reindexed
// onto the union and combined elementwise. cube2 is first warped onto cube1's spatial grid when
// their CRS, resolution or pixel alignment differ (resample_cube_spatial, method near).
// Temporal and spatial (ordered) labels come out sorted; others (bands) keep cube1's order with
// cube2's new labels appended. A cube with fewer dimensions merges with each slice of the other
// through the resolver. The union is one lazy cubist::concat of the parts.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>
#include <optional>

#include "cubist/error.hpp"
#include "cubist/geo.hpp"
#include "openeo/cube.hpp"
#include "openeo/registry.hpp"
#include "openeo/reindex.hpp"
#include "openeo/resample.hpp"

namespace cubist::openeo {
namespace {

bool same_labels(const DataArray& a, const DataArray& b, const std::string& dim) {
  if (a.size(dim) != b.size(dim)) return false;
  const bool ca = a.coords().contains(dim), cb = b.coords().contains(dim);
  if (ca != cb) return false;
  return !ca || a.coords().at(dim).equals(b.coords().at(dim));
}

// Labels with an inherent order (time, x, y: numeric or datetime coordinates) are sorted after
// the merge; string labels (bands) keep the order cube1 then cube2.
bool ordered(const DataArray& cube, const std::string& dim) {
  return cube.coords().contains(dim) && !cube.coords().at(dim).is_string();
}

Value resolve(Args& a, const DataArray& x, const DataArray& y, const std::vector<std::string>& dims) {
  Value r = a.call("overlap_resolver", {{"x", Value::of_cube(x)}, {"y", Value::of_cube(y)}, {"context", a.get("context")}});
  if (!r.is_array_like()) a.fail("overlap_resolver", fmt::format("returned {}, not a value per pixel", r.describe()));
  if (r.cube.ndim() != dims.size()) a.fail("overlap_resolver", "the resolver changed the dimensions of the data cubes");
  return Value::of_cube(r.cube.transpose(dims));
}

// Coordinates along `dim` other than its labels that only one cube has cannot be merged: dropped.
DataArray without_unshared_coords(const DataArray& cube, const DataArray& other, const std::string& dim) {
  DataArray out = cube;
  Coords kept;
  bool dropped = false;
  for (const auto& [name, c] : cube.coords()) {
    const bool along = std::find(c.dims().begin(), c.dims().end(), dim) != c.dims().end();
    if (along && name != dim && !other.coords().contains(name)) {
      dropped = true;
      continue;
    }
    kept.set(name, c);
  }
  if (!dropped) return cube;
  return DataArray::from_layer(cube.layer(), cube.dims(), kept, cube.attrs(), cube.name());
}

Value merge_along(Args& a, DataArray c1, DataArray c2, const std::string& dim) {
  c1 = without_unshared_coords(c1, c2, dim);
  c2 = without_unshared_coords(c2, c1, dim);
  const std::vector<std::string> l1 = labels_of(c1, dim), l2 = labels_of(c2, dim);
  std::map<std::string, std::int64_t> pos1;
  for (std::size_t i = 0; i < l1.size(); ++i)
    if (!pos1.emplace(l1[i], static_cast<std::int64_t>(i)).second)
      a.fail("cube1", fmt::format("the label '{}' appears twice along '{}'", l1[i], dim));
  std::vector<std::int64_t> only1, both1, both2, only2;
  std::vector<bool> in_both(l1.size(), false);
  for (std::size_t j = 0; j < l2.size(); ++j) {
    auto it = pos1.find(l2[j]);
    if (it == pos1.end()) {
      only2.push_back(static_cast<std::int64_t>(j));
    } else {
      both1.push_back(it->second);
      both2.push_back(static_cast<std::int64_t>(j));
      in_both[static_cast<std::size_t>(it->second)] = true;
    }
  }
  for (std::size_t i = 0; i < l1.size(); ++i)
    if (!in_both[i]) only1.push_back(static_cast<std::int64_t>(i));
  if (!both1.empty() && !a.given("overlap_resolver"))
    a.fail("overlap_resolver", fmt::format("the cubes overlap in {} label(s) along '{}' (first: '{}'): an overlap resolver is required",
                                           both1.size(), dim, l1[static_cast<std::size_t>(both1.front())]));

  // Parts in the order cube1's labels (the overlap resolved where it falls), then cube2's new ones.
  std::vector<DataArray> parts;
  std::vector<std::string> labels;  // of the concatenation, to find the final order
  auto add = [&](const DataArray& part, const std::vector<std::int64_t>& index, const std::vector<std::string>& source) {
    if (index.empty()) return;
    parts.push_back(part);
    for (auto i : index) labels.push_back(source[static_cast<std::size_t>(i)]);
  };
  const bool whole1 = only1.size() == l1.size();
  add(whole1 ? c1 : c1.isel({{dim, only1}}), only1, l1);
  if (!both1.empty()) {
    const DataArray x = c1.isel({{dim, both1}}), y = c2.isel({{dim, both2}});
    // y takes x's labels: they are the same labels, possibly told apart by other coordinates.
    const DataArray y_aligned = DataArray::from_layer(y.layer(), y.dims(), x.coords(), y.attrs(), y.name());
    add(resolve(a, x, y_aligned, c1.dims()).cube, both1, l1);
  }
  add(only2.size() == l2.size() ? c2 : c2.isel({{dim, only2}}), only2, l2);
  DataArray merged;
  try {
    merged = concat(parts, dim);
  } catch (const Error& e) {
    a.fail("cube2", e.what());
  }

  // The final order: sorted for ordered labels, else cube1's then cube2's new ones.
  std::vector<std::int64_t> order(labels.size());
  std::iota(order.begin(), order.end(), 0);
  if (ordered(c1, dim) && ordered(c2, dim)) {
    // In cube1's direction: y labels usually descend.
    // Time ascends; spatial labels keep the direction of cube1's, else cube2's, else y descends.
    auto direction = [&](const DataArray& c) -> std::optional<bool> {
      const Coordinate& l = c.coords().at(dim);
      if (l.size() < 2 || l.numeric_value(0) == l.numeric_value(l.size() - 1)) return std::nullopt;
      return l.numeric_value(0) > l.numeric_value(l.size() - 1);
    };
    const bool temporal = c1.coords().at(dim).dtype() == DType::DateTime64;
    const bool descending = !temporal && direction(c1).value_or(direction(c2).value_or(dim == "y"));
    const Coordinate& c = merged.coords().at(dim);
    std::stable_sort(order.begin(), order.end(), [&](auto i, auto j) {
      return descending ? c.numeric_value(i) > c.numeric_value(j) : c.numeric_value(i) < c.numeric_value(j);
    });
  } else {
    std::map<std::string, std::int64_t> rank;
    for (std::size_t i = 0; i < l1.size(); ++i) rank[l1[i]] = static_cast<std::int64_t>(i);
    for (std::size_t j = 0; j < l2.size(); ++j) rank.emplace(l2[j], static_cast<std::int64_t>(l1.size() + j));
    std::stable_sort(order.begin(), order.end(), [&](auto i, auto j) {
      return rank[labels[static_cast<std::size_t>(i)]] < rank[labels[static_cast<std::size_t>(j)]];
    });
  }
  return Value::of_cube(merged.isel({{dim, order}}));  // no layer when the order is already right
}

// --- labels differing along several dimensions: both cubes reindexed onto the union of the
// labels per dimension (no-data where a cube lacks a label), then combined elementwise: cube1
// where only it has data, cube2 where only it has, the resolver where both have.

// The union's order along one dimension, as merge_along orders it: entries (position in cube1,
// position in cube2), -1 where a cube lacks the label.
struct LabelUnion {
  std::vector<std::int64_t> p1, p2;
};

LabelUnion label_union(const DataArray& c1, const DataArray& c2, const std::string& dim) {
  const std::vector<std::string> l1 = labels_of(c1, dim), l2 = labels_of(c2, dim);
  std::map<std::string, std::int64_t> pos2;
  for (std::size_t j = 0; j < l2.size(); ++j) pos2.emplace(l2[j], static_cast<std::int64_t>(j));
  LabelUnion u;
  std::vector<bool> taken(l2.size(), false);
  for (std::size_t i = 0; i < l1.size(); ++i) {
    auto it = pos2.find(l1[i]);
    u.p1.push_back(static_cast<std::int64_t>(i));
    u.p2.push_back(it == pos2.end() ? -1 : it->second);
    if (it != pos2.end()) taken[static_cast<std::size_t>(it->second)] = true;
  }
  for (std::size_t j = 0; j < l2.size(); ++j)
    if (!taken[j]) {
      u.p1.push_back(-1);
      u.p2.push_back(static_cast<std::int64_t>(j));
    }
  if (!(ordered(c1, dim) && ordered(c2, dim))) return u;  // bands: cube1's, then cube2's new ones
  const Coordinate &k1 = c1.coords().at(dim), &k2 = c2.coords().at(dim);
  auto value = [&](std::size_t e) { return u.p1[e] >= 0 ? k1.numeric_value(u.p1[e]) : k2.numeric_value(u.p2[e]); };
  auto direction = [&](const Coordinate& l) -> std::optional<bool> {
    if (l.size() < 2 || l.numeric_value(0) == l.numeric_value(l.size() - 1)) return std::nullopt;
    return l.numeric_value(0) > l.numeric_value(l.size() - 1);
  };
  const bool descending = k1.dtype() != DType::DateTime64 && direction(k1).value_or(direction(k2).value_or(dim == "y"));
  std::vector<std::size_t> order(u.p1.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto i, auto j) { return descending ? value(i) > value(j) : value(i) < value(j); });
  LabelUnion sorted;
  for (auto e : order) {
    sorted.p1.push_back(u.p1[e]);
    sorted.p2.push_back(u.p2[e]);
  }
  return sorted;
}

// The coordinate `name` along the union: each entry's value from the cube that has the label.
Coordinate united_coordinate(const Coordinate& k1, const Coordinate& k2, const LabelUnion& u, const std::string& dim) {
  const std::size_t n = u.p1.size();
  if (k1.is_string() || k2.is_string()) {
    std::vector<std::string> s;
    for (std::size_t e = 0; e < n; ++e)
      s.push_back(u.p1[e] >= 0 ? k1.format_value(u.p1[e]) : k2.format_value(u.p2[e]));
    return Coordinate::strings(dim, std::move(s), k1.attrs());
  }
  const bool same = k1.dtype() == k2.dtype();
  const DType dtype = same ? k1.dtype() : DType::Float64;
  Chunk out = Chunk::allocate(dtype, {static_cast<std::int64_t>(n)});
  const std::size_t item = itemsize(dtype);
  const Chunk v1 = k1.values().contiguous(), v2 = k2.values().contiguous();
  for (std::size_t e = 0; e < n; ++e) {
    const bool from1 = u.p1[e] >= 0;
    const std::int64_t at = from1 ? u.p1[e] : u.p2[e];
    auto* dst = static_cast<std::byte*>(out.mutable_raw()) + e * item;
    if (same) {
      std::memcpy(dst, static_cast<const std::byte*>((from1 ? v1 : v2).raw()) + static_cast<std::size_t>(at) * item, item);
    } else {
      const double d = (from1 ? k1 : k2).numeric_value(at);
      std::memcpy(dst, &d, item);
    }
  }
  return Coordinate({dim}, std::move(out), k1.attrs());
}

// True (1) at the union's entries the cube has, along dim.
DataArray presence(const std::vector<std::int64_t>& positions, const std::string& dim) {
  std::vector<std::uint8_t> has;
  for (auto p : positions) has.push_back(p >= 0 ? 1 : 0);
  return DataArray::from_vector(has, {{dim, static_cast<std::int64_t>(has.size())}}).astype(DType::Bool);
}

Value merge_along_many(Args& a, DataArray c1, DataArray c2, const std::vector<std::string>& dims) {
  std::optional<DataArray> in1, in2;
  bool overlap = true;  // some label combination is in both cubes
  for (const auto& dim : dims) {
    c1 = without_unshared_coords(c1, c2, dim);
    c2 = without_unshared_coords(c2, c1, dim);
    const LabelUnion u = label_union(c1, c2, dim);
    bool shared = false;
    for (std::size_t e = 0; e < u.p1.size(); ++e) shared = shared || (u.p1[e] >= 0 && u.p2[e] >= 0);
    overlap = overlap && shared;
    Coords along;
    for (const auto& [name, k] : c1.coords()) {
      const bool lies = std::find(k.dims().begin(), k.dims().end(), dim) != k.dims().end();
      if (!lies) continue;
      if (k.dims().size() != 1 || !c2.coords().contains(name))
        a.fail("cube2", fmt::format("coordinate '{}' along '{}' cannot be merged", name, dim));
      along.set(name, united_coordinate(k, c2.coords().at(name), u, dim));
    }
    try {
      c1 = reindex(c1, dim, u.p1, along, std::numeric_limits<double>::quiet_NaN());
      c2 = reindex(c2, dim, u.p2, along, std::numeric_limits<double>::quiet_NaN());
    } catch (const Error& e) {
      a.fail("cube2", e.what());
    }
    const DataArray h1 = presence(u.p1, dim), h2 = presence(u.p2, dim);
    in1 = in1 ? (*in1 & h1) : h1;
    in2 = in2 ? (*in2 & h2) : h2;
  }
  if (overlap && !a.given("overlap_resolver"))
    a.fail("overlap_resolver", fmt::format("the cubes overlap where their labels along {} meet: an overlap resolver is required",
                                           fmt::join(dims, ", ")));
  DataArray merged = where(*in1, c1, c2);  // cube2 is no-data where it has no label
  if (overlap) merged = where(*in1 & *in2, resolve(a, c1, c2, c1.dims()).cube, merged);
  return Value::of_cube(merged.transpose(c1.dims()));
}

// --- cubes on different spatial grids: cube2 is warped onto cube1's (resample_cube_spatial with
// its defaults, as the definition asks) when their CRS, pixel size or pixel alignment differ.

std::optional<double> step_of(const DataArray& c, const std::string& dim) {
  if (!c.coords().contains(dim) || c.size(dim) < 2) return std::nullopt;
  const Coordinate& k = c.coords().at(dim);
  return k.numeric_value(1) - k.numeric_value(0);
}

// Why the grids differ ("" when cube2 lies on cube1's grid).
std::string grid_difference(const DataArray& c1, const DataArray& c2) {
  const auto crs1 = crs_of(c1), crs2 = crs_of(c2);
  if (crs1 && crs2 && !crs1->equals(*crs2)) return fmt::format("CRS {} vs {}", crs1->to_string(), crs2->to_string());
  for (const char* dim : {"x", "y"}) {
    const auto s1 = step_of(c1, dim), s2 = step_of(c2, dim);
    if (!s1 || !s2) continue;
    if (std::abs(std::abs(*s1) - std::abs(*s2)) > 1e-9 * std::abs(*s1))
      return fmt::format("resolution along '{}' {} vs {}", dim, std::abs(*s1), std::abs(*s2));
    const double offset = (c2.coords().at(dim).numeric_value(0) - c1.coords().at(dim).numeric_value(0)) / *s1;
    if (std::abs(offset - std::round(offset)) > 1e-6)
      return fmt::format("pixels along '{}' offset by {} of a pixel", dim, offset - std::floor(offset));
  }
  return "";
}

DataArray on_grid_of(Args& a, const DataArray& c1, const DataArray& c2) {
  if (!c1.has_dim("x") || !c1.has_dim("y") || !c2.has_dim("x") || !c2.has_dim("y")) return c2;
  const std::string why = grid_difference(c1, c2);
  if (why.empty()) return c2;
  if (!crs_of(c1) || !crs_of(c2))
    a.fail("cube2", fmt::format("the cubes lie on different grids ({}) and {} no CRS to resample with", why,
                                crs_of(c1) ? "cube2 has" : "cube1 has"));
  try {
    return resample_onto(c2, c1, "near");
  } catch (const Error& e) {
    a.fail("cube2", fmt::format("resampling cube2 onto cube1's grid ({}): {}", why, e.what()));
  }
}

const ProcessRegistration merge_cubes_reg{ProcessDef{
    "merge_cubes", "Merge two data cubes", "", {"cubes"},
    {{"cube1", "The base data cube.", schema::cube(), false, nullptr},
     {"cube2", "The other data cube to be merged with the base data cube.", schema::cube(), false, nullptr},
     {"overlap_resolver", "Combines overlapping values: receives `x` (cube1) and `y` (cube2); null when the cubes do not overlap.",
      schema::callback({"x", "y", "context"}), true, nullptr},
     {"context", "Additional data passed to the overlap resolver.", schema::any(), true, nullptr}},
    {{"description", "The merged data cube: the union of the labels along every dimension where they differ (no-data where neither cube has a label combination); cube2 warped onto cube1's grid first when their CRS or grids differ."}, {"schema", schema::cube()}},
    [](Args& a) -> Value {
      DataArray c1 = a.cube("cube1"), c2 = a.cube("cube2");
      c2 = on_grid_of(a, c1, c2);
      const bool c1_larger = c1.ndim() >= c2.ndim();
      const DataArray& large = c1_larger ? c1 : c2;
      const DataArray& small = c1_larger ? c2 : c1;
      for (const auto& d : small.dims())
        if (!large.has_dim(d))
          a.fail("cube2", fmt::format("dimension '{}' of cube{} is not in cube{} (dims: {})", d, c1_larger ? 2 : 1,
                                      c1_larger ? 1 : 2, fmt::join(large.dims(), ", ")));
      std::vector<std::string> differing;
      for (const auto& d : small.dims())
        if (!same_labels(c1, c2, d)) differing.push_back(d);
      if (c1.ndim() != c2.ndim()) {  // the lower-dimensional cube meets every slice of the other
        if (!differing.empty()) a.fail("cube2", fmt::format("the labels along '{}' differ between the cubes", differing.front()));
        if (!a.given("overlap_resolver"))
          a.fail("overlap_resolver", "the lower-dimensional cube overlaps every slice of the other: an overlap resolver is required");
        return resolve(a, c1, c2, large.dims());
      }
      if (differing.size() > 1) return merge_along_many(a, c1, c2.transpose(c1.dims()), differing);
      if (differing.empty()) {
        if (!a.given("overlap_resolver")) a.fail("overlap_resolver", "the cubes overlap completely: an overlap resolver is required");
        return resolve(a, c1, c2.transpose(c1.dims()), c1.dims());
      }
      return merge_along(a, c1, c2.transpose(c1.dims()), differing.front());
    }}};

}  // namespace
}  // namespace cubist::openeo
