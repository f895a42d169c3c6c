#include <atomic>
#include <fmt/format.h>

#include "array/builder.hpp"
#include "cubist/error.hpp"
#include "graph/task_graph.hpp"

namespace cubist {

DataArray ArrayBuilder::make(std::string name, std::vector<std::string> dims, Coords coords, Attrs attrs,
                             graph::LayerPtr layer) {
  DataArray a;
  a.name_ = std::move(name);
  a.dims_ = std::move(dims);
  a.coords_ = std::move(coords);
  a.attrs_ = attrs.is_object() ? std::move(attrs) : Attrs::object();
  a.layer_ = std::move(layer);
  return a;
}

DataArray ArrayBuilder::with_layer(const DataArray& like, graph::LayerPtr layer) {
  return make(like.name(), like.dims(), like.coords(), like.attrs(), std::move(layer));
}

graph::LayerPtr ArrayBuilder::literal_layer(std::vector<Chunk> chunks, ChunkGrid grid, DType dtype) {
  static std::atomic<std::uint64_t> counter{0};
  // In-memory data is not hashed (that would read it all): each literal gets a fresh identity.
  std::uint64_t token = (static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&counter)) << 20) ^ ++counter;
  graph::LayerSpec spec;
  spec.label = "array";
  spec.op = "literal";
  spec.kind = graph::LayerKind::Source;
  spec.grid = std::move(grid);
  spec.dtype = dtype;
  spec.literal = std::make_shared<const std::vector<Chunk>>(std::move(chunks));
  spec.token = token;
  return graph::make_layer(std::move(spec));
}

Coords coords_on(const Coords& coords, const std::vector<std::string>& keep) {
  Coords out;
  for (const auto& [name, c] : coords) {
    bool ok = true;
    for (const auto& d : c.dims())
      if (std::find(keep.begin(), keep.end(), d) == keep.end()) ok = false;
    if (ok) out.set(name, c);
  }
  return out;
}

DataArray::DataArray() = default;

void DataArray::check_buffer_size(std::int64_t given, std::int64_t expected) {
  if (given != expected)
    throw ValueError(fmt::format("buffer holds {} values but the dimensions need {}", given, expected));
}

namespace {
void check_dims(const std::vector<std::string>& dims, const Shape& shape) {
  if (dims.size() != shape.size())
    throw DimensionError(fmt::format("{} dimension names given for data of rank {} (shape {})", dims.size(),
                                     shape.size(), shape_to_string(shape)));
  for (std::size_t i = 0; i < dims.size(); ++i) {
    if (dims[i].empty()) throw DimensionError(fmt::format("dimension {} has an empty name", i));
    for (std::size_t j = 0; j < i; ++j)
      if (dims[i] == dims[j]) throw DimensionError(fmt::format("dimension '{}' appears twice", dims[i]));
  }
}

void check_coords(const Coords& coords, const std::vector<std::string>& dims, const Shape& shape) {
  for (const auto& [name, c] : coords) {
    auto cshape = c.shape();
    for (std::size_t k = 0; k < c.dims().size(); ++k) {
      auto it = std::find(dims.begin(), dims.end(), c.dims()[k]);
      if (it == dims.end())
        throw DimensionError(fmt::format("coordinate '{}' is on dimension '{}' which the array does not have (dims: {})",
                                         name, c.dims()[k], fmt::join(dims, ", ")));
      auto extent = shape[static_cast<std::size_t>(it - dims.begin())];
      if (cshape[k] != extent)
        throw DimensionError(fmt::format("coordinate '{}' has {} values along '{}' but the array has {}", name,
                                         cshape[k], c.dims()[k], extent));
    }
  }
}
}  // namespace

DataArray DataArray::from_chunk(Chunk data, std::vector<std::string> dims, Coords coords, Attrs attrs, std::string name) {
  if (data.empty()) throw ValueError("from_chunk: the chunk holds no data");
  check_dims(dims, data.shape());
  check_coords(coords, dims, data.shape());
  ChunkGrid grid = ChunkGrid::regular(data.shape(), data.shape());
  DType dtype = data.dtype();
  auto layer = ArrayBuilder::literal_layer({std::move(data)}, std::move(grid), dtype);
  return ArrayBuilder::make(std::move(name), std::move(dims), std::move(coords), std::move(attrs), std::move(layer));
}

