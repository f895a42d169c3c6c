// DataArray: a lazy, labelled n-d array (xarray.DataArray backed by a dask-like graph).
// Every operation only builds a graph; compute() runs it on all cores.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "cubist/chunk.hpp"
#include "cubist/chunk_grid.hpp"
#include "cubist/coordinate.hpp"

namespace cubist {

namespace graph { struct Layer; }
class GroupBy;  // cubist/groupby.hpp

// One or more dimension names: mean("time"), mean({"y", "x"}); empty means every dimension.
struct Dims {
  std::vector<std::string> names;
  Dims() = default;
  Dims(const char* name) : names{name} {}
  Dims(std::string name) : names{std::move(name)} {}
  Dims(std::initializer_list<std::string> n) : names(n) {}
  Dims(std::vector<std::string> n) : names(std::move(n)) {}
};

// Dimension names with sizes (or chunk sizes), in order: {{"time", 50}, {"y", 4096}}.
using DimSizes = std::vector<std::pair<std::string, std::int64_t>>;

struct ReduceOptions {
  std::optional<bool> skipna;  // default: true for float data, as xarray
  int ddof = 0;                // std/var: divide by N - ddof
};

// Chunk size for one dimension: a size, -1 for the whole extent, "auto", or explicit sizes.
struct ChunkSize {
  enum class Kind { Size, Full, Auto, Explicit } kind = Kind::Auto;
  std::int64_t size = 0;
  std::vector<std::int64_t> sizes;
  ChunkSize(int s) : ChunkSize(static_cast<std::int64_t>(s)) {}
  ChunkSize(std::int64_t s) : kind(s == -1 ? Kind::Full : Kind::Size), size(s) {}
  ChunkSize(const char* s);  // "auto"
  ChunkSize(std::vector<std::int64_t> s) : kind(Kind::Explicit), sizes(std::move(s)) {}
};

// chunk("auto"), chunk({{"time", 1}, {"y", "auto"}}); dimensions not named keep their chunks.
struct ChunkSpec {
  bool all_auto = false;
  std::vector<std::pair<std::string, ChunkSize>> dims;
  std::int64_t target_bytes = 0;  // 0: config::chunk_size_bytes()
  ChunkSpec(const char* s);       // "auto"
  ChunkSpec(std::initializer_list<std::pair<std::string, ChunkSize>> d) : dims(d) {}
  ChunkSpec(std::vector<std::pair<std::string, ChunkSize>> d) : dims(std::move(d)) {}
};

// Positional indexing (isel).
struct Slice {
  std::optional<std::int64_t> start, stop;
  std::int64_t step = 1;
};
using Indexer = std::variant<std::int64_t, Slice, std::vector<std::int64_t>>;
using Indexers = std::vector<std::pair<std::string, Indexer>>;

// Label indexing (sel): numbers, strings, or datetimes written as ISO text.
struct Label {
  std::variant<double, std::string> value;
  Label(double v) : value(v) {}
  Label(int v) : value(static_cast<double>(v)) {}
  Label(std::int64_t v) : value(static_cast<double>(v)) {}
  Label(const char* v) : value(std::string(v)) {}
  Label(std::string v) : value(std::move(v)) {}
};
struct LabelSlice {  // inclusive at both ends, as pandas
  std::optional<Label> start, stop;
};
using LabelIndexer = std::variant<Label, LabelSlice, std::vector<Label>>;
using LabelIndexers = std::vector<std::pair<std::string, LabelIndexer>>;
struct SelOptions {
  enum class Method { Exact, Nearest } method = Method::Exact;
  std::optional<double> tolerance;  // with Nearest
};

struct ComputeOptions {
  unsigned num_threads = 0;  // 0: the shared pool (CUBIST_NUM_THREADS or one per core)
  bool optimize = true;      // merge equal layers, push selections into reads, fuse chains, fold constants
  bool progress = false;     // a progress bar on stderr
  // "tcp://host:port" of `cubist scheduler`: run there instead of in-process (num_threads is then
  // the workers' business). Paths in the graph (Zarr stores) must be ones the workers can reach.
  std::string scheduler;
  std::string token;  // the cluster's token; empty: $CUBIST_TOKEN, else the default token file
};

struct ComputeStats {
  std::size_t tasks = 0, units = 0;  // tasks after optimisation, and fused execution units
  double seconds = 0;
  std::size_t peak_chunk_bytes = 0;  // most chunk bytes held at once while running
};

struct VisualizeOptions {
  bool optimize_graph = false;  // draw the graph as it will run (after fusion)
  std::optional<bool> by_layer;  // default: tasks when <= max_tasks, else layers
  std::size_t max_tasks = 200;
};

class DataArray {
 public:
  DataArray();
  // In-memory data: a chunk with one name per axis.
  static DataArray from_chunk(Chunk data, std::vector<std::string> dims, Coords coords = {},
                              Attrs attrs = Attrs::object(), std::string name = "");
  // Copies the user's buffer (C order).
  template <class T>
  static DataArray from_vector(const std::vector<T>& values, const DimSizes& dims, Coords coords = {},
                               Attrs attrs = Attrs::object(), std::string name = "") {
    Shape shape;
    std::vector<std::string> names;
    for (const auto& [d, n] : dims) {
      names.push_back(d);
      shape.push_back(n);
    }
    Chunk c = Chunk::allocate(dtype_of<T>(), shape);
    check_buffer_size(static_cast<std::int64_t>(values.size()), c.size());
    std::copy(values.begin(), values.end(), c.mutable_values<T>().begin());
    return from_chunk(std::move(c), std::move(names), std::move(coords), std::move(attrs), std::move(name));
  }
  // A lazy array over an existing graph layer (for cubist's own layers: readers, generators).
  static DataArray from_layer(std::shared_ptr<const graph::Layer> layer, std::vector<std::string> dims,
                              Coords coords = {}, Attrs attrs = Attrs::object(), std::string name = "");

