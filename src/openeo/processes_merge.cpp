// merge_cubes, as openEO defines it: the cubes share their dimensions; along at most one of them
// the labels may differ, and the result holds the union of those labels (cube1's values for its
// own labels, cube2's for its own, the overlap_resolver's for labels in both, which it requires).
// Temporal and spatial (ordered) labels come out sorted; others (bands) keep cube1's order with
// cube2's new labels appended. A cube with fewer dimensions merges with each slice of the other
// through the resolver. The union is one lazy cubist::concat of the parts.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>

#include "cubist/error.hpp"
#include "openeo/cube.hpp"
#include "openeo/registry.hpp"

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

const ProcessRegistration merge_cubes_reg{ProcessDef{
    "merge_cubes", "Merge two data cubes", "", {"cubes"},
    {{"cube1", "The base data cube.", schema::cube(), false, nullptr},
     {"cube2", "The other data cube to be merged with the base data cube.", schema::cube(), false, nullptr},
     {"overlap_resolver", "Combines overlapping values: receives `x` (cube1) and `y` (cube2); null when the cubes do not overlap.",
      schema::callback({"x", "y", "context"}), true, nullptr},
     {"context", "Additional data passed to the overlap resolver.", schema::any(), true, nullptr}},
    {{"description", "The merged data cube: the union of the labels along the dimension where they differ."}, {"schema", schema::cube()}},
    [](Args& a) -> Value {
      DataArray c1 = a.cube("cube1"), c2 = a.cube("cube2");
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
      if (differing.size() > 1)
        a.fail("cube2", fmt::format("the labels differ along {} dimensions ({}); they may differ along one only",
                                    differing.size(), fmt::join(differing, ", ")));
      if (differing.empty()) {
        if (!a.given("overlap_resolver")) a.fail("overlap_resolver", "the cubes overlap completely: an overlap resolver is required");
        return resolve(a, c1, c2.transpose(c1.dims()), c1.dims());
      }
      return merge_along(a, c1, c2.transpose(c1.dims()), differing.front());
    }}};

}  // namespace
}  // namespace cubist::openeo
