// save_result as netCDF, read back through GDAL's multidimensional API (xarray's view of the
// same files is checked by tests/integration/openeo/check_openeo_netcdf.py).
#include <gdal.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "helpers.hpp"
#include "openeo/run.hpp"

namespace cubist::openeo::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json ref(const std::string& id) { return {{"from_node", id}}; }

std::vector<double> read_all(GDALMDArrayH a) {
  const std::size_t n = static_cast<std::size_t>(GDALMDArrayGetTotalElementsCount(a));
  std::vector<double> out(n);
  std::size_t ndims = 0;
  GDALDimensionH* dims = GDALMDArrayGetDimensions(a, &ndims);
  std::vector<GUInt64> start(ndims, 0);
  std::vector<size_t> count(ndims);
  for (std::size_t i = 0; i < ndims; ++i) count[i] = static_cast<size_t>(GDALDimensionGetSize(dims[i]));
  GDALReleaseDimensions(dims, ndims);
  GDALExtendedDataTypeH t = GDALExtendedDataTypeCreate(GDT_Float64);
  EXPECT_TRUE(GDALMDArrayRead(a, start.data(), count.data(), nullptr, nullptr, t, out.data(), nullptr, 0));
  GDALExtendedDataTypeRelease(t);
  return out;
}

std::string string_attr(GDALMDArrayH a, const char* name) {
  GDALAttributeH attr = GDALMDArrayGetAttribute(a, name);
  if (!attr) return "";
  const char* s = GDALAttributeReadAsString(attr);
  std::string out = s ? s : "";
  GDALAttributeRelease(attr);
  return out;
}

// The array's data type class and numeric type (the handle GDAL returns must be released).
std::pair<GDALExtendedDataTypeClass, GDALDataType> type_of(GDALMDArrayH a) {
  GDALExtendedDataTypeH t = GDALMDArrayGetDataType(a);
  const auto out = std::pair{GDALExtendedDataTypeGetClass(t), GDALExtendedDataTypeGetNumericDataType(t)};
  GDALExtendedDataTypeRelease(t);
  return out;
}

std::vector<std::string> dim_names(GDALMDArrayH a) {
  std::size_t n = 0;
  GDALDimensionH* dims = GDALMDArrayGetDimensions(a, &n);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(GDALDimensionGetName(dims[i]));
  GDALReleaseDimensions(dims, n);
  return out;
}

class NetCdf : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cubist_openeo_nc_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    GDALAllRegister();
  }
  void TearDown() override { fs::remove_all(dir_); }
  RunResult run(const DataArray& cube, const std::string& file, const std::string& format = "netCDF") {
    set_test_cube("nc", cube);
    json g = {{"c", {{"process_id", "test_cube"}, {"arguments", {{"name", "nc"}}}}},
              {"s", {{"process_id", "save_result"}, {"arguments", {{"data", ref("c")}, {"format", format}}}, {"result", true}}}};
    RunOptions o;
    o.output = (dir_ / file).string();
    return run_process_graph({{"process_graph", g}}, o);
  }
  fs::path dir_;
};

TEST_F(NetCdf, WritesDimsCoordinatesValuesTimeAndCrs) {
  DataArray cube = small_cube();
  // A NaN must come back as NaN (the _FillValue), not as a number.
  cube = cube.where(cube != 12.0);
  EXPECT_EQ(run(cube, "cube.nc").format, "NETCDF");
  const std::string path = (dir_ / "cube.nc").string();
  GDALDatasetH ds = GDALOpenEx(path.c_str(), GDAL_OF_MULTIDIM_RASTER, nullptr, nullptr, nullptr);
  ASSERT_NE(ds, nullptr);
  GDALGroupH root = GDALDatasetGetRootGroup(ds);
  GDALMDArrayH data = GDALGroupOpenMDArray(root, "data", nullptr);
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(dim_names(data), (std::vector<std::string>{"time", "band", "y", "x"}));
  const std::vector<double> v = read_all(data);
  ASSERT_EQ(v.size(), 48u);
  const std::vector<double> expected = values(cube);
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(expected[i]))
      EXPECT_TRUE(std::isnan(v[i])) << i;
    else
      EXPECT_DOUBLE_EQ(v[i], expected[i]) << i;
  }
  int has_nodata = 0;
  EXPECT_TRUE(std::isnan(GDALMDArrayGetNoDataValueAsDouble(data, &has_nodata)));
  EXPECT_TRUE(has_nodata);
  EXPECT_EQ(string_attr(data, "grid_mapping"), "spatial_ref");

  GDALMDArrayH time = GDALGroupOpenMDArray(root, "time", nullptr);
  ASSERT_NE(time, nullptr);
  // 10:00 and 15:00 on the same day: whole seconds, not days.
  EXPECT_EQ(string_attr(time, "units"), "seconds since 1970-01-01");
  EXPECT_EQ(read_all(time), (std::vector<double>{1672567200, 1672585200, 1674172800, 1677974400}));
  GDALMDArrayH x = GDALGroupOpenMDArray(root, "x", nullptr);
  EXPECT_EQ(read_all(x), (std::vector<double>{500, 510, 520}));
  EXPECT_EQ(string_attr(x, "standard_name"), "projection_x_coordinate");
  GDALMDArrayH y = GDALGroupOpenMDArray(root, "y", nullptr);
  EXPECT_EQ(read_all(y), (std::vector<double>{1030, 1020}));
  GDALMDArrayH band = GDALGroupOpenMDArray(root, "band", nullptr);
  ASSERT_NE(band, nullptr);
  EXPECT_EQ(type_of(band).first, GEDTC_STRING);
  GDALMDArrayH crs = GDALGroupOpenMDArray(root, "spatial_ref", nullptr);
  ASSERT_NE(crs, nullptr);
  EXPECT_NE(string_attr(crs, "crs_wkt").find("32632"), std::string::npos);
  EXPECT_EQ(string_attr(crs, "grid_mapping_name"), "transverse_mercator");
  for (GDALMDArrayH a : {data, time, x, y, band, crs}) GDALMDArrayRelease(a);
  GDALGroupRelease(root);
  GDALClose(ds);
  // Nothing but the file is left (the temporary name was renamed).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(NetCdf, DailyTimesUseDaysAndFloat32StaysFloat32) {
  DataArray cube = small_cube().isel({{"time", std::vector<std::int64_t>{2, 3}}}).astype(DType::Float32);
  run(cube, "f32.NC", "nc");
  const std::string path = (dir_ / "f32.NC").string();
  GDALDatasetH ds = GDALOpenEx(path.c_str(), GDAL_OF_MULTIDIM_RASTER, nullptr, nullptr, nullptr);
  ASSERT_NE(ds, nullptr);
  GDALGroupH root = GDALDatasetGetRootGroup(ds);
  GDALMDArrayH data = GDALGroupOpenMDArray(root, "data", nullptr);
  EXPECT_EQ(type_of(data).second, GDT_Float32);
  GDALMDArrayH time = GDALGroupOpenMDArray(root, "time", nullptr);
  EXPECT_EQ(string_attr(time, "units"), "days since 1970-01-01");
  EXPECT_EQ(read_all(time), (std::vector<double>{19377, 19421}));
  GDALMDArrayRelease(data);
  GDALMDArrayRelease(time);
  GDALGroupRelease(root);
  GDALClose(ds);
}

