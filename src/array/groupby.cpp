// groupby(...) reductions. Labels are factorised here (sorted, NaN/NaT dropped); the pixels are
// reduced by a graph of the plain reduction ops:
//   group_partial   one task per (range of groups, block of consecutive input chunks holding
//                   their members, <= 64 MB): the states of those groups from that block only
//                   (positions of other groups are skipped)
//   reduce_combine  levels of fan-in <= 16 over the states of the same group range
//   reduce_finalize one task per group range, nothing reduced away: states -> values
// Groups whose members lie in the same input chunks share a range (so a chunk holding several
// whole groups gives one task and one state chunk, and no state is ever computed for a group
// with no member in the chunk). The median cannot be combined: a gather layer puts each group's
// members side by side (a few groups per chunk, at most an input chunk's extent unless a group
// is larger), then group_median reduces each group's run.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>

#include "array/builder.hpp"
#include "cubist/error.hpp"
#include "cubist/groupby.hpp"
#include "kernels/reduction.hpp"

namespace cubist {
namespace {

constexpr std::int64_t kSplitEvery = 16;  // states combined per task, as the plain reductions
constexpr std::int64_t kBlockBytes = 64 << 20;  // input one group_partial task may hold at once

struct Factorized {
  std::vector<std::int64_t> group_of;  // per position, -1 for a null label
  std::vector<std::int64_t> firsts;    // a position of each group, groups in label order
};

template <class Less, class Null>
Factorized factorize(std::int64_t n, Less less, Null is_null) {
  std::vector<std::int64_t> order;
  for (std::int64_t i = 0; i < n; ++i)
    if (!is_null(i)) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), less);
  Factorized f;
  f.group_of.assign(static_cast<std::size_t>(n), -1);
  for (std::size_t k = 0; k < order.size(); ++k) {
    if (k == 0 || less(order[k - 1], order[k])) f.firsts.push_back(order[k]);
    f.group_of[static_cast<std::size_t>(order[k])] = static_cast<std::int64_t>(f.firsts.size()) - 1;
  }
  return f;
}

Factorized factorize(const Coordinate& labels) {
  const std::int64_t n = labels.size();
  if (labels.is_string()) {
    const auto& s = labels.string_values();
    return factorize(
        n, [&](std::int64_t a, std::int64_t b) { return s[static_cast<std::size_t>(a)] < s[static_cast<std::size_t>(b)]; },
        [](std::int64_t) { return false; });
  }
  const bool datetime = labels.dtype() == DType::DateTime64;
  return visit_dtype(labels.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const auto v = labels.values().values<T>();
    auto at = [&](std::int64_t i) { return v[static_cast<std::size_t>(i)]; };
    return factorize(
        n, [&](std::int64_t a, std::int64_t b) { return at(a) < at(b); },
        [&](std::int64_t i) {
          if constexpr (std::is_floating_point_v<T>) return std::isnan(at(i));
          else if constexpr (std::is_same_v<T, std::int64_t>) return datetime && at(i) == kNaT;
          else return false;
        });
  });
}

std::string array_name(const DataArray& a) { return a.name().empty() ? "array" : "'" + a.name() + "'"; }

}  // namespace

GroupBy DataArray::groupby(const std::string& coord) const {
  if (!coords_.contains(coord))
    throw KeyError(fmt::format("groupby: {} has no coordinate named '{}'", name_.empty() ? "the array" : "'" + name_ + "'",
                               coord));
  const Coordinate& c = coords_.at(coord);
  if (c.dims().size() != 1)
    throw ValueError(fmt::format("groupby: coordinate '{}' has {} dimensions; group by a 1-d coordinate", coord,
                                 c.dims().size()));
  return GroupBy(*this, c.dims()[0], coord, c);
}

GroupBy DataArray::groupby(const Coordinate& labels) const {
  if (labels.dims().size() != 1)
    throw ValueError(fmt::format("groupby: the labels have {} dimensions; give one label per position along one dimension",
                                 labels.dims().size()));
  return GroupBy(*this, labels.dims()[0], labels.dims()[0], labels);
}

