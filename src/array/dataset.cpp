// Dataset: named variables over shared dimensions and coordinates. Each variable is kept with the
// dataset's coordinates that fit its dims attached, so ds["a"] is a complete DataArray (as xarray
// gives); operations apply per variable and compute() runs every variable in one graph.
#include <algorithm>
#include <fmt/format.h>

#include "array/builder.hpp"
#include "array/execution.hpp"
#include "cubist/dataset.hpp"
#include "cubist/error.hpp"

namespace cubist {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

std::vector<std::string> names_of(const DimSizes& sizes) {
  std::vector<std::string> out;
  for (const auto& [d, n] : sizes) out.push_back(d);
  return out;
}

// A lazy array over every dimension of the dataset that carries its coordinates through isel/sel,
// so the dataset's coordinates are indexed by exactly the code that indexes variables. Its one
// "full" chunk is never computed.
DataArray coordinate_carrier(const DimSizes& dims, const Coords& coords) {
  std::vector<std::string> names;
  std::vector<std::vector<std::int64_t>> chunks;
  for (const auto& [d, n] : dims) {
    names.push_back(d);
    chunks.push_back({n});
  }
  graph::LayerSpec spec;
  spec.label = "coords";
  spec.op = "full";
  spec.kind = graph::LayerKind::Source;
  spec.params = {{"value", 0}};
  spec.grid = ChunkGrid(std::move(chunks));
  spec.dtype = DType::Bool;
  return ArrayBuilder::make("", std::move(names), coords, Attrs::object(), graph::make_layer(std::move(spec)));
}

template <class Indexer>
std::vector<std::pair<std::string, Indexer>> restrict_to(const std::vector<std::pair<std::string, Indexer>>& indexers,
                                                         const std::vector<std::string>& dims) {
  std::vector<std::pair<std::string, Indexer>> out;
  for (const auto& p : indexers)
    if (contains(dims, p.first)) out.push_back(p);
  return out;
}

}  // namespace

Dataset::Dataset(std::vector<std::pair<std::string, DataArray>> data_vars, Coords coords, Attrs attrs)
    : coords_(std::move(coords)), attrs_(attrs.is_object() ? std::move(attrs) : Attrs::object()) {
  // Sizes seen so far, with the variable that set each (for the error message).
  std::vector<std::pair<std::string, std::pair<std::int64_t, std::string>>> sizes;
  auto size_of = [&](const std::string& d) -> std::pair<std::int64_t, std::string>* {
    for (auto& [n, s] : sizes)
      if (n == d) return &s;
    return nullptr;
  };
  for (const auto& [name, v] : data_vars) {
    if (name.empty()) throw ValueError("Dataset: a data variable has an empty name");
    if (!v.layer()) throw ValueError(fmt::format("Dataset: data variable '{}' is an empty DataArray", name));
    for (const auto& other : vars_)
      if (other.first == name) throw ValueError(fmt::format("Dataset: data variable '{}' is given twice", name));
    for (const auto& [d, n] : v.sizes()) {
      if (auto* s = size_of(d)) {
        if (s->first != n)
          throw DimensionError(fmt::format("Dataset: variable '{}' has dimension '{}' of size {} but variable '{}' has {}",
                                           name, d, n, s->second, s->first));
      } else {
        sizes.push_back({d, {n, name}});
      }
    }
    // The variable's own coordinates join the dataset's; the same name must hold the same labels.
    for (const auto& [cn, c] : v.coords()) {
      if (!coords_.contains(cn)) coords_.set(cn, c);
      else if (!coords_.at(cn).equals(c))
        throw ValueError(fmt::format("Dataset: coordinate '{}' of variable '{}' differs from the dataset's '{}'", cn, name, cn));
    }
    vars_.emplace_back(name, v);
  }
  // Coordinates must lie on dimensions the variables use, with their sizes (or define new dims).
  for (const auto& [cn, c] : coords_) {
    const Shape cs = c.shape();
    for (std::size_t k = 0; k < c.dims().size(); ++k) {
      const auto& d = c.dims()[k];
      if (auto* s = size_of(d)) {
        if (s->first != cs[k])
          throw DimensionError(fmt::format("Dataset: coordinate '{}' has {} values along '{}' but variable '{}' has {}", cn,
                                           cs[k], d, s->second, s->first));
      } else {
        sizes.push_back({d, {cs[k], fmt::format("coordinate '{}'", cn)}});
      }
    }
  }
  for (auto& [name, v] : vars_)
    v = ArrayBuilder::make(name, v.dims(), coords_on(coords_, v.dims()), v.attrs(), v.layer());
}