  // --- what it is
  const std::string& name() const { return name_; }
  const std::vector<std::string>& dims() const { return dims_; }
  std::size_t ndim() const { return dims_.size(); }
  const Shape& shape() const;
  DimSizes sizes() const;
  std::int64_t size(const std::string& dim) const;  // throws DimensionError naming the dim
  std::size_t axis(const std::string& dim) const;
  bool has_dim(const std::string& dim) const;
  std::int64_t size() const;  // number of elements
  std::size_t nbytes() const;
  DType dtype() const;
  const ChunkGrid& chunks() const;
  const Coords& coords() const { return coords_; }
  const Attrs& attrs() const { return attrs_; }
  bool in_memory() const;               // one literal chunk (after compute())
  std::size_t num_tasks() const;        // tasks of the graph as built (before optimisation)
  std::string repr() const;

  DataArray rename(std::string name) const;
  DataArray assign_coords(const std::string& name, Coordinate c) const;
  DataArray assign_attrs(Attrs attrs) const;  // merged into the existing attributes

  // --- elementwise (lazy); binary operators broadcast by dimension name
  DataArray astype(DType dtype) const;
  DataArray isnull() const;
  DataArray notnull() const;
  DataArray fillna(double value) const;
  DataArray where(const DataArray& cond, double other) const;
  DataArray where(const DataArray& cond, const DataArray& other) const;
  DataArray where(const DataArray& cond) const;  // other = NaN
  DataArray abs() const;
  DataArray sqrt() const;
  DataArray exp() const;
  DataArray log() const;

  // --- reductions over named dims (all dims when empty)
  DataArray mean(const Dims& dims = {}, const ReduceOptions& o = {}) const;
  DataArray sum(const Dims& dims = {}, const ReduceOptions& o = {}) const;
  DataArray min(const Dims& dims = {}, const ReduceOptions& o = {}) const;
  DataArray max(const Dims& dims = {}, const ReduceOptions& o = {}) const;
  DataArray std(const Dims& dims = {}, const ReduceOptions& o = {}) const;
  DataArray var(const Dims& dims = {}, const ReduceOptions& o = {}) const;
  DataArray count(const Dims& dims = {}) const;
  DataArray median(const Dims& dims = {}, const ReduceOptions& o = {}) const;
  DataArray reduce(const std::string& reduction, const Dims& dims, const ReduceOptions& o = {}) const;

  // --- groupby (cubist/groupby.hpp): by the values of a 1-d coordinate, or by labels along one dim
  GroupBy groupby(const std::string& coord) const;
  GroupBy groupby(const Coordinate& labels) const;