GroupBy::GroupBy(DataArray array, std::string dim, std::string name, const Coordinate& labels)
    : array_(std::move(array)), dim_(std::move(dim)), name_(std::move(name)) {
  if (!array_.layer()) throw ValueError("groupby: empty DataArray");
  if (!array_.has_dim(dim_))
    throw DimensionError(fmt::format("groupby: the labels are along '{}', which is not a dimension of {} (dims: {})", dim_,
                                     array_name(array_), fmt::join(array_.dims(), ", ")));
  if (labels.size() != array_.size(dim_))
    throw ValueError(fmt::format("groupby: {} labels for dimension '{}' of size {}", labels.size(), dim_, array_.size(dim_)));
  if (name_ != dim_ && array_.has_dim(name_))
    throw ValueError(fmt::format("groupby: grouping '{}' by '{}' would give two dimensions named '{}'", dim_, name_, name_));
  Factorized f = factorize(labels);
  if (f.firsts.empty())
    throw ValueError(labels.size() == 0
                         ? fmt::format("groupby: dimension '{}' is empty, so there are no groups", dim_)
                         : fmt::format("groupby: every label along '{}' is NaN or NaT, so there are no groups", dim_));
  group_of_ = std::move(f.group_of);
  const Coordinate firsts = labels.take(0, f.firsts, false);
  labels_ = labels.is_string() ? Coordinate::strings(name_, firsts.string_values(), labels.attrs())
                               : Coordinate({name_}, firsts.values(), labels.attrs());
}

DataArray GroupBy::max(const ReduceOptions& o) const { return reduce("max", o); }
DataArray GroupBy::min(const ReduceOptions& o) const { return reduce("min", o); }
DataArray GroupBy::mean(const ReduceOptions& o) const { return reduce("mean", o); }
DataArray GroupBy::median(const ReduceOptions& o) const { return reduce("median", o); }
DataArray GroupBy::sum(const ReduceOptions& o) const { return reduce("sum", o); }
DataArray GroupBy::std(const ReduceOptions& o) const { return reduce("std", o); }
DataArray GroupBy::var(const ReduceOptions& o) const { return reduce("var", o); }
DataArray GroupBy::count() const { return reduce("count", {}); }