const DataArray& Dataset::operator[](const std::string& name) const {
  for (const auto& [n, v] : vars_)
    if (n == name) return v;
  throw KeyError(fmt::format("no data variable named '{}' (data variables: {})", name,
                             vars_.empty() ? "none" : fmt::format("{}", fmt::join(data_vars(), ", "))));
}

bool Dataset::contains(const std::string& name) const {
  return std::any_of(vars_.begin(), vars_.end(), [&](const auto& p) { return p.first == name; });
}

std::vector<std::string> Dataset::data_vars() const {
  std::vector<std::string> out;
  for (const auto& [n, v] : vars_) out.push_back(n);
  return out;
}

DimSizes Dataset::dims() const {
  DimSizes out;
  auto add = [&](const std::string& d, std::int64_t n) {
    if (std::none_of(out.begin(), out.end(), [&](const auto& p) { return p.first == d; })) out.emplace_back(d, n);
  };
  for (const auto& [n, v] : vars_)
    for (const auto& [d, s] : v.sizes()) add(d, s);
  for (const auto& [n, c] : coords_) {  // dimensions only a coordinate uses come last
    const Shape cs = c.shape();
    for (std::size_t k = 0; k < c.dims().size(); ++k) add(c.dims()[k], cs[k]);
  }
  return out;
}

Dataset Dataset::assign(const std::string& name, DataArray var) const {
  auto vars = vars_;
  auto it = std::find_if(vars.begin(), vars.end(), [&](const auto& p) { return p.first == name; });
  if (it != vars.end()) it->second = std::move(var);
  else vars.emplace_back(name, std::move(var));
  return Dataset(std::move(vars), coords_, attrs_);
}

Dataset Dataset::assign_attrs(Attrs attrs) const {
  if (!attrs.is_object()) throw ValueError("assign_attrs: attributes must be a JSON object");
  Dataset ds = *this;
  ds.attrs_.update(attrs);
  return ds;
}

Dataset Dataset::drop_vars(const std::vector<std::string>& names) const {
  for (const auto& n : names)
    if (!contains(n) && !coords_.contains(n))
      throw KeyError(fmt::format("drop_vars: no variable or coordinate named '{}'", n));
  std::vector<std::pair<std::string, DataArray>> vars;
  for (const auto& [n, v] : vars_) {
    if (cubist::contains(names, n)) continue;
    Coords kept;  // a dropped coordinate leaves the variables too
    for (const auto& [cn, c] : v.coords())
      if (!cubist::contains(names, cn)) kept.set(cn, c);
    vars.emplace_back(n, ArrayBuilder::make(n, v.dims(), std::move(kept), v.attrs(), v.layer()));
  }
  Coords coords;
  for (const auto& [cn, c] : coords_)
    if (!cubist::contains(names, cn)) coords.set(cn, c);
  return Dataset(std::move(vars), std::move(coords), attrs_);
}