  // --- selection
  DataArray isel(const Indexers& indexers) const;
  DataArray sel(const LabelIndexers& indexers, const SelOptions& options = {}) const;
  DataArray transpose(const std::vector<std::string>& dims) const;

  // --- chunks and execution
  DataArray chunk(const ChunkSpec& spec) const;
  DataArray compute(const ComputeOptions& options = {}, ComputeStats* stats = nullptr) const;
  DataArray persist(const ComputeOptions& options = {}, ComputeStats* stats = nullptr) const;
  // The values in C order; the array must be in memory (call compute() first). The result keeps
  // the data alive on its own.
  template <class T> Values<T> values() const { return Values<T>(memory_chunk()); }
  const Chunk& memory_chunk() const;  // throws ValueError when the array is lazy
  // The task graph as DOT (.dot/.gv), SVG (.svg) or PNG (.png) through graphviz.
  void visualize(const std::string& path, const VisualizeOptions& options = {}) const;

  const std::shared_ptr<const graph::Layer>& layer() const { return layer_; }

 private:
  static void check_buffer_size(std::int64_t given, std::int64_t expected);
  friend struct ArrayBuilder;
  std::string name_;
  std::vector<std::string> dims_;
  Coords coords_;
  Attrs attrs_ = Attrs::object();
  std::shared_ptr<const graph::Layer> layer_;
};

DataArray operator+(const DataArray& a, const DataArray& b);
DataArray operator-(const DataArray& a, const DataArray& b);
DataArray operator*(const DataArray& a, const DataArray& b);
DataArray operator/(const DataArray& a, const DataArray& b);
DataArray operator+(const DataArray& a, double b);
DataArray operator-(const DataArray& a, double b);
DataArray operator*(const DataArray& a, double b);
DataArray operator/(const DataArray& a, double b);
DataArray operator+(double a, const DataArray& b);
DataArray operator-(double a, const DataArray& b);
DataArray operator*(double a, const DataArray& b);
DataArray operator/(double a, const DataArray& b);
DataArray operator-(const DataArray& a);
DataArray operator==(const DataArray& a, const DataArray& b);
DataArray operator!=(const DataArray& a, const DataArray& b);
DataArray operator<(const DataArray& a, const DataArray& b);
DataArray operator<=(const DataArray& a, const DataArray& b);
DataArray operator>(const DataArray& a, const DataArray& b);
DataArray operator>=(const DataArray& a, const DataArray& b);
DataArray operator==(const DataArray& a, double b);
DataArray operator!=(const DataArray& a, double b);
DataArray operator<(const DataArray& a, double b);
DataArray operator<=(const DataArray& a, double b);
DataArray operator>(const DataArray& a, double b);
DataArray operator>=(const DataArray& a, double b);
DataArray operator&(const DataArray& a, const DataArray& b);
DataArray operator|(const DataArray& a, const DataArray& b);
DataArray operator^(const DataArray& a, const DataArray& b);
DataArray operator~(const DataArray& a);
DataArray floor_divide(const DataArray& a, const DataArray& b);
DataArray mod(const DataArray& a, const DataArray& b);
DataArray pow(const DataArray& a, const DataArray& b);
DataArray pow(const DataArray& a, double b);
DataArray minimum(const DataArray& a, const DataArray& b);
DataArray maximum(const DataArray& a, const DataArray& b);
// xr.where(cond, x, y)
DataArray where(const DataArray& cond, const DataArray& x, const DataArray& y);
// xr.concat(arrays, dim) along a dimension every array has, lazily: the result's chunks along
// `dim` are the inputs' chunks in order (no copy); other dims must have the same sizes and labels
// (DimensionError naming the dim) and are chunked to the inputs' common refinement. Coordinates
// along `dim` are concatenated, others must be equal (differing scalar ones become a coordinate
// along `dim`); dtypes are promoted; name and attrs are the first array's.
DataArray concat(const std::vector<DataArray>& arrays, const std::string& dim);

std::ostream& operator<<(std::ostream& os, const DataArray& a);

}  // namespace cubist

// GroupBy is returned by value from DataArray::groupby, so it comes with this header.
#include "cubist/groupby.hpp"  // IWYU pragma: export
