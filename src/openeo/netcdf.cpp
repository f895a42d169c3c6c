// save_result as netCDF: GDAL's netCDF driver in multidimensional mode writes the dimensions,
// coordinate variables, attributes and the data variable; the CF encodings (time units, grid
// mapping, fill value) are chosen here so that xarray and rioxarray decode the file unaided.
// The data variable is written one cube chunk at a time as the scheduler computes them (netCDF
// chunks of the cube's chunk shape), so memory stays bounded: after GDAL has written and closed
// everything else, through HDF5 with each chunk compressed on its worker thread (hdf5_chunks.hpp).
#include "openeo/netcdf.hpp"

#include <cpl_string.h>
#include <fmt/format.h>
#include <gdal.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <vector>

#include "cubist/error.hpp"
#include "cubist/geo.hpp"
#include "openeo/chunk_sink.hpp"
#include "openeo/hdf5_chunks.hpp"

namespace cubist::openeo {
namespace {

struct Closer {
  void operator()(GDALDatasetH h) const { GDALClose(h); }
};
using Dataset = std::unique_ptr<void, Closer>;
struct GroupRelease {
  void operator()(GDALGroupH h) const { GDALGroupRelease(h); }
};
struct DimRelease {
  void operator()(GDALDimensionH h) const { GDALDimensionRelease(h); }
};
struct ArrayRelease {
  void operator()(GDALMDArrayH h) const { GDALMDArrayRelease(h); }
};
struct TypeRelease {
  void operator()(GDALExtendedDataTypeH h) const { GDALExtendedDataTypeRelease(h); }
};
struct AttrRelease {
  void operator()(GDALAttributeH h) const { GDALAttributeRelease(h); }
};
using Group = std::unique_ptr<std::remove_pointer_t<GDALGroupH>, GroupRelease>;
using Dim = std::unique_ptr<std::remove_pointer_t<GDALDimensionH>, DimRelease>;
using Array = std::unique_ptr<std::remove_pointer_t<GDALMDArrayH>, ArrayRelease>;
using Type = std::unique_ptr<std::remove_pointer_t<GDALExtendedDataTypeH>, TypeRelease>;
using Attr = std::unique_ptr<std::remove_pointer_t<GDALAttributeH>, AttrRelease>;

// Every GDAL call below is checked; the first failure becomes one IOError naming the file.
class Writer {
 public:
  explicit Writer(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw IOError(fmt::format("{}: GDAL could not write the netCDF {}: {}", path_, what, CPLGetLastErrorMsg()));
  }
  void check(bool ok, const std::string& what) const {
    if (!ok) fail(what);
  }

  // JSON attributes GDAL can hold: strings, numbers, booleans (as 0/1) and numeric lists.
  void attribute(GDALMDArrayH array, const std::string& name, const nlohmann::json& v) const {
    const std::string what = fmt::format("attribute '{}'", name);
    auto make = [&](GDALExtendedDataTypeH type, GUInt64 n) {
      Attr a(GDALMDArrayCreateAttribute(array, name.c_str(), n ? 1 : 0, n ? &n : nullptr, type, nullptr));
      check(a != nullptr, what);
      return a;
    };
    if (v.is_string()) {
      Type t(GDALExtendedDataTypeCreateString(0));
      check(GDALAttributeWriteString(make(t.get(), 0).get(), v.get<std::string>().c_str()), what);
    } else if (v.is_number_integer() || v.is_boolean()) {
      Type t(GDALExtendedDataTypeCreate(GDT_Int32));
      const double d = v.is_boolean() ? (v.get<bool>() ? 1 : 0) : v.get<double>();
      if (std::fabs(d) > std::numeric_limits<int>::max()) {
        Type f(GDALExtendedDataTypeCreate(GDT_Float64));
        check(GDALAttributeWriteDouble(make(f.get(), 0).get(), d), what);
      } else {
        check(GDALAttributeWriteInt(make(t.get(), 0).get(), static_cast<int>(d)), what);
      }
    } else if (v.is_number()) {
      Type t(GDALExtendedDataTypeCreate(GDT_Float64));
      check(GDALAttributeWriteDouble(make(t.get(), 0).get(), v.get<double>()), what);
    } else if (v.is_array() && !v.empty() && std::all_of(v.begin(), v.end(), [](const auto& e) { return e.is_number(); })) {
      std::vector<double> d;
      for (const auto& e : v) d.push_back(e.get<double>());
      Type t(GDALExtendedDataTypeCreate(GDT_Float64));
      check(GDALAttributeWriteDoubleArray(make(t.get(), d.size()).get(), d.data(), d.size()), what);
    }
  }