namespace {

using Table = std::vector<std::pair<std::int64_t, std::int64_t>>;

// Everything the graph builders need about the grouping, in positions and chunk indices.
struct Plan {
  const DataArray& a;
  std::size_t axis;
  std::int64_t groups;
  std::vector<std::vector<std::int64_t>> members;  // positions per group, ascending
};

std::vector<std::int64_t> chunks_touched(const ChunkGrid& grid, std::size_t axis, const std::vector<std::int64_t>& pos) {
  std::vector<std::int64_t> c;
  for (auto p : pos) {
    const auto k = grid.chunk_of(axis, p);
    if (c.empty() || c.back() != k) c.push_back(k);
  }
  return c;
}

// Grid of `a` with the grouped axis replaced by `along` (and a leading field axis when fields > 0).
ChunkGrid grid_with(const ChunkGrid& in, std::size_t axis, std::vector<std::int64_t> along, std::int64_t fields) {
  std::vector<std::vector<std::int64_t>> chunks;
  if (fields > 0) chunks.push_back({fields});
  for (std::size_t ax = 0; ax < in.rank(); ++ax) chunks.push_back(ax == axis ? along : in.chunks(ax));
  return ChunkGrid(std::move(chunks));
}

graph::LayerPtr tree_layers(const Plan& plan, const std::string& reduction, const std::vector<std::int64_t>& group_of,
                            bool skipna, int ddof) {
  const DataArray& a = plan.a;
  const std::size_t g = plan.axis, rank = a.ndim();
  const kernels::ReductionInfo info = kernels::reduction_info(kernels::parse_reduction(reduction), a.dtype());
  const ChunkGrid& in = a.chunks();

  // Ranges of consecutive groups whose members lie in the same input chunks.
  std::vector<std::pair<std::int64_t, std::int64_t>> ranges;
  std::vector<std::vector<std::int64_t>> range_chunks;
  for (std::int64_t k = 0; k < plan.groups; ++k) {
    auto touched = chunks_touched(in, g, plan.members[static_cast<std::size_t>(k)]);
    if (!ranges.empty() && range_chunks.back() == touched) {
      ranges.back().second = k + 1;
    } else {
      ranges.emplace_back(k, k + 1);
      range_chunks.push_back(std::move(touched));
    }
  }
  std::vector<std::int64_t> range_sizes;
  for (auto [k0, k1] : ranges) range_sizes.push_back(k1 - k0);

  // group_partial: one state chunk per (range, block of consecutive input chunks holding its
  // members), range-major. A block reads at most kBlockBytes of input (and at least one chunk), so
  // a group spanning a few chunks (the seed's same-day scenes) needs no combine at all.
  std::int64_t chunk_bytes = static_cast<std::int64_t>(itemsize(a.dtype()));
  for (auto e : in.max_chunk_shape()) chunk_bytes *= std::max<std::int64_t>(e, 1);
  const std::int64_t per_block = std::clamp<std::int64_t>(kBlockBytes / std::max<std::int64_t>(chunk_bytes, 1), 1, kSplitEvery);
  nlohmann::json pair_groups = nlohmann::json::array();
  Table input_table;
  std::vector<std::int64_t> pair_sizes, states_per_range;
  for (std::size_t r = 0; r < ranges.size(); ++r) {
    const auto& cs = range_chunks[r];
    std::int64_t blocks = 0;
    for (std::size_t i = 0; i < cs.size();) {
      std::size_t e = i + 1;
      while (e < cs.size() && cs[e] == cs[e - 1] + 1 && static_cast<std::int64_t>(e - i) < per_block) ++e;
      pair_groups.push_back({ranges[r].first, ranges[r].second});
      input_table.emplace_back(cs[i], cs[e - 1] + 1);
      pair_sizes.push_back(range_sizes[r]);
      ++blocks;
      i = e;
    }
    states_per_range.push_back(blocks);
  }
  nlohmann::json params{{"reduction", reduction}, {"axes", std::vector<int>{static_cast<int>(g)}}, {"skipna", skipna}, {"ddof", ddof},
                        {"group_of", group_of}, {"pair_groups", std::move(pair_groups)}};
  std::vector<graph::AxisDep> deps;
  for (std::size_t ax = 0; ax < rank; ++ax)
    deps.push_back(ax == g ? graph::AxisDep::from_table(static_cast<int>(g + 1), std::move(input_table))
                           : graph::AxisDep::identity(static_cast<int>(ax + 1)));
  const std::string label = "groupby-" + reduction;
  graph::LayerPtr state = graph::make_layer({label + "-partial", "group_partial", graph::LayerKind::General, params,
                                             {{a.layer(), deps}}, grid_with(in, g, pair_sizes, info.fields),
                                             info.state_dtype, nullptr, 0});

  // The plain reduction ops see the grouped axis as kept: nothing is reduced away any more.
  const nlohmann::json state_params{{"reduction", reduction}, {"axes", nlohmann::json::array()}, {"skipna", skipna}, {"ddof", ddof}};
  while (std::any_of(states_per_range.begin(), states_per_range.end(), [](std::int64_t n) { return n > 1; })) {
    Table table;
    std::vector<std::int64_t> sizes;
    std::int64_t pos = 0;
    for (std::size_t r = 0; r < ranges.size(); ++r) {
      const std::int64_t n = states_per_range[r];
      const std::int64_t m = (n + kSplitEvery - 1) / kSplitEvery;  // balanced blocks of <= 16
      for (std::int64_t b = 0; b < m; ++b) {
        table.emplace_back(pos + n * b / m, pos + n * (b + 1) / m);
        sizes.push_back(range_sizes[r]);
      }
      pos += n;
      states_per_range[r] = m;
    }
    std::vector<graph::AxisDep> cdeps{graph::AxisDep::identity(0)};
    for (std::size_t ax = 0; ax < rank; ++ax)
      cdeps.push_back(ax == g ? graph::AxisDep::from_table(static_cast<int>(g + 1), std::move(table))
                              : graph::AxisDep::identity(static_cast<int>(ax + 1)));
    state = graph::make_layer({label + "-combine", "reduce_combine", graph::LayerKind::General, state_params,
                               {{state, cdeps}}, grid_with(in, g, sizes, info.fields), info.state_dtype, nullptr, 0});
  }

  std::vector<graph::AxisDep> fdeps{graph::AxisDep::all()};
  for (std::size_t ax = 0; ax < rank; ++ax) fdeps.push_back(graph::AxisDep::identity(static_cast<int>(ax)));
  return graph::make_layer({label, "reduce_finalize", graph::LayerKind::Blockwise, state_params, {{state, fdeps}},
                            grid_with(in, g, range_sizes, 0), info.result_dtype, nullptr, 0});
}

graph::LayerPtr median_layers(const Plan& plan, bool skipna) {
  const DataArray& a = plan.a;
  const std::size_t g = plan.axis, rank = a.ndim();
  const ChunkGrid& in = a.chunks();
  const std::int64_t cap = std::max<std::int64_t>(1, *std::max_element(in.chunks(g).begin(), in.chunks(g).end()));

  // Consecutive groups share a gathered chunk while it stays within an input chunk's extent.
  std::vector<std::int64_t> indices, gathered_sizes, range_sizes, group_sizes;
  Table table;
  for (std::int64_t k = 0; k < plan.groups; ++k) {
    const auto& m = plan.members[static_cast<std::size_t>(k)];
    const auto lo = in.chunk_of(g, m.front()), hi = in.chunk_of(g, m.back()) + 1;
    const auto n = static_cast<std::int64_t>(m.size());
    if (!gathered_sizes.empty() && gathered_sizes.back() + n <= cap) {
      gathered_sizes.back() += n;
      ++range_sizes.back();
      table.back() = {std::min(table.back().first, lo), std::max(table.back().second, hi)};
    } else {
      gathered_sizes.push_back(n);
      range_sizes.push_back(1);
      table.emplace_back(lo, hi);
    }
    indices.insert(indices.end(), m.begin(), m.end());
    group_sizes.push_back(n);
  }
  nlohmann::json axes = nlohmann::json::array();
  std::vector<graph::AxisDep> deps;
  for (std::size_t ax = 0; ax < rank; ++ax) {
    if (ax == g) {
      axes.push_back({{"out_axis", ax}, {"indices", indices}});
      deps.push_back(graph::AxisDep::from_table(static_cast<int>(ax), std::move(table)));
    } else {
      axes.push_back({{"out_axis", ax}, {"start", 0}, {"step", 1}});
      deps.push_back(graph::AxisDep::identity(static_cast<int>(ax)));
    }
  }
  auto gathered = graph::make_layer({"groupby-gather", "gather", graph::LayerKind::General, {{"axes", std::move(axes)}},
                                     {{a.layer(), std::move(deps)}}, grid_with(in, g, gathered_sizes, 0), a.dtype(),
                                     nullptr, 0});
  std::vector<graph::AxisDep> mdeps;
  for (std::size_t ax = 0; ax < rank; ++ax) mdeps.push_back(graph::AxisDep::identity(static_cast<int>(ax)));
  nlohmann::json params{{"axes", std::vector<int>{static_cast<int>(g)}}, {"skipna", skipna}, {"sizes", group_sizes}};
  return graph::make_layer({"groupby-median", "group_median", graph::LayerKind::Blockwise, std::move(params),
                            {{gathered, std::move(mdeps)}}, grid_with(in, g, range_sizes, 0),
                            kernels::median_dtype(a.dtype()), nullptr, 0});
}

}  // namespace

