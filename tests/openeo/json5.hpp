// A reader for the JSON5 the openEO process test cases are written in (tests/openeo/process_cases):
// JSON plus comments, trailing commas, single-quoted strings, unquoted keys, a leading '+',
// NaN and (+/-)Infinity, which become nlohmann::json floats. Test-only code.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace cubist::openeo::testing {

// Throws cubist::ValueError naming `where` and the line of the first syntax error.
nlohmann::json parse_json5(const std::string& text, const std::string& where);
nlohmann::json read_json5_file(const std::string& path);

}  // namespace cubist::openeo::testing