// The data variable's chunks are compressed on the worker threads and written as HDF5 chunks:
// partial edge chunks (padded to the netCDF chunk shape) and chunks of an irregular grid (written
// through HDF5's own pipeline) must read back exactly, in float64 and float32.
TEST_F(NetCdf, EdgeChunksAndIrregularGridsReadBackExactly) {
  std::vector<double> v(3 * 37 * 53);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = i % 97 == 0 ? std::nan("") : std::sin(0.01 * static_cast<double>(i)) * 1000;
  std::vector<double> ys(37), xs(53);
  for (std::size_t i = 0; i < ys.size(); ++i) ys[i] = 2000 - 10.0 * static_cast<double>(i);
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = 500 + 10.0 * static_cast<double>(i);
  Coords coords{{"time", Coordinate::datetimes("time", {"2023-01-01", "2023-01-02", "2023-01-03"})},
                {"y", Coordinate::from_vector<double>("y", ys)},
                {"x", Coordinate::from_vector<double>("x", xs)}};
  const DataArray base = write_crs(DataArray::from_vector(v, {{"time", 3}, {"y", 37}, {"x", 53}}, coords), Crs::epsg(32632));
  const DataArray regular = base.chunk({{"time", 1}, {"y", 16}, {"x", 16}});  // edges: y 5, x 5
  const DataArray irregular = regular.isel({{"y", Slice{5, 37}}});          // y chunks 11, 16, 5
  int n = 0;
  for (const DataArray& cube : {regular, irregular, regular.astype(DType::Float32), irregular.astype(DType::Float32)}) {
    const std::string file = "chunks" + std::to_string(n++) + ".nc";
    run(cube, file);
    const std::string path = (dir_ / file).string();
    GDALDatasetH ds = GDALOpenEx(path.c_str(), GDAL_OF_MULTIDIM_RASTER, nullptr, nullptr, nullptr);
    ASSERT_NE(ds, nullptr) << file;
    GDALGroupH root = GDALDatasetGetRootGroup(ds);
    GDALMDArrayH data = GDALGroupOpenMDArray(root, "data", nullptr);
    ASSERT_NE(data, nullptr);
    const std::vector<double> got = read_all(data), want = values(cube);
    ASSERT_EQ(got.size(), want.size()) << file;
    for (std::size_t i = 0; i < want.size(); ++i) {
      if (std::isnan(want[i])) EXPECT_TRUE(std::isnan(got[i])) << file << " at " << i;
      else EXPECT_EQ(got[i], want[i]) << file << " at " << i;
    }
    GDALMDArrayRelease(data);
    GDALGroupRelease(root);
    GDALClose(ds);
  }
}

TEST_F(NetCdf, FailureLeavesNothing) {
  // An unwritable target: the error names the path and no partial file is left.
  set_test_cube("nc", small_cube());
  json g = {{"c", {{"process_id", "test_cube"}, {"arguments", {{"name", "nc"}}}}},
            {"s", {{"process_id", "save_result"}, {"arguments", {{"data", ref("c")}, {"format", "netCDF"}}}, {"result", true}}}};
  RunOptions o;
  o.output = (dir_ / "missing" / "out.nc").string();
  EXPECT_THROW(run_process_graph({{"process_graph", g}}, o), Error);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 0);
}

}  // namespace
}  // namespace cubist::openeo::testing
