// Shared fixtures for the openEO tests: evaluate a graph, small in-memory cubes, and a test-only
// process `test_cube` that returns one of them (graphs cannot build cubes from literals).
#pragma once
#include <cubist/cubist.hpp>
#include <cubist/geo.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "openeo/evaluator.hpp"
#include "openeo/registry.hpp"

namespace cubist::openeo::testing {

// Cubes `test_cube` can return, by name.
void set_test_cube(const std::string& name, const DataArray& cube);

// (time 4, band [red, nir], y 2, x 3) float64 in EPSG:32632: red = 10 t + 3 y + x, nir = 100 + red;
// times 2023-01-01T10:00, 2023-01-01T15:00, 2023-01-20, 2023-03-05; x 500, 510, 520; y 1030, 1020.
DataArray small_cube();

Value eval(const nlohmann::json& graph, RunContext* context = nullptr);
// {"process_graph": {"n": {"process_id": id, "arguments": args, "result": true}}}
nlohmann::json single(const std::string& process_id, const nlohmann::json& arguments);
double number(const Value& v);
std::vector<double> values(const DataArray& a);
// small_cube()'s value of red (b = 0) or nir (b = 1) at t, y, x.
double cell(int t, int b, int y, int x);
// Every value of `a` (C order) equals `want` within `tolerance`, NaN where `want` is NaN.
void expect_values(const DataArray& a, const std::vector<double>& want, double tolerance = 1e-9);
// The message of the ValueError the graph's validation throws ("" when it passes).
std::string validation_error(const nlohmann::json& doc);

}  // namespace cubist::openeo::testing