  Array create(GDALGroupH group, const std::string& name, const std::vector<GDALDimensionH>& dims, GDALExtendedDataTypeH type,
               bool compress, const std::string& block_size = "") const {
    char** options = compress ? CSLSetNameValue(nullptr, "COMPRESS", "DEFLATE") : nullptr;
    if (!block_size.empty()) options = CSLSetNameValue(options, "BLOCKSIZE", block_size.c_str());
    Array a(GDALGroupCreateMDArray(group, name.c_str(), dims.size(), const_cast<GDALDimensionH*>(dims.data()), type, options));
    CSLDestroy(options);
    check(a != nullptr, fmt::format("variable '{}'", name));
    return a;
  }

  void write(GDALMDArrayH array, const std::string& name, const std::vector<GUInt64>& shape, GDALDataType buffer_type,
             const void* data) const {
    std::vector<GUInt64> start(shape.size(), 0);
    std::vector<size_t> count(shape.begin(), shape.end());
    Type t(GDALExtendedDataTypeCreate(buffer_type));
    check(GDALMDArrayWrite(array, start.data(), count.data(), nullptr, nullptr, t.get(), data, nullptr, 0),
          fmt::format("values of '{}'", name));
  }

 private:
  std::string path_;
};

// netCDF-4 chunks of the cube's (first) chunk shape, so each chunk write fills whole netCDF chunks.
std::string block_size(const ChunkGrid& g) {
  std::string out;
  for (std::size_t a = 0; a < g.rank(); ++a) {
    const auto& c = g.chunks(a);
    out += fmt::format("{}{}", a ? "," : "", std::max<std::int64_t>(1, c.empty() ? 1 : c.front()));
  }
  return out;
}

// The coarsest CF unit that holds every datetime exactly (xarray decodes all of these).
std::pair<std::string, std::int64_t> time_unit(const std::vector<std::int64_t>& ns) {
  static const std::pair<const char*, std::int64_t> units[] = {
      {"days", 86'400'000'000'000}, {"seconds", 1'000'000'000}, {"milliseconds", 1'000'000}, {"microseconds", 1'000}};
  for (const auto& [unit, step] : units) {
    bool exact = true;
    for (std::int64_t v : ns) exact = exact && (v == std::numeric_limits<std::int64_t>::min() || v % step == 0);
    if (exact) return {unit, step};
  }
  return {"nanoseconds", 1};
}

// One coordinate as a variable over `dims` (the netCDF dimensions of its own dims).
void write_coordinate(const Writer& w, GDALGroupH group, const std::string& name, const Coordinate& c,
                      const std::vector<GDALDimensionH>& dims) {
  std::vector<GUInt64> shape;
  for (auto n : c.shape()) shape.push_back(static_cast<GUInt64>(n));
  Attrs attrs = c.attrs().is_object() ? c.attrs() : Attrs::object();
  if (c.is_string()) {
    Type t(GDALExtendedDataTypeCreateString(0));
    Array a = w.create(group, name, dims, t.get(), false);
    std::vector<const char*> ptrs;
    for (const auto& s : c.string_values()) ptrs.push_back(s.c_str());
    std::vector<size_t> count(shape.begin(), shape.end());
    std::vector<GUInt64> start(shape.size(), 0);
    w.check(GDALMDArrayWrite(a.get(), start.data(), count.data(), nullptr, nullptr, t.get(), ptrs.data(), nullptr, 0),
            fmt::format("values of '{}'", name));
    for (const auto& [k, v] : attrs.items()) w.attribute(a.get(), k, v);
    return;
  }
  if (c.dtype() == DType::DateTime64) {
    const auto raw = c.values().values<std::int64_t>();
    std::vector<std::int64_t> ns(raw.begin(), raw.end());
    const auto [unit, step] = time_unit(ns);
    const std::int64_t nat = std::numeric_limits<std::int64_t>::min();
    bool has_nat = false;
    for (auto& v : ns) {
      has_nat = has_nat || v == nat;
      if (v != nat) v /= step;
    }
    Type t(GDALExtendedDataTypeCreate(GDT_Int64));
    Array a = w.create(group, name, dims, t.get(), false);
    if (has_nat) w.check(GDALMDArraySetNoDataValueAsInt64(a.get(), nat), fmt::format("_FillValue of '{}'", name));
    w.write(a.get(), name, shape, GDT_Int64, ns.data());
    attrs.erase("units");
    attrs.erase("calendar");
    attrs["units"] = fmt::format("{} since 1970-01-01", unit);
    attrs["calendar"] = "proleptic_gregorian";
    for (const auto& [k, v] : attrs.items()) w.attribute(a.get(), k, v);
    return;
  }
  const bool floating = c.dtype() == DType::Float32 || c.dtype() == DType::Float64;
  std::vector<double> values(static_cast<std::size_t>(c.size()));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = c.numeric_value(static_cast<std::int64_t>(i));
  Type t(GDALExtendedDataTypeCreate(c.dtype() == DType::Float32 ? GDT_Float32 : floating ? GDT_Float64 : GDT_Int64));
  Array a = w.create(group, name, dims, t.get(), false);
  w.write(a.get(), name, shape, GDT_Float64, values.data());
  for (const auto& [k, v] : attrs.items()) w.attribute(a.get(), k, v);
}


}  // namespace

void write_netcdf(const DataArray& input, const std::string& path, const ComputeOptions& compute) {
  GDALAllRegister();
  GDALDriverH driver = GDALGetDriverByName("netCDF");
  if (!driver || !GDALGetMetadataItem(driver, GDAL_DCAP_CREATE_MULTIDIMENSIONAL, nullptr))
    throw IOError("this GDAL has no netCDF driver with multidimensional write support: save as ZARR or GTiff");
  const std::optional<Crs> crs = crs_of(input);
  const DataArray cube = crs ? write_crs(input, *crs) : input;
  const bool f32 = cube.dtype() == DType::Float32;
  const DataArray data = f32 ? cube : cube.astype(DType::Float64);

  const Writer w(path);
  char** options = CSLSetNameValue(nullptr, "FORMAT", "NC4");
  Dataset ds(GDALCreateMultiDimensional(driver, path.c_str(), nullptr, options));
  CSLDestroy(options);
  w.check(ds != nullptr, "file");
  Group root(GDALDatasetGetRootGroup(ds.get()));
  w.check(root != nullptr, "root group");

  std::map<std::string, Dim> dims;
  for (const auto& name : cube.dims()) {
    const char* type = name == "x" ? "HORIZONTAL_X" : name == "y" ? "HORIZONTAL_Y" : name == "time" ? "TEMPORAL" : nullptr;
    Dim d(GDALGroupCreateDimension(root.get(), name.c_str(), type, nullptr, static_cast<GUInt64>(cube.size(name)), nullptr));
    w.check(d != nullptr, fmt::format("dimension '{}'", name));
    dims.emplace(name, std::move(d));
  }
  auto handles = [&](const std::vector<std::string>& names) {
    std::vector<GDALDimensionH> h;
    for (const auto& n : names) h.push_back(dims.at(n).get());
    return h;
  };

  // Coordinates: index coordinates become the dimensions' variables; the others (on the cube's
  // dims or scalar) are listed in the data variable's `coordinates` attribute.
  std::vector<std::string> auxiliary;
  for (const auto& [name, coord] : cube.coords()) {
    bool on_cube = true;
    for (const auto& d : coord.dims()) on_cube = on_cube && dims.count(d);
    if (!on_cube) continue;
    write_coordinate(w, root.get(), name, coord, handles(coord.dims()));
    const bool index = coord.dims().size() == 1 && coord.dims()[0] == name;
    if (index) {
      // A netCDF variable named as its dimension is that dimension's coordinate variable.
      Array a(GDALGroupOpenMDArray(root.get(), name.c_str(), nullptr));
      w.check(a != nullptr, fmt::format("coordinate variable '{}'", name));
      if ((name == "x" || name == "y") && !coord.attrs().contains("standard_name") && crs) {
        const bool geo = crs->is_geographic();
        w.attribute(a.get(), "standard_name",
                    geo ? (name == "x" ? "longitude" : "latitude") : (name == "x" ? "projection_x_coordinate" : "projection_y_coordinate"));
        w.attribute(a.get(), "axis", name == "x" ? "X" : "Y");
      }
    } else {
      // spatial_ref too, as xarray writes rioxarray's cubes: listed, it opens as a coordinate
      // and rioxarray finds the grid mapping on the variable alone.
      auxiliary.push_back(name);
    }
  }

  Type type(GDALExtendedDataTypeCreate(f32 ? GDT_Float32 : GDT_Float64));
  Array var = w.create(root.get(), "data", handles(cube.dims()), type.get(), true, block_size(data.chunks()));
  w.check(GDALMDArraySetNoDataValueAsDouble(var.get(), std::numeric_limits<double>::quiet_NaN()), "_FillValue of 'data'");
  for (const auto& [k, v] : cube.attrs().items())
    if (k != "_FillValue" && k != "coordinates") w.attribute(var.get(), k, v);
  if (!auxiliary.empty()) {
    std::string list;
    for (const auto& n : auxiliary) list += (list.empty() ? "" : " ") + n;
    w.attribute(var.get(), "coordinates", list);
  }
  var.reset();
  // Conventions on the root group: the file is CF.
  Type str(GDALExtendedDataTypeCreateString(0));
  Attr conventions(GDALGroupCreateAttribute(root.get(), "Conventions", 0, nullptr, str.get(), nullptr));
  w.check(conventions && GDALAttributeWriteString(conventions.get(), "CF-1.8"), "attribute 'Conventions'");
  conventions.reset();
  root.reset();
  dims.clear();
  CPLErrorReset();
  ds.reset();  // the netCDF driver flushes on close
  w.check(CPLGetLastErrorType() < CE_Failure, "file (closing)");
  // The data variable's chunks: compressed on the worker threads (hdf5_chunks.hpp).
  const auto chunks = open_hdf5_chunk_writer(path, "data");
  write_chunks(data, *chunks, compute);
}

}  // namespace cubist::openeo