DataArray GroupBy::reduce(const std::string& reduction, const ReduceOptions& o) const {
  const DataArray& a = array_;
  const bool median = reduction == "median";
  try {
    if (median) kernels::median_dtype(a.dtype());
    else kernels::reduction_info(kernels::parse_reduction(reduction), a.dtype());
  } catch (const TypeError& e) {
    throw TypeError(fmt::format("groupby {} of {}: {}", reduction, array_name(a), e.what()));
  }
  if (o.ddof < 0) throw ValueError(fmt::format("groupby {}: ddof must be >= 0, got {}", reduction, o.ddof));
  const bool skipna = o.skipna.value_or(is_float(a.dtype()));  // xarray: skip NaN by default for floats only

  Plan plan{a, a.axis(dim_), num_groups(), std::vector<std::vector<std::int64_t>>(static_cast<std::size_t>(num_groups()))};
  for (std::size_t i = 0; i < group_of_.size(); ++i)
    if (group_of_[i] >= 0) plan.members[static_cast<std::size_t>(group_of_[i])].push_back(static_cast<std::int64_t>(i));
  graph::LayerPtr layer = median ? median_layers(plan, skipna) : tree_layers(plan, reduction, group_of_, skipna, o.ddof);

  // Coordinates along the grouped dimension are reduced away; the labels take their place.
  std::vector<std::string> dims = a.dims();
  dims[plan.axis] = name_;
  Coords coords;
  for (const auto& [cname, c] : a.coords())
    if (std::find(c.dims().begin(), c.dims().end(), dim_) == c.dims().end()) coords.set(cname, c);
  coords.set(name_, labels_);
  return ArrayBuilder::make(a.name(), std::move(dims), std::move(coords), a.attrs(), std::move(layer));
}

}  // namespace cubist