DataArray DataArray::from_layer(std::shared_ptr<const graph::Layer> layer, std::vector<std::string> dims, Coords coords,
                                Attrs attrs, std::string name) {
  if (!layer) throw ValueError("from_layer: null layer");
  check_dims(dims, layer->grid.shape());
  check_coords(coords, dims, layer->grid.shape());
  return ArrayBuilder::make(std::move(name), std::move(dims), std::move(coords), std::move(attrs), std::move(layer));
}

const Shape& DataArray::shape() const {
  static const Shape empty;
  return layer_ ? layer_->grid.shape() : empty;
}

DimSizes DataArray::sizes() const {
  DimSizes out;
  for (std::size_t i = 0; i < dims_.size(); ++i) out.emplace_back(dims_[i], shape()[i]);
  return out;
}

std::size_t DataArray::axis(const std::string& dim) const {
  for (std::size_t i = 0; i < dims_.size(); ++i)
    if (dims_[i] == dim) return i;
  throw DimensionError(fmt::format("dimension '{}' not found (dims: {})", dim,
                                   dims_.empty() ? "none" : fmt::format("{}", fmt::join(dims_, ", "))));
}

bool DataArray::has_dim(const std::string& dim) const {
  return std::find(dims_.begin(), dims_.end(), dim) != dims_.end();
}
std::int64_t DataArray::size(const std::string& dim) const { return shape()[axis(dim)]; }
std::int64_t DataArray::size() const { return layer_ ? shape_size(shape()) : 0; }
std::size_t DataArray::nbytes() const { return layer_ ? static_cast<std::size_t>(size()) * itemsize(dtype()) : 0; }

DType DataArray::dtype() const {
  if (!layer_) throw ValueError("empty DataArray has no dtype");
  return layer_->dtype;
}

const ChunkGrid& DataArray::chunks() const {
  if (!layer_) throw ValueError("empty DataArray has no chunks");
  return layer_->grid;
}

bool DataArray::in_memory() const { return layer_ && layer_->op == "literal" && layer_->grid.total_chunks() == 1; }

const Chunk& DataArray::memory_chunk() const {
  if (!in_memory())
    throw ValueError(fmt::format("values() needs the data in memory: '{}' is lazy ({} tasks); call compute() first",
                                 name_.empty() ? "array" : name_, num_tasks()));
  return (*layer_->literal)[0];
}

std::size_t DataArray::num_tasks() const {
  if (!layer_) return 0;
  std::size_t n = 0;
  for (const graph::Layer* l : graph::topological_layers({layer_})) n += static_cast<std::size_t>(l->grid.total_chunks());
  return n;
}

DataArray DataArray::rename(std::string name) const {
  DataArray a = *this;
  a.name_ = std::move(name);
  return a;
}

DataArray DataArray::assign_coords(const std::string& name, Coordinate c) const {
  Coords single;
  single.set(name, c);
  check_coords(single, dims_, shape());
  DataArray a = *this;
  a.coords_.set(name, std::move(c));
  return a;
}

DataArray DataArray::assign_attrs(Attrs attrs) const {
  if (!attrs.is_object()) throw ValueError("assign_attrs: attributes must be a JSON object");
  DataArray a = *this;
  a.attrs_.update(attrs);
  return a;
}

ChunkSize::ChunkSize(const char* s) {
  if (std::string_view(s) != "auto") throw ChunkError(fmt::format("chunk size '{}' is not understood (use a number, -1 or \"auto\")", s));
  kind = Kind::Auto;
}

ChunkSpec::ChunkSpec(const char* s) {
  if (std::string_view(s) != "auto") throw ChunkError(fmt::format("chunk spec '{}' is not understood (use \"auto\" or per-dimension sizes)", s));
  all_auto = true;
}

}  // namespace cubist
