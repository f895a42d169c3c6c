// Reducers and array access: max, min, mean, median, sum, count, sd, first, last, array_element.
// `data` is one of: a JSON array (numbers -> a number), the labeled array a reduce_dimension
// callback gets (-> one lazy reduction over that dimension), or the groups of
// aggregate_temporal_period (-> one lazy groupby reduction).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "cubist/datetime.hpp"
#include "cubist/error.hpp"
#include "cubist/groupby.hpp"
#include "openeo/cube.hpp"
#include "openeo/registry.hpp"

namespace cubist::openeo {
namespace {

// count's default counts valid elements: neither null nor NaN.
bool null_like(const Value& v) {
  return v.is_null() || (v.kind == Value::Kind::Number && std::isnan(v.scalar.get<double>()));
}

// The numbers of a list; nullopt when a null is present and ignore_nodata is false. In a JSON
// list NaN is a number, not no-data (openeo-processes' cases: max([NaN, 1, 2, 3]) is NaN); only
// in cubes does no-data become NaN.
std::optional<std::vector<double>> numbers_of(Args& a, const Value& list, bool ignore_nodata) {
  std::vector<double> out;
  for (const auto& v : list.items) {
    if (v.is_null()) {
      if (!ignore_nodata) return std::nullopt;
      continue;
    }
    if (v.kind != Value::Kind::Number) a.fail("data", fmt::format("expected numbers, found {}", v.describe()));
    out.push_back(v.scalar.get<double>());
  }
  return out;
}

// Of a non-empty list; a NaN element makes the result NaN (IEEE 754, as the definitions' cases).
double scalar_reduce(const std::string& name, std::vector<double> v) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (std::any_of(v.begin(), v.end(), [](double x) { return std::isnan(x); })) return nan;
  double s = 0;
  for (double x : v) s += x;
  if (name == "sum") return s;
  if (name == "max") return *std::max_element(v.begin(), v.end());
  if (name == "min") return *std::min_element(v.begin(), v.end());
  const double mean = s / static_cast<double>(v.size());
  if (name == "mean") return mean;
  if (name == "sd") {
    if (v.size() < 2) return std::numeric_limits<double>::quiet_NaN();
    double ss = 0;
    for (double x : v) ss += (x - mean) * (x - mean);
    return std::sqrt(ss / static_cast<double>(v.size() - 1));  // sample standard deviation
  }
  std::sort(v.begin(), v.end());  // median
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// A list holding data cubes (merge_cubes' resolver `sum([x, y])`): the statistic elementwise
// across the items, numbers broadcast; no-data (NaN) skipped when ignore_nodata is true.
DataArray across_items(Args& a, const std::string& name, const Value& list, bool skipna) {
  if (name != "sum" && name != "mean" && name != "min" && name != "max")
    a.fail("data", fmt::format("{} of a list of data cubes is not supported (sum, mean, min and max are)", name));
  std::vector<DataArray> items;
  for (const auto& v : list.items) {
    if (!is_numeric_operand(v)) a.fail("data", fmt::format("expected numbers or data cubes, found {}", v.describe()));
    items.push_back(as_float(operand_array(v)));
  }
  DataArray acc = items[0], valid = items[0].notnull().astype(DType::Float64);
  for (std::size_t i = 1; i < items.size(); ++i) {
    const DataArray& x = items[i];
    valid = valid + x.notnull().astype(DType::Float64);
    if (name == "sum" || name == "mean") {
      acc = skipna ? acc.where(acc.notnull(), 0.0) + x.where(x.notnull(), 0.0) : acc + x;
    } else {
      const DataArray better = name == "max" ? x > acc : x < acc;
      const DataArray take = skipna ? (acc.isnull() | better) : (x.isnull() | better);
      acc = skipna ? where(take, x, acc) : where(acc.isnull(), acc, where(take, x, acc));
    }
  }
  if (name == "mean") acc = acc / valid;
  return skipna ? acc.where(valid > 0.0) : acc;
}

// The cubist reduction for an openEO reducer name.
std::string cubist_reduction(const std::string& name) { return name == "sd" ? "std" : name; }

Value statistic(Args& a, const std::string& name) {
  const Value& data = a.get("data");
  const bool ignore = a.boolean("ignore_nodata");
  ReduceOptions o;
  o.skipna = ignore;
  if (name == "sd") o.ddof = 1;
  if (data.kind == Value::Kind::Labeled) return Value::of_cube(data.cube.reduce(cubist_reduction(name), data.dim, o));
  if (data.kind == Value::Kind::Grouped) return Value::of_cube(data.groups->reduce(cubist_reduction(name), o));
  if (data.kind != Value::Kind::List) a.fail("data", fmt::format("expected an array, got {}", data.describe()));
  if (std::any_of(data.items.begin(), data.items.end(), [](const Value& v) { return v.is_array_like(); }))
    return Value::of_cube(across_items(a, name, data, ignore));
  auto nums = numbers_of(a, data, ignore);
  // No values (or one, for the sample standard deviation): no-data.
  if (!nums || nums->empty() || (name == "sd" && nums->size() < 2)) return Value::null();
  return Value::number(scalar_reduce(name, std::move(*nums)));
}

ProcessDef statistic_def(const std::string& id, const std::string& summary) {
  ProcessDef d;
  d.id = id;
  d.summary = summary;
  d.categories = {"math > statistics", "reducer"};
  d.parameters = {{"data", "An array of numbers.", schema::labeled_array(), false, nullptr},
                  {"ignore_nodata", "Whether no-data values are ignored.", {{"type", "boolean"}}, true, true}};
  d.returns = {{"description", "The computed value; null for an empty array."}, {"schema", schema::number_or_null()}};
  d.impl = [id](Args& a) { return statistic(a, id); };
  return d;
}

const ProcessRegistration max_reg{statistic_def("max", "Maximum value")};
const ProcessRegistration min_reg{statistic_def("min", "Minimum value")};
const ProcessRegistration mean_reg{statistic_def("mean", "Arithmetic mean (average)")};
const ProcessRegistration median_reg{statistic_def("median", "Statistical median")};
const ProcessRegistration sum_reg{statistic_def("sum", "Compute the sum by adding up numbers")};
const ProcessRegistration sd_reg{statistic_def("sd", "Standard deviation (sample)")};

// The groups of aggregate_temporal_period applied to another array along the same dimension
// (a condition's result, a mask): the same periods, so a groupby reduction of it lines up.
GroupBy regroup(const Value& grouped, const DataArray& array) {
  const GroupBy& g = *grouped.groups;
  const Coordinate& labels = g.labels();
  if (labels.is_string() || labels.dtype() != DType::DateTime64)
    throw TypeError("the temporal periods are not labelled by datetimes");
  const auto starts = labels.values().values<std::int64_t>();
  std::vector<std::int64_t> per_position;
  for (std::int64_t k : g.group_of()) per_position.push_back(k < 0 ? kNaT : starts[static_cast<std::size_t>(k)]);
  return array.groupby(Coordinate::datetimes_ns(g.dim(), std::move(per_position)));
}

// 1 where the condition's result is true, else 0 (no-data never counts).
DataArray counted(const DataArray& condition) {
  const DataArray yes = condition.dtype() == DType::Bool ? condition : condition == 1.0;
  return yes.astype(DType::Int64);
}

const ProcessRegistration count_reg{ProcessDef{
    "count", "Count the number of elements", "", {"arrays", "math > statistics", "reducer"},
    {{"data", "An array with elements of any data type.", schema::labeled_array(), false, nullptr},
     {"condition", "A condition (a process graph receiving `x`, returning true to count the element); true counts all "
                   "elements; null counts valid elements.",
      {schema::callback({"x", "context"}), {{"type", "boolean"}, {"const", true}}, {{"type", "null"}}}, true, nullptr},
     {"context", "Additional data passed to the condition.", schema::any(), true, nullptr}},
    {{"description", "The counted number of elements."}, {"schema", {{"type", "number"}}}},
    [](Args& a) -> Value {
      const Value& data = a.get("data");
      const Value& cond = a.get("condition");
      const bool all = cond.kind == Value::Kind::Boolean && cond.scalar.get<bool>();
      if (cond.kind == Value::Kind::Boolean && !all) a.fail("condition", "must be true, null or a process graph");
      const bool callback = cond.kind == Value::Kind::Callback;
      if (data.kind == Value::Kind::List) {
        double n = 0;
        for (const auto& v : data.items) {
          if (callback) {
            const Value r = a.call("condition", {{"x", v}, {"context", a.get("context")}});
            if (r.kind != Value::Kind::Boolean && !r.is_null())
              a.fail("condition", fmt::format("the condition returned {}, not a boolean", r.describe()));
            n += r.kind == Value::Kind::Boolean && r.scalar.get<bool>() ? 1 : 0;
          } else {
            n += (all || !null_like(v)) ? 1 : 0;
          }
        }
        return Value::number(n);
      }
      if (data.kind != Value::Kind::Labeled && data.kind != Value::Kind::Grouped)
        a.fail("data", fmt::format("expected an array, got {}", data.describe()));
      // The elements to count, as 0/1 over the whole cube (a condition runs once, elementwise).
      DataArray ones;
      if (callback) {
        const Value r = a.call("condition", {{"x", Value::of_cube(data.cube)}, {"context", a.get("context")}});
        if (!r.is_array_like()) a.fail("condition", fmt::format("the condition returned {}, not a value per element", r.describe()));
        ones = counted(r.cube);
      } else if (all) {
        ones = (data.cube.isnull() | data.cube.notnull()).astype(DType::Int64);
      }
      if (data.kind == Value::Kind::Labeled)
        return Value::of_cube(ones.layer() ? ones.sum(data.dim) : data.cube.count(data.dim));
      if (!ones.layer()) return Value::of_cube(data.groups->count());
      try {
        return Value::of_cube(regroup(data, ones).sum());
      } catch (const Error& e) {
        a.fail("data", e.what());
      }
    }}};

// first / last: the first (last) element, skipping no-data unless ignore_nodata is false.
// Along a dimension (reduce_dimension), the elements are taken by isel one by one from the far
// end, each replacing the result where it has data: one fused elementwise pass. For the periods
// of aggregate_temporal_period the same happens per period: step k takes the k-th element of
// every period at once (periods shorter than k repeat their last one).
Value first_or_last(Args& a, bool first) {
  const Value& data = a.get("data");
  const bool ignore = a.boolean("ignore_nodata");
  if (data.kind == Value::Kind::List) {
    const auto n = static_cast<std::ptrdiff_t>(data.items.size());
    for (std::ptrdiff_t k = 0; k < n; ++k) {
      const Value& v = data.items[static_cast<std::size_t>(first ? k : n - 1 - k)];
      if (!ignore || !v.is_null()) return v;  // NaN is a value in a list
    }
    return Value::null();
  }
  if (data.kind == Value::Kind::Grouped) {
    const GroupBy& g = *data.groups;
    std::vector<std::vector<std::int64_t>> members(static_cast<std::size_t>(g.num_groups()));
    const auto& group_of = g.group_of();
    for (std::size_t p = 0; p < group_of.size(); ++p)
      if (group_of[p] >= 0) members[static_cast<std::size_t>(group_of[p])].push_back(static_cast<std::int64_t>(p));
    // Within a period, elements in time order (positions may be unsorted).
    const Coordinate& times = data.cube.coords().at(g.dim());
    std::size_t longest = 0;
    for (auto& m : members) {
      std::stable_sort(m.begin(), m.end(), [&](auto i, auto j) { return times.numeric_value(i) < times.numeric_value(j); });
      if (!first) std::reverse(m.begin(), m.end());
      longest = std::max(longest, m.size());
    }
    // Step k: the k-th element of every period, labelled by the periods (the groupby
    // reductions' labels); other coordinates along the dimension belong to single elements.
    auto step = [&](std::size_t k) {
      std::vector<std::int64_t> index;
      for (const auto& m : members) index.push_back(m[std::min(k, m.size() - 1)]);
      const DataArray e = data.cube.isel({{g.dim(), index}});
      Coords coords;
      for (const auto& [name, c] : e.coords())
        if (std::find(c.dims().begin(), c.dims().end(), g.dim()) == c.dims().end()) coords.set(name, c);
      coords.set(g.name(), g.labels());
      return DataArray::from_layer(e.layer(), e.dims(), coords, e.attrs(), e.name());
    };
    if (longest == 0) return Value::of_cube(step(0));  // no period at all (every time NaT)
    DataArray r = ignore ? step(longest - 1) : step(0);
    for (std::size_t k = longest - 1; ignore && k-- > 0;) {
      DataArray e = step(k);
      r = where(e.notnull(), e, r);
    }
    return Value::of_cube(r);
  }
  if (data.kind != Value::Kind::Labeled)
    a.fail("data", fmt::format("expected an array or the labeled array of reduce_dimension, got {}", data.describe()));
  const std::int64_t n = data.cube.size(data.dim);
  auto at = [&](std::int64_t i) { return data.cube.isel({{data.dim, first ? i : n - 1 - i}}); };
  DataArray r = at(n - 1);
  if (!ignore) return Value::of_cube(at(0));
  // From the far end back: each earlier element replaces the value where it has data. One
  // elementwise layer per element, fused into one pass.
  for (std::int64_t i = n - 2; i >= 0; --i) {
    DataArray e = at(i);
    r = where(e.notnull(), e, r);
  }
  return Value::of_cube(r);
}

ProcessDef first_last_def(bool first) {
  ProcessDef d;
  d.id = first ? "first" : "last";
  d.summary = first ? "First element" : "Last element";
  d.categories = {"arrays", "reducer"};
  d.parameters = {{"data", "An array with elements of any data type.", schema::labeled_array(), false, nullptr},
                  {"ignore_nodata", "Whether no-data values are skipped.", {{"type", "boolean"}}, true, true}};
  d.returns = {{"description", "The element; null if there is none."}, {"schema", schema::any()}};
  d.impl = [first](Args& a) { return first_or_last(a, first); };
  return d;
}

const ProcessRegistration first_reg{first_last_def(true)};
const ProcessRegistration last_reg{first_last_def(false)};

const ProcessRegistration array_element_reg{ProcessDef{
    "array_element", "Get an element from an array", "", {"arrays", "reducer"},
    {{"data", "An array.", schema::labeled_array(), false, nullptr},
     {"index", "The zero-based index of the element.", {{"type", "integer"}, {"minimum", 0}}, true, nullptr},
     {"label", "The label of the element.", {{"type", {"number", "string"}}}, true, nullptr},
     {"return_nodata", "Return null instead of failing for a missing element.", {{"type", "boolean"}}, true, false}},
    {{"description", "The value of the requested element."}, {"schema", schema::any()}},
    [](Args& a) -> Value {
      const Value& data = a.get("data");
      const bool by_index = a.given("index"), by_label = a.given("label");
      if (by_index == by_label) a.fail("index", "give exactly one of index and label");
      if (data.kind == Value::Kind::List) {
        if (by_label) a.fail("label", "a plain array has no labels");
        const auto i = static_cast<std::size_t>(a.number("index"));
        if (i >= data.items.size()) {
          if (a.boolean("return_nodata")) return Value::null();
          a.fail("index", fmt::format("index {} is out of range (array of {})", i, data.items.size()));
        }
        return data.items[i];
      }
      if (data.kind != Value::Kind::Labeled)
        a.fail("data", fmt::format("expected an array, got {}", data.describe()));
      std::int64_t i = 0;
      if (by_index) {
        i = static_cast<std::int64_t>(a.number("index"));
      } else {
        const Value& label = a.get("label");
        const std::string want = label.kind == Value::Kind::String ? label.scalar.get<std::string>() : label.scalar.dump();
        const auto labels = labels_of(data.cube, data.dim);
        auto it = std::find(labels.begin(), labels.end(), want);
        if (it == labels.end()) a.fail("label", fmt::format("no label '{}' along '{}'", want, data.dim));
        i = it - labels.begin();
      }
      if (i >= data.cube.size(data.dim)) a.fail("index", fmt::format("index {} is out of range ('{}' has {})", i, data.dim, data.cube.size(data.dim)));
      return Value::of_cube(data.cube.isel({{data.dim, i}}));
    }}};

}  // namespace
}  // namespace cubist::openeo