Dataset Dataset::reduce(const std::string& reduction, const Dims& dims, const ReduceOptions& o) const {
  const auto all = names_of(this->dims());
  for (const auto& d : dims.names)
    if (!cubist::contains(all, d))
      throw DimensionError(fmt::format("{}: dimension '{}' not found (dims: {})", reduction, d, fmt::join(all, ", ")));
  const std::vector<std::string> reduced = dims.names.empty() ? all : dims.names;
  std::vector<std::pair<std::string, DataArray>> vars;
  for (const auto& [n, v] : vars_) {
    std::vector<std::string> mine;
    for (const auto& d : reduced)
      if (v.has_dim(d)) mine.push_back(d);
    // A variable without any reduced dim is left as it is (xarray); a reduction with no dims
    // would mean "all of them" to DataArray::reduce.
    vars.emplace_back(n, mine.empty() ? v : v.reduce(reduction, Dims(mine), o));
  }
  std::vector<std::string> kept;
  for (const auto& d : all)
    if (!cubist::contains(reduced, d)) kept.push_back(d);
  // Attributes are dropped, as xarray's reductions do by default.
  return Dataset(std::move(vars), coords_on(coords_, kept));
}

Dataset Dataset::chunk(const ChunkSpec& spec) const {
  const auto all = names_of(dims());
  for (const auto& [d, s] : spec.dims)
    if (!cubist::contains(all, d))
      throw DimensionError(fmt::format("chunk: dimension '{}' not found (dims: {})", d, fmt::join(all, ", ")));
  std::vector<std::pair<std::string, DataArray>> vars;
  for (const auto& [n, v] : vars_) {
    ChunkSpec mine = spec;
    mine.dims.clear();
    for (const auto& p : spec.dims)
      if (v.has_dim(p.first)) mine.dims.push_back(p);
    vars.emplace_back(n, mine.all_auto || !mine.dims.empty() ? v.chunk(mine) : v);
  }
  return Dataset(std::move(vars), coords_, attrs_);
}

Dataset Dataset::isel(const Indexers& indexers) const {
  // The carrier checks the dims (DimensionError naming the unknown one) and indexes the coordinates.
  const DataArray carrier = coordinate_carrier(dims(), coords_).isel(indexers);
  std::vector<std::pair<std::string, DataArray>> vars;
  for (const auto& [n, v] : vars_) {
    auto mine = restrict_to(indexers, v.dims());
    vars.emplace_back(n, mine.empty() ? v : v.isel(mine));
  }
  return Dataset(std::move(vars), carrier.coords(), attrs_);
}

Dataset Dataset::sel(const LabelIndexers& indexers, const SelOptions& options) const {
  // Every variable holds the index coordinates of its dims, so each selects the same positions.
  const DataArray carrier = coordinate_carrier(dims(), coords_).sel(indexers, options);
  std::vector<std::pair<std::string, DataArray>> vars;
  for (const auto& [n, v] : vars_) {
    auto mine = restrict_to(indexers, v.dims());
    vars.emplace_back(n, mine.empty() ? v : v.sel(mine, options));
  }
  return Dataset(std::move(vars), carrier.coords(), attrs_);
}

Dataset Dataset::compute(const ComputeOptions& options, ComputeStats* stats) const {
  std::vector<graph::LayerPtr> outputs;
  std::vector<std::size_t> lazy;  // variables that need running, in order
  for (std::size_t i = 0; i < vars_.size(); ++i)
    if (!vars_[i].second.in_memory()) {
      lazy.push_back(i);
      outputs.push_back(vars_[i].second.layer());
    }
  Dataset ds = *this;
  if (lazy.empty()) {
    if (stats) *stats = {};
    return ds;
  }
  // One run for all variables: inputs they share are computed once.
  auto chunks = run_layers(outputs, options, stats);
  for (std::size_t k = 0; k < lazy.size(); ++k) {
    DataArray& v = ds.vars_[lazy[k]].second;
    const auto& layer = v.layer();
    Chunk all = assemble_chunks(chunks[k], layer->grid, layer->dtype);
    v = ArrayBuilder::with_layer(v, ArrayBuilder::literal_layer({all}, ChunkGrid::regular(all.shape(), all.shape()), layer->dtype));
  }
  return ds;
}

}  // namespace cubist
