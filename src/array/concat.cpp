// concat: xr.concat(arrays, dim) along an existing dimension, lazily, as dask.array.concatenate
// builds it: the output's chunks along `dim` are the inputs' chunks one after the other, so each
// output chunk is exactly one input chunk and the "concat" op hands it on without copying. The
// other axes are first brought to the common refinement of the inputs' chunks (dask's
// unify_chunks), which is the only copy the chunking needs.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "array/builder.hpp"
#include "cubist/error.hpp"
#include "kernels/op_registry.hpp"

namespace cubist {
namespace {

// Op "concat": each output chunk is fed by exactly one chunk of one input (Table deps along the
// concatenated axis, empty for every other input), which is passed on as it is.
std::shared_ptr<const void> prepare_concat(const nlohmann::json&, const kernels::OpSignature& sig) {
  for (DType t : sig.input_dtypes)
    if (t != sig.out_dtype) throw ValueError("concat: every input must have the output's dtype");
  return std::make_shared<int>(0);
}

Chunk run_concat(const kernels::TaskContext& ctx) {
  if (ctx.inputs.size() != 1) throw ValueError(fmt::format("concat: expected one input chunk, got {}", ctx.inputs.size()));
  const Chunk& c = *ctx.inputs[0].chunk;
  if (c.shape() != ctx.shape()) throw ValueError("concat: the input chunk does not match the output chunk");
  return c;
}

const kernels::OpRegistration kRegisterConcat{kernels::OpDef{"concat", prepare_concat, run_concat, true}};

std::string index_text(std::size_t i) { return fmt::format("array {}", i); }

// Concatenates C-contiguous chunks along `axis` (coordinate values).
Chunk concat_chunks(const std::vector<Chunk>& parts, std::size_t axis, DType dtype) {
  Shape shape = parts.front().shape();
  shape[axis] = 0;
  for (const auto& p : parts) shape[axis] += p.shape()[axis];
  Chunk out = Chunk::allocate(dtype, shape);
  std::int64_t outer = 1;
  for (std::size_t a = 0; a < axis; ++a) outer *= shape[a];
  std::int64_t inner = 1;
  for (std::size_t a = axis + 1; a < shape.size(); ++a) inner *= shape[a];
  const std::size_t item = itemsize(dtype);
  auto* dst = static_cast<std::byte*>(out.mutable_raw());
  for (std::int64_t o = 0; o < outer; ++o)
    for (const auto& p : parts) {
      const Chunk c = p.contiguous();
      const auto n = static_cast<std::size_t>(c.shape()[axis] * inner) * item;
      std::memcpy(dst, static_cast<const std::byte*>(c.raw()) + static_cast<std::size_t>(o) * n, n);
      dst += n;
    }
  return out;
}

// One coordinate along `dim` made of every input's coordinate of that name.
Coordinate concat_coordinate(const std::string& name, const std::vector<const Coordinate*>& parts, const std::string& dim) {
  const Coordinate& first = *parts.front();
  const auto& cdims = first.dims();
  const auto axis = static_cast<std::size_t>(std::find(cdims.begin(), cdims.end(), dim) - cdims.begin());
  for (std::size_t i = 1; i < parts.size(); ++i) {
    if (parts[i]->dims() != cdims)
      throw ValueError(fmt::format("concat: coordinate '{}' has dims ({}) in array 0 but ({}) in {}", name, fmt::join(cdims, ", "),
                                   fmt::join(parts[i]->dims(), ", "), index_text(i)));
    if (parts[i]->is_string() != first.is_string())
      throw TypeError(fmt::format("concat: coordinate '{}' holds strings in some arrays and numbers in others", name));
  }
  if (first.is_string()) {
    if (cdims.size() != 1)
      throw ValueError(fmt::format("concat: string coordinate '{}' has {} dims; only 1-d string coordinates can be concatenated",
                                   name, cdims.size()));
    std::vector<std::string> all;
    for (const auto* p : parts) all.insert(all.end(), p->string_values().begin(), p->string_values().end());
    return Coordinate::strings(cdims[0], std::move(all), first.attrs());
  }
  const bool same = std::all_of(parts.begin(), parts.end(), [&](auto* p) { return p->dtype() == first.dtype(); });
  const bool any_time = std::any_of(parts.begin(), parts.end(), [](auto* p) { return p->dtype() == DType::DateTime64; });
  if (!same && any_time)
    throw TypeError(fmt::format("concat: coordinate '{}' holds datetimes in some arrays and numbers in others", name));
  // Mixed numeric types meet in float64 (coordinates are small).
  const DType dtype = same ? first.dtype() : DType::Float64;
  std::vector<Chunk> values;
  for (const auto* p : parts) {
    if (same) {
      values.push_back(p->values());
      continue;
    }
    Chunk c = Chunk::allocate(DType::Float64, p->shape());
    auto v = c.mutable_values<double>();
    for (std::int64_t k = 0; k < p->size(); ++k) v[static_cast<std::size_t>(k)] = p->numeric_value(k);
    values.push_back(std::move(c));
  }
  return Coordinate(cdims, concat_chunks(values, axis, dtype), first.attrs());
}

// The coordinates of the result (xarray's concat with its defaults): coordinates along `dim` are
// concatenated; the others must be equal in every array, except scalar ones that differ, which
// become a coordinate along `dim` (each array's value repeated over its length).
Coords concat_coords(const std::vector<DataArray>& arrays, const std::string& dim) {
  Coords out;
  for (const auto& [name, c] : arrays.front().coords()) {
    std::vector<const Coordinate*> parts;
    for (std::size_t i = 0; i < arrays.size(); ++i) {
      if (!arrays[i].coords().contains(name))
        throw ValueError(fmt::format("concat: coordinate '{}' is in array 0 but not in {}", name, index_text(i)));
      parts.push_back(&arrays[i].coords().at(name));
    }
    const bool along = std::find(c.dims().begin(), c.dims().end(), dim) != c.dims().end();
    if (along) {
      out.set(name, concat_coordinate(name, parts, dim));
      continue;
    }
    const bool equal = std::all_of(parts.begin(), parts.end(), [&](const Coordinate* p) { return p->equals(c); });
    if (equal) {
      out.set(name, c);
      continue;
    }
    if (!c.dims().empty())
      throw ValueError(fmt::format("concat: coordinate '{}' differs between the arrays and does not lie along '{}'", name, dim));
    std::vector<Coordinate> repeated;
    std::vector<const Coordinate*> ptrs;
    for (std::size_t i = 0; i < arrays.size(); ++i) {
      const Coordinate& p = *parts[i];
      const std::vector<std::int64_t> zeros(static_cast<std::size_t>(arrays[i].size(dim)), 0);
      Coordinate one;
      if (p.is_string()) {
        one = Coordinate::strings(dim, p.string_values(), p.attrs());
      } else {
        Chunk v = Chunk::allocate(p.dtype(), {1});
        std::memcpy(v.mutable_raw(), p.values().contiguous().raw(), itemsize(p.dtype()));
        one = Coordinate({dim}, std::move(v), p.attrs());
      }
      repeated.push_back(one.take(0, zeros, false));
    }
    for (const auto& r : repeated) ptrs.push_back(&r);
    out.set(name, concat_coordinate(name, ptrs, dim));
  }
  for (std::size_t i = 1; i < arrays.size(); ++i)
    for (const auto& [name, c] : arrays[i].coords())
      if (!out.contains(name))
        throw ValueError(fmt::format("concat: coordinate '{}' is in {} but not in array 0", name, index_text(i)));
  return out;
}

// dask's common_blockdim: every chunk boundary of every input along one axis.
std::vector<std::int64_t> common_chunks(const std::vector<std::vector<std::int64_t>>& all) {
  std::set<std::int64_t> bounds;
  std::int64_t extent = 0;
  for (const auto& sizes : all) {
    std::int64_t off = 0;
    for (auto s : sizes) bounds.insert(off += s);
    extent = off;
  }
  std::vector<std::int64_t> out;
  std::int64_t prev = 0;
  for (auto b : bounds) {
    if (b == 0) continue;
    out.push_back(b - prev);
    prev = b;
  }
  if (out.empty()) out.push_back(extent);
  return out;
}

}  // namespace

DataArray concat(const std::vector<DataArray>& input, const std::string& dim) {
  if (input.empty()) throw ValueError("concat: no arrays to concatenate");
  const DataArray& first = input.front();
  if (!first.has_dim(dim))
    throw DimensionError(fmt::format("concat: array 0 has no dimension '{}' (dims: {}); concat joins along an existing dimension",
                                     dim, fmt::join(first.dims(), ", ")));
  const std::vector<std::string>& dims = first.dims();
  DType dtype = first.dtype();
  std::vector<DataArray> arrays;
  for (std::size_t i = 0; i < input.size(); ++i) {
    const DataArray& a = input[i];
    for (const auto& d : dims)
      if (!a.has_dim(d)) throw DimensionError(fmt::format("concat: {} has no dimension '{}' (dims: {})", index_text(i), d, fmt::join(a.dims(), ", ")));
    for (const auto& d : a.dims())
      if (!first.has_dim(d)) throw DimensionError(fmt::format("concat: {} has dimension '{}', which array 0 lacks", index_text(i), d));
    for (const auto& d : dims) {
      if (d == dim) continue;
      if (a.size(d) != first.size(d))
        throw DimensionError(fmt::format("concat: dimension '{}' has size {} in array 0 but {} in {}", d, first.size(d), a.size(d), index_text(i)));
      const bool c0 = first.coords().contains(d), ci = a.coords().contains(d);
      if (c0 && ci && !first.coords().at(d).equals(a.coords().at(d)))
        throw DimensionError(fmt::format("concat: the labels of dimension '{}' differ between array 0 and {}", d, index_text(i)));
    }
    if (a.dtype() == DType::DateTime64 || dtype == DType::DateTime64) {
      if (a.dtype() != dtype) throw TypeError(fmt::format("concat: {} is {} but array 0 is {}", index_text(i), dtype_name(a.dtype()), dtype_name(dtype)));
    }
    dtype = promote_types(dtype, a.dtype());
    arrays.push_back(a.dims() == dims ? a : a.transpose(dims));
  }
  for (auto& a : arrays)
    if (a.dtype() != dtype) a = a.astype(dtype);
  const Coords coords = concat_coords(arrays, dim);

  const std::size_t axis = first.axis(dim);
  std::vector<std::vector<std::int64_t>> grid_chunks(dims.size());
  for (std::size_t a = 0; a < dims.size(); ++a) {
    if (a == axis) continue;
    std::vector<std::vector<std::int64_t>> all;
    for (const auto& x : arrays) all.push_back(x.chunks().chunks(a));
    grid_chunks[a] = common_chunks(all);
  }
  graph::LayerSpec spec;
  spec.label = "concat";
  spec.op = "concat";
  spec.kind = graph::LayerKind::General;
  spec.params = {{"axis", axis}};
  spec.dtype = dtype;
  for (const auto& x : arrays) {
    std::vector<std::vector<std::int64_t>> own = grid_chunks;
    own[axis] = x.chunks().chunks(axis);
    const graph::LayerPtr source = ArrayBuilder::rechunk_layer(x.layer(), ChunkGrid(own));
    if (x.size(dim) == 0) continue;  // contributes no chunk
    std::vector<graph::AxisDep> deps;
    for (std::size_t a = 0; a < dims.size(); ++a) deps.push_back(graph::AxisDep::identity(static_cast<int>(a)));
    deps[axis] = graph::AxisDep::from_table(static_cast<int>(axis), {});
    spec.inputs.push_back({source, std::move(deps)});
    for (auto s : own[axis]) grid_chunks[axis].push_back(s);
  }
  if (spec.inputs.empty()) return ArrayBuilder::make(first.name(), dims, coords, first.attrs(), arrays.front().layer());
  // Along `axis`, output chunk c reads chunk c - begin of the input it falls in, nothing of the others.
  const auto total = static_cast<std::int64_t>(grid_chunks[axis].size());
  std::int64_t begin = 0;
  for (auto& in : spec.inputs) {
    const std::int64_t n = in.layer->grid.num_chunks(axis);
    std::vector<std::pair<std::int64_t, std::int64_t>> table(static_cast<std::size_t>(total), {0, 0});
    for (std::int64_t c = 0; c < n; ++c) table[static_cast<std::size_t>(begin + c)] = {c, c + 1};
    in.axes[axis].table = std::move(table);
    begin += n;
  }
  spec.grid = ChunkGrid(std::move(grid_chunks));
  return ArrayBuilder::make(first.name(), dims, coords, first.attrs(), graph::make_layer(std::move(spec)));
}

}  // namespace cubist
