// isel / sel / transpose. Selection builds one "gather" layer whose output chunks follow the
// input chunks (as dask does), so a step-1 slice reads exactly the chunks it overlaps; labels are
// turned into positions with pandas' rules (exact, nearest, inclusive label slices, partial
// datetime strings) and then selected positionally.
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <numeric>

#include "array/builder.hpp"
#include "cubist/datetime.hpp"
#include "cubist/error.hpp"

namespace cubist {
namespace {

std::string dims_list(const std::vector<std::string>& dims) {
  return dims.empty() ? "none" : fmt::format("{}", fmt::join(dims, ", "));
}

// One axis' resolved positional indexer.
struct AxisSelection {
  enum class Kind { Keep, Index, Range, List } kind = Kind::Keep;
  std::int64_t index = 0;                  // Index: the one position kept (the axis is dropped)
  std::int64_t start = 0, step = 1, count = 0;  // Range: positions start + j*step, j < count
  std::vector<std::int64_t> list;          // List: positions in order

  std::int64_t size() const { return kind == Kind::List ? static_cast<std::int64_t>(list.size()) : count; }
  std::int64_t source(std::int64_t j) const {
    return kind == Kind::List ? list[static_cast<std::size_t>(j)] : start + j * step;
  }
  std::vector<std::int64_t> positions() const {
    if (kind == Kind::Index) return {index};
    if (kind == Kind::List) return list;
    std::vector<std::int64_t> p(static_cast<std::size_t>(count));
    for (std::int64_t j = 0; j < count; ++j) p[static_cast<std::size_t>(j)] = source(j);
    return p;
  }
};

std::int64_t check_position(const std::string& dim, std::int64_t i, std::int64_t n) {
  if (i < -n || i >= n)
    throw ValueError(fmt::format("isel: index {} is out of range for dimension '{}' of size {}", i, dim, n));
  return i < 0 ? i + n : i;
}

// Python's slice.indices(n): clamps start/stop, negative values count from the end.
AxisSelection resolve_slice(const std::string& dim, const Slice& s, std::int64_t n) {
  if (s.step == 0) throw ValueError(fmt::format("isel: slice step cannot be zero (dimension '{}')", dim));
  const std::int64_t step = s.step;
  const std::int64_t lower = step > 0 ? 0 : -1, upper = step > 0 ? n : n - 1;
  auto bound = [&](std::optional<std::int64_t> v, std::int64_t dflt) {
    if (!v) return dflt;
    std::int64_t x = *v < 0 ? *v + n : *v;
    return std::clamp(x, lower, upper);
  };
  AxisSelection sel;
  sel.kind = AxisSelection::Kind::Range;
  sel.start = bound(s.start, step > 0 ? lower : upper);
  const std::int64_t stop = bound(s.stop, step > 0 ? upper : lower);
  sel.step = step;
  if (step > 0) sel.count = stop > sel.start ? (stop - sel.start + step - 1) / step : 0;
  else sel.count = sel.start > stop ? (sel.start - stop - step - 1) / -step : 0;
  if (sel.count == 0) sel.start = 0;  // keeps the gather parameters in range
  if (sel.start == 0 && sel.step == 1 && sel.count == n) sel.kind = AxisSelection::Kind::Keep;
  return sel;
}

AxisSelection resolve_indexer(const std::string& dim, const Indexer& ix, std::int64_t n) {
  AxisSelection sel;
  if (const auto* i = std::get_if<std::int64_t>(&ix)) {
    sel.kind = AxisSelection::Kind::Index;
    sel.index = check_position(dim, *i, n);
  } else if (const auto* s = std::get_if<Slice>(&ix)) {
    sel = resolve_slice(dim, *s, n);
  } else {
    const auto& list = std::get<std::vector<std::int64_t>>(ix);
    sel.kind = AxisSelection::Kind::List;
    sel.list.reserve(list.size());
    bool identity = static_cast<std::int64_t>(list.size()) == n;
    for (std::size_t k = 0; k < list.size(); ++k) {
      sel.list.push_back(check_position(dim, list[k], n));
      identity = identity && sel.list.back() == static_cast<std::int64_t>(k);
    }
    if (identity) sel.kind = AxisSelection::Kind::Keep;
  }
  return sel;
}

// The positions one coordinate keeps, or the whole selection applied to it.
Coords select_coords(const Coords& coords, const std::vector<std::string>& dims, const std::vector<AxisSelection>& sel) {
  Coords out;
  for (const auto& [name, c] : coords) {
    Coordinate nc = c;
    for (std::size_t a = 0; a < dims.size(); ++a) {
      if (sel[a].kind == AxisSelection::Kind::Keep) continue;
      const auto& cd = nc.dims();
      auto it = std::find(cd.begin(), cd.end(), dims[a]);
      if (it == cd.end()) continue;
      nc = nc.take(static_cast<std::size_t>(it - cd.begin()), sel[a].positions(), sel[a].kind == AxisSelection::Kind::Index);
    }
    out.set(name, std::move(nc));
  }
  return out;
}

// One gather layer for the whole selection. Along a selected axis a new output chunk starts
// whenever the source input chunk changes, so every output chunk reads exactly one input chunk
// per axis (a step-1 slice keeps the input's chunk boundaries, as dask does).
DataArray apply_selection(const DataArray& a, const std::vector<AxisSelection>& sel) {
  const ChunkGrid& in = a.chunks();
  nlohmann::json axes = nlohmann::json::array();
  std::vector<graph::AxisDep> deps;
  std::vector<std::vector<std::int64_t>> out_chunks;
  std::vector<std::string> out_dims;
  for (std::size_t ax = 0; ax < sel.size(); ++ax) {
    const AxisSelection& s = sel[ax];
    const int out_axis = static_cast<int>(out_chunks.size());
    switch (s.kind) {
      case AxisSelection::Kind::Keep:
        axes.push_back({{"out_axis", out_axis}, {"start", 0}, {"step", 1}});
        deps.push_back(graph::AxisDep::identity(out_axis));
        out_chunks.push_back(in.chunks(ax));
        break;
      case AxisSelection::Kind::Index: {
        axes.push_back({{"out_axis", -1}, {"index", s.index}});
        const std::int64_t c = in.chunk_of(ax, s.index);
        deps.push_back(graph::AxisDep::fixed(c, c + 1));
        continue;  // the axis is dropped
      }
      case AxisSelection::Kind::Range:
      case AxisSelection::Kind::List: {
        if (s.kind == AxisSelection::Kind::Range) axes.push_back({{"out_axis", out_axis}, {"start", s.start}, {"step", s.step}});
        else axes.push_back({{"out_axis", out_axis}, {"indices", s.list}});
        std::vector<std::int64_t> sizes;
        std::vector<std::pair<std::int64_t, std::int64_t>> table;
        std::int64_t lo = 0, hi = 0;  // bounds of the current input chunk (cached: no search per element)
        for (std::int64_t j = 0; j < s.size(); ++j) {
          const std::int64_t p = s.source(j);
          if (j > 0 && p >= lo && p < hi) {
            ++sizes.back();
            continue;
          }
          const std::int64_t c = in.chunk_of(ax, p);
          lo = in.offset(ax, c);
          hi = in.offset(ax, c + 1);
          sizes.push_back(1);
          table.emplace_back(c, c + 1);
        }
        if (sizes.empty()) {  // an empty selection: one empty chunk that reads nothing
          sizes.push_back(0);
          table.emplace_back(0, 0);
        }
        deps.push_back(graph::AxisDep::from_table(out_axis, std::move(table)));
        out_chunks.push_back(std::move(sizes));
        break;
      }
    }
    out_dims.push_back(a.dims()[ax]);
  }
  graph::LayerSpec spec;
  spec.label = "isel";
  spec.op = "gather";
  spec.kind = graph::LayerKind::General;
  spec.params = {{"axes", std::move(axes)}};
  spec.inputs = {{a.layer(), std::move(deps)}};
  spec.grid = ChunkGrid(std::move(out_chunks));
  spec.dtype = a.dtype();
  return ArrayBuilder::make(a.name(), std::move(out_dims), select_coords(a.coords(), a.dims(), sel), a.attrs(),
                            graph::make_layer(std::move(spec)));
}

// ---------------------------------------------------------------------------------------------
// Labels -> positions.

constexpr std::int64_t kNsPerSec = 1'000'000'000;
constexpr std::int64_t kNsPerDay = 86'400 * kNsPerSec;

std::string label_text(const Label& l) {
  if (const auto* d = std::get_if<double>(&l.value)) return fmt::format("{}", *d);
  return fmt::format("'{}'", std::get<std::string>(l.value));
}

// Positions as the cheapest indexer: a range when they are evenly spaced, else a list.
Indexer positions_indexer(const std::vector<std::int64_t>& p) {
  if (p.size() >= 2) {
    const std::int64_t step = p[1] - p[0];
    bool even = step != 0;
    for (std::size_t k = 2; k < p.size() && even; ++k) even = p[k] - p[k - 1] == step;
    if (even) {
      std::optional<std::int64_t> stop = p.back() + step;
      if (*stop < 0) stop.reset();  // a negative stop would count from the end
      return Slice{p[0], stop, step};
    }
  }
  return p;
}

// The finest resolution the datetime labels use (pandas' DatetimeIndex.resolution, at least a day).
TimeResolution index_resolution(const std::vector<std::int64_t>& ns) {
  TimeResolution r = TimeResolution::Day;
  for (auto v : ns) {
    if (v == kNaT) continue;
    std::int64_t rem = ((v % kNsPerDay) + kNsPerDay) % kNsPerDay;
    TimeResolution t = rem == 0                          ? TimeResolution::Day
                       : rem % (3600 * kNsPerSec) == 0   ? TimeResolution::Hour
                       : rem % (60 * kNsPerSec) == 0     ? TimeResolution::Minute
                       : rem % kNsPerSec == 0            ? TimeResolution::Second
                                                         : TimeResolution::Nanosecond;
    r = std::max(r, t);
  }
  return r;
}

// The labels of one coordinate as comparable keys: double (numbers), int64 ns (datetimes) or text.
template <class K> class LabelIndex {
 public:
  LabelIndex(std::vector<K> keys, std::string dim) : keys_(std::move(keys)), dim_(std::move(dim)) {
    for (std::size_t i = 0; i < keys_.size(); ++i)
      if (valid(keys_[i])) order_.push_back(static_cast<std::int64_t>(i));
    std::stable_sort(order_.begin(), order_.end(), [&](auto x, auto y) { return key(x) < key(y); });
    const bool all_valid = order_.size() == keys_.size();
    increasing_ = decreasing_ = all_valid;
    for (std::size_t i = 1; i < keys_.size() && (increasing_ || decreasing_); ++i) {
      increasing_ = increasing_ && !(keys_[i] < keys_[i - 1]);
      decreasing_ = decreasing_ && !(keys_[i - 1] < keys_[i]);
    }
  }

  std::int64_t size() const { return static_cast<std::int64_t>(keys_.size()); }

  // Every position holding exactly `k`, ascending.
  std::vector<std::int64_t> exact(const K& k) const {
    return std::vector<std::int64_t>(lower(k), std::upper_bound(order_.begin(), order_.end(), k, [&](const K& x, std::int64_t p) {
                                       return x < key(p);
                                     }));
  }
  std::int64_t first_exact(const K& k, const Label& label) const {
    auto p = exact(k);
    if (p.empty()) throw not_found(label);
    return p.front();
  }
  // The position whose label is closest to `k`; ties go to the larger label (pandas on an increasing index).
  std::int64_t nearest(const K& k, std::optional<double> tolerance, const Label& label) const {
    if (order_.empty()) throw not_found(label);
    auto it = lower(k);
    auto best = it;
    if (it == order_.end()) best = std::prev(it);
    else if (it != order_.begin() && distance(key(*std::prev(it)), k) < distance(key(*it), k)) best = std::prev(it);
    // Among equal labels take the first position.
    best = lower(key(*best));
    if (tolerance && distance(key(*best), k) > *tolerance)
      throw KeyError(fmt::format("sel: no label within tolerance {} of {} in dimension '{}'", *tolerance, label_text(label), dim_));
    return *best;
  }
  // Positions with lo <= label <= hi, ascending.
  std::vector<std::int64_t> within(const K& lo, const K& hi) const {
    std::vector<std::int64_t> p;
    for (std::size_t i = 0; i < keys_.size(); ++i)
      if (valid(keys_[i]) && !(keys_[i] < lo) && !(hi < keys_[i])) p.push_back(static_cast<std::int64_t>(i));
    return p;
  }
  // pandas' label slice, inclusive at both ends: binary search on monotonic labels, else both
  // labels must exist (start at the first, stop after the last occurrence). A bound covers the
  // period [first, last] (one value except for coarse datetime text): an increasing slice runs
  // from the start's first to the stop's last value, a decreasing one the other way round.
  struct Bound {
    K first, last;
    const Label* label;
  };
  Slice slice(const std::optional<Bound>& lo, const std::optional<Bound>& hi) const {
    const auto b = keys_.begin(), e = keys_.end();
    std::int64_t start = 0, stop = size();
    if (increasing_) {
      if (lo) start = std::lower_bound(b, e, lo->first) - b;
      if (hi) stop = std::upper_bound(b, e, hi->last) - b;
    } else if (decreasing_) {
      if (lo) start = std::partition_point(b, e, [&](const K& v) { return lo->last < v; }) - b;
      if (hi) stop = std::partition_point(b, e, [&](const K& v) { return !(v < hi->first); }) - b;
    } else {
      if (lo) {
        auto p = exact(lo->first);
        if (p.empty()) throw not_monotonic(*lo->label);
        start = p.front();
      }
      if (hi) {
        auto p = exact(hi->first);
        if (p.empty()) throw not_monotonic(*hi->label);
        stop = p.back() + 1;
      }
    }
    return Slice{start, std::max(start, stop), 1};
  }

  KeyError not_found(const Label& label) const {
    return KeyError(fmt::format("sel: label {} not found in dimension '{}'", label_text(label), dim_));
  }

 private:
  // NaN and NaT label nothing (and would break the ordering).
  static bool valid(const K& k) {
    if constexpr (std::is_floating_point_v<K>) return !std::isnan(k);
    else if constexpr (std::is_same_v<K, std::int64_t>) return k != kNaT;
    else return true;
  }
  static double distance(const K& x, const K& y) {
    if constexpr (std::is_same_v<K, std::string>) return x == y ? 0.0 : 1.0;  // never used: text has no nearest
    else if constexpr (std::is_same_v<K, std::int64_t>)  // unsigned: no overflow between far-apart times
      return static_cast<double>(x < y ? static_cast<std::uint64_t>(y) - static_cast<std::uint64_t>(x)
                                       : static_cast<std::uint64_t>(x) - static_cast<std::uint64_t>(y));
    else return x < y ? y - x : x - y;
  }
  const K& key(std::int64_t pos) const { return keys_[static_cast<std::size_t>(pos)]; }
  // The first sorted position whose label is not below k.
  std::vector<std::int64_t>::const_iterator lower(const K& k) const {
    return std::lower_bound(order_.begin(), order_.end(), k, [&](std::int64_t p, const K& x) { return key(p) < x; });
  }
  KeyError not_monotonic(const Label& label) const {
    return KeyError(fmt::format("sel: slice bound {} not found in dimension '{}' (labels that are not sorted need bounds "
                                "that exist exactly)",
                                label_text(label), dim_));
  }

  std::vector<K> keys_;
  std::string dim_;
  std::vector<std::int64_t> order_;  // positions of valid labels sorted by label (stable)
  bool increasing_ = true, decreasing_ = true;
};

// How one kind of coordinate reads a user's Label.
struct NumberKeys {
  using Key = double;
  const std::string& dim;
  const Coordinate& coord;
  double key(const Label& l) const {
    if (const auto* d = std::get_if<double>(&l.value)) return *d;
    throw TypeError(fmt::format("sel: label {} is text but the coordinate of dimension '{}' holds {} numbers", label_text(l),
                                dim, coord.dtype_name()));
  }
  double first(const Label& l) const { return key(l); }
  double last(const Label& l) const { return key(l); }
  std::optional<std::pair<double, double>> period(const Label&) const { return std::nullopt; }
  static constexpr bool has_nearest = true;
};

struct TimeKeys {
  using Key = std::int64_t;
  const std::string& dim;
  TimeResolution resolution;  // of the coordinate's labels
  ParsedTime parse(const Label& l) const {
    if (const auto* s = std::get_if<std::string>(&l.value)) return parse_datetime(*s);
    throw TypeError(fmt::format("sel: the coordinate of dimension '{}' holds datetimes: give labels as ISO text like "
                                "\"2020-01-05\", not the number {}",
                                dim, std::get<double>(l.value)));
  }
  std::int64_t key(const Label& l) const { return parse(l).ns; }
  std::int64_t first(const Label& l) const { return parse(l).ns; }
  std::int64_t last(const Label& l) const { return parse(l).period_end_ns(); }  // "2020-01" -> Jan 31, 23:59:59.999999999
  // pandas' partial-string indexing: text coarser than the labels selects its whole period.
  std::optional<std::pair<std::int64_t, std::int64_t>> period(const Label& l) const {
    ParsedTime t = parse(l);
    if (t.ns == kNaT || !(t.resolution < resolution)) return std::nullopt;
    return std::pair{t.ns, t.period_end_ns()};
  }
  static constexpr bool has_nearest = true;
};

struct TextKeys {
  using Key = std::string;
  const std::string& dim;
  std::string key(const Label& l) const {
    if (const auto* s = std::get_if<std::string>(&l.value)) return *s;
    throw TypeError(fmt::format("sel: the coordinate of dimension '{}' holds text: the number {} cannot match it", dim,
                                std::get<double>(l.value)));
  }
  std::string first(const Label& l) const { return key(l); }
  std::string last(const Label& l) const { return key(l); }
  std::optional<std::pair<std::string, std::string>> period(const Label&) const { return std::nullopt; }
  static constexpr bool has_nearest = false;
};

template <class Keys>
Indexer resolve_labels(const LabelIndex<typename Keys::Key>& index, const Keys& keys, const std::string& dim,
                       const LabelIndexer& li, const SelOptions& o) {
  const bool nearest = o.method == SelOptions::Method::Nearest;
  if (nearest && !Keys::has_nearest)
    throw TypeError(fmt::format("sel: method 'nearest' needs numeric or datetime labels; dimension '{}' has text labels", dim));
  auto one = [&](const Label& l) {
    return nearest ? index.nearest(keys.key(l), o.tolerance, l) : index.first_exact(keys.key(l), l);
  };
  if (const auto* l = std::get_if<Label>(&li)) {
    if (nearest) return one(*l);
    if (auto period = keys.period(*l)) {
      auto p = index.within(period->first, period->second);
      if (p.empty()) throw index.not_found(*l);
      return positions_indexer(p);
    }
    auto p = index.exact(keys.key(*l));
    if (p.empty()) throw index.not_found(*l);
    if (p.size() == 1) return p.front();  // a unique label drops the dimension
    return positions_indexer(p);          // a repeated label keeps it, as pandas
  }
  if (const auto* s = std::get_if<LabelSlice>(&li)) {
    if (nearest) throw ValueError(fmt::format("sel: method 'nearest' cannot be used with a slice (dimension '{}')", dim));
    using Bound = typename LabelIndex<typename Keys::Key>::Bound;
    auto bound = [&](const std::optional<Label>& l) -> std::optional<Bound> {
      if (!l) return std::nullopt;
      return Bound{keys.first(*l), keys.last(*l), &*l};
    };
    return index.slice(bound(s->start), bound(s->stop));
  }
  std::vector<std::int64_t> p;
  for (const auto& l : std::get<std::vector<Label>>(li)) p.push_back(one(l));
  return p;
}

Indexer resolve_dim(const Coordinate& c, const std::string& dim, const LabelIndexer& li, const SelOptions& o) {
  if (c.is_string()) return resolve_labels(LabelIndex<std::string>(c.string_values(), dim), TextKeys{dim}, dim, li, o);
  if (c.dtype() == DType::DateTime64) {
    auto v = c.values().values<std::int64_t>();
    std::vector<std::int64_t> ns(v.begin(), v.end());
    TimeKeys keys{dim, index_resolution(ns)};
    return resolve_labels(LabelIndex<std::int64_t>(std::move(ns), dim), keys, dim, li, o);
  }
  std::vector<double> values(static_cast<std::size_t>(c.size()));
  for (std::int64_t i = 0; i < c.size(); ++i) values[static_cast<std::size_t>(i)] = c.numeric_value(i);
  return resolve_labels(LabelIndex<double>(std::move(values), dim), NumberKeys{dim, c}, dim, li, o);
}

}  // namespace

DataArray DataArray::isel(const Indexers& indexers) const {
  if (!layer_) throw ValueError("isel: empty DataArray");
  std::vector<AxisSelection> sel(ndim());
  std::vector<bool> seen(ndim(), false);
  for (const auto& [dim, ix] : indexers) {
    if (!has_dim(dim)) throw DimensionError(fmt::format("isel: dimension '{}' not found (dims: {})", dim, dims_list(dims_)));
    const std::size_t a = axis(dim);
    if (seen[a]) throw DimensionError(fmt::format("isel: dimension '{}' given twice", dim));
    seen[a] = true;
    sel[a] = resolve_indexer(dim, ix, shape()[a]);
  }
  if (std::all_of(sel.begin(), sel.end(), [](const auto& s) { return s.kind == AxisSelection::Kind::Keep; })) return *this;
  return apply_selection(*this, sel);
}

DataArray DataArray::sel(const LabelIndexers& indexers, const SelOptions& options) const {
  if (!layer_) throw ValueError("sel: empty DataArray");
  if (options.tolerance && (!(*options.tolerance >= 0) || options.method != SelOptions::Method::Nearest))
    throw ValueError("sel: tolerance must be >= 0 and needs method 'nearest'");
  Indexers positional;
  for (const auto& [dim, li] : indexers) {
    if (!has_dim(dim)) throw DimensionError(fmt::format("sel: dimension '{}' not found (dims: {})", dim, dims_list(dims_)));
    // The index coordinate: named after the dimension and lying along it alone.
    if (!coords_.contains(dim) || coords_.at(dim).dims() != std::vector<std::string>{dim})
      throw KeyError(fmt::format("no coordinate for dimension '{}' to select by label", dim));
    positional.emplace_back(dim, resolve_dim(coords_.at(dim), dim, li, options));
  }
  return isel(positional);
}

DataArray DataArray::transpose(const std::vector<std::string>& dims) const {
  if (!layer_) throw ValueError("transpose: empty DataArray");
  auto bad = [&] {
    return DimensionError(fmt::format("transpose: ({}) is not a permutation of the dimensions ({})", fmt::join(dims, ", "),
                                      fmt::join(dims_, ", ")));
  };
  if (dims.size() != ndim()) throw bad();
  std::vector<std::int64_t> perm;  // output axis o takes input axis perm[o]
  std::vector<int> out_of(ndim(), -1);
  for (std::size_t o = 0; o < dims.size(); ++o) {
    if (!has_dim(dims[o])) throw bad();
    const std::size_t a = axis(dims[o]);
    if (out_of[a] >= 0) throw bad();
    out_of[a] = static_cast<int>(o);
    perm.push_back(static_cast<std::int64_t>(a));
  }
  if (dims == dims_) return *this;
  std::vector<std::vector<std::int64_t>> chunks;
  for (auto a : perm) chunks.push_back(layer_->grid.chunks(static_cast<std::size_t>(a)));
  std::vector<graph::AxisDep> deps;
  for (std::size_t a = 0; a < ndim(); ++a) deps.push_back(graph::AxisDep::identity(out_of[a]));
  graph::LayerSpec spec;
  spec.label = "transpose";
  spec.op = "transpose";
  spec.kind = graph::LayerKind::Blockwise;
  spec.params = {{"perm", perm}};
  spec.inputs = {{layer_, std::move(deps)}};
  spec.grid = ChunkGrid(std::move(chunks));
  spec.dtype = layer_->dtype;
  // Coordinates keep their own dimension order: they are matched to the data by name.
  return ArrayBuilder::make(name_, dims, coords_, attrs_, graph::make_layer(std::move(spec)));
}

}  // namespace cubist
