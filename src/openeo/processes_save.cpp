// save_result records what to write; the runner (run.cpp) writes it after the whole graph has
// been evaluated, so a graph that fails anywhere leaves no output behind.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "openeo/registry.hpp"

namespace cubist::openeo {
namespace {

const ProcessRegistration save_result_reg{ProcessDef{
    "save_result", "Save processed data", "", {"cubes", "export"},
    {{"data", "The data to deliver.", schema::cube(), false, nullptr},
     {"format", "The file format: ZARR, netCDF (CF-1.8, netCDF-4) or GTiff (a COG of a (y, x) or (bands, y, x) cube); case-insensitive.", schema::string(), false, nullptr},
     {"options", "Format options (none supported yet).", {{"type", "object"}}, true, nlohmann::json::object()}},
    {{"description", "Always true: the data is written to --output after the graph has run."},
     {"schema", {{"type", "boolean"}}}},
    [](Args& a) -> Value {
      std::string format = a.string("format");
      std::transform(format.begin(), format.end(), format.begin(), [](unsigned char c) { return std::toupper(c); });
      if (format == "NC") format = "NETCDF";
      if (format != "ZARR" && format != "GTIFF" && format != "NETCDF")
        a.fail("format", fmt::format("format '{}' is not supported (supported: ZARR, netCDF, GTiff)", a.string("format")));
      if (!a.get("options").members.empty()) a.fail("options", "no format options are supported yet");
      a.context().saves.push_back({a.cube("data"), format, nlohmann::json::object(), a.node().id});
      return Value::boolean(true);
    }}};

}  // namespace
}  // namespace cubist::openeo
