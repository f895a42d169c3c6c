// Reductions over named dims as a dask-style tree: partial per chunk, combine levels, finalize.
#include <cmath>
#include <fmt/format.h>

#include "array/builder.hpp"
#include "array/chunking.hpp"
#include "cubist/error.hpp"
#include "kernels/reduction.hpp"

namespace cubist {
namespace {

constexpr std::int64_t kSplitEvery = 16;  // partials combined per task, as dask's default

std::vector<int> reduced_axes(const DataArray& a, const Dims& dims, const char* what) {
  std::vector<int> axes;
  if (dims.names.empty()) {
    for (std::size_t i = 0; i < a.ndim(); ++i) axes.push_back(static_cast<int>(i));
    return axes;
  }
  for (const auto& d : dims.names) {
    if (!a.has_dim(d))
      throw DimensionError(fmt::format("{}: dimension '{}' not found (dims: {})", what, d, fmt::join(a.dims(), ", ")));
    int ax = static_cast<int>(a.axis(d));
    if (std::find(axes.begin(), axes.end(), ax) != axes.end())
      throw DimensionError(fmt::format("{}: dimension '{}' given twice", what, d));
    axes.push_back(ax);
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

DataArray reduced_result(const DataArray& a, const std::vector<int>& axes, graph::LayerPtr layer) {
  std::vector<std::string> kept;
  for (std::size_t i = 0; i < a.ndim(); ++i)
    if (std::find(axes.begin(), axes.end(), static_cast<int>(i)) == axes.end()) kept.push_back(a.dims()[i]);
  return DataArray::from_layer(std::move(layer), kept, coords_on(a.coords(), kept), Attrs::object(), a.name());
}

// xarray skips NaN by default only for float data ("cfO" kinds); datetime64 NaT propagates.
bool default_skipna(DType t, const ReduceOptions& o) { return o.skipna.value_or(is_float(t)); }

DataArray tree_reduce(const DataArray& a, const std::string& name, const Dims& dims, const ReduceOptions& o) {
  if (!a.layer()) throw ValueError(fmt::format("{}: empty DataArray", name));
  auto r = kernels::parse_reduction(name);
  auto axes = reduced_axes(a, dims, name.c_str());
  kernels::ReductionInfo info;
  try {
    info = kernels::reduction_info(r, a.dtype());
  } catch (const Error& e) {
    throw TypeError(fmt::format("{} of '{}': {}", name, a.name().empty() ? "array" : a.name(), e.what()));
  }
  if (o.ddof < 0) throw ValueError(fmt::format("{}: ddof must be >= 0, got {}", name, o.ddof));
  nlohmann::json params{{"reduction", name}, {"axes", axes}, {"skipna", default_skipna(a.dtype(), o)}, {"ddof", o.ddof}};
  const ChunkGrid& in = a.chunks();
  const std::size_t rank = a.ndim();
  auto is_reduced = [&](std::size_t ax) { return std::find(axes.begin(), axes.end(), static_cast<int>(ax)) != axes.end(); };

  // Partial: one state chunk per input chunk; reduced axes keep one entry per input chunk.
  std::vector<std::vector<std::int64_t>> pchunks{{info.fields}};
  std::vector<graph::AxisDep> deps;
  for (std::size_t ax = 0; ax < rank; ++ax) {
    pchunks.push_back(is_reduced(ax) ? std::vector<std::int64_t>(static_cast<std::size_t>(in.num_chunks(ax)), 1) : in.chunks(ax));
    deps.push_back(graph::AxisDep::identity(static_cast<int>(ax + 1)));
  }
  graph::LayerPtr state = graph::make_layer({name + "-partial", "reduce_partial", graph::LayerKind::Blockwise, params,
                                             {{a.layer(), deps}}, ChunkGrid(pchunks), info.state_dtype, nullptr, 0});

  // Combine levels until each reduced axis has one state chunk.
  int multi = 0;
  for (auto ax : axes) multi += state->grid.num_chunks(static_cast<std::size_t>(ax) + 1) > 1;
  while (multi > 0) {
    auto block = std::max<std::int64_t>(2, static_cast<std::int64_t>(std::floor(std::pow(kSplitEvery, 1.0 / multi) + 1e-9)));
    std::vector<std::vector<std::int64_t>> cchunks{{info.fields}};
    std::vector<graph::AxisDep> cdeps{graph::AxisDep::identity(0)};
    multi = 0;
    for (std::size_t ax = 0; ax < rank; ++ax) {
      const auto n = state->grid.num_chunks(ax + 1);
      if (is_reduced(ax) && n > 1) {
        auto m = (n + block - 1) / block;
        cchunks.emplace_back(static_cast<std::size_t>(m), 1);
        cdeps.push_back(graph::AxisDep::blocks(static_cast<int>(ax + 1), block));
        multi += m > 1;
      } else {
        cchunks.push_back(state->grid.chunks(ax + 1));
        cdeps.push_back(graph::AxisDep::identity(static_cast<int>(ax + 1)));
      }
    }
    state = graph::make_layer({name + "-combine", "reduce_combine", graph::LayerKind::General, params,
                               {{state, cdeps}}, ChunkGrid(cchunks), info.state_dtype, nullptr, 0});
  }

  // Finalize: drop the field axis and the reduced axes.
  std::vector<std::vector<std::int64_t>> fchunks;
  std::vector<graph::AxisDep> fdeps{graph::AxisDep::all()};
  for (std::size_t ax = 0; ax < rank; ++ax) {
    if (is_reduced(ax)) {
      fdeps.push_back(graph::AxisDep::all());
    } else {
      fdeps.push_back(graph::AxisDep::identity(static_cast<int>(fchunks.size())));
      fchunks.push_back(in.chunks(ax));
    }
  }
  auto result = graph::make_layer({name, "reduce_finalize", graph::LayerKind::Blockwise, params, {{state, fdeps}},
                                   ChunkGrid(fchunks), info.result_dtype, nullptr, 0});
  return reduced_result(a, axes, std::move(result));
}

}  // namespace

DataArray DataArray::reduce(const std::string& reduction, const Dims& dims, const ReduceOptions& o) const {
  if (reduction == "median") return median(dims, o);
  return tree_reduce(*this, reduction, dims, o);
}

DataArray DataArray::mean(const Dims& dims, const ReduceOptions& o) const { return tree_reduce(*this, "mean", dims, o); }
DataArray DataArray::sum(const Dims& dims, const ReduceOptions& o) const { return tree_reduce(*this, "sum", dims, o); }
DataArray DataArray::min(const Dims& dims, const ReduceOptions& o) const { return tree_reduce(*this, "min", dims, o); }
DataArray DataArray::max(const Dims& dims, const ReduceOptions& o) const { return tree_reduce(*this, "max", dims, o); }
DataArray DataArray::std(const Dims& dims, const ReduceOptions& o) const { return tree_reduce(*this, "std", dims, o); }
DataArray DataArray::var(const Dims& dims, const ReduceOptions& o) const { return tree_reduce(*this, "var", dims, o); }
DataArray DataArray::count(const Dims& dims) const { return tree_reduce(*this, "count", dims, {}); }

DataArray DataArray::median(const Dims& dims, const ReduceOptions& o) const {
  if (!layer_) throw ValueError("median: empty DataArray");
  auto axes = reduced_axes(*this, dims, "median");
  DType result;
  try {
    result = kernels::median_dtype(dtype());
  } catch (const Error& e) {
    throw TypeError(fmt::format("median of '{}': {}", name_.empty() ? "array" : name_, e.what()));
  }
  // Median is not tree-reducible: like dask, rechunk so every reduced axis is one chunk.
  std::vector<std::vector<std::int64_t>> want = chunks().all_chunks();
  for (auto ax : axes) want[static_cast<std::size_t>(ax)] = {shape()[static_cast<std::size_t>(ax)]};
  auto source = ArrayBuilder::rechunk_layer(layer_, ChunkGrid(want));
  std::vector<std::vector<std::int64_t>> out;
  std::vector<graph::AxisDep> deps;
  for (std::size_t ax = 0; ax < ndim(); ++ax) {
    if (std::find(axes.begin(), axes.end(), static_cast<int>(ax)) != axes.end()) {
      deps.push_back(graph::AxisDep::all());
    } else {
      deps.push_back(graph::AxisDep::identity(static_cast<int>(out.size())));
      out.push_back(want[ax]);
    }
  }
  nlohmann::json params{{"axes", axes}, {"skipna", default_skipna(dtype(), o)}};
  auto layer = graph::make_layer({"median", "median", graph::LayerKind::Blockwise, params, {{source, deps}},
                                  ChunkGrid(out), result, nullptr, 0});
  return reduced_result(*this, axes, std::move(layer));
}

}  // namespace cubist
