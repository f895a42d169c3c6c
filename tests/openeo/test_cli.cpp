// The CLI commands `cubist validate` and `cubist processes`, run as the built binary: exit codes,
// one-line errors naming the file, node and argument, and the GET /processes document.
// The binary is found next to this test's build tree (<build>/src/cubist) or through $CUBIST_CLI.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "openeo/registry.hpp"

namespace cubist::openeo::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path cli_path() {
  if (const char* env = std::getenv("CUBIST_CLI")) return env;
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "src" / "cubist";
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Outcome {
  int code = -1;
  std::string out, err;
};

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cubist_openeo_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_TRUE(fs::exists(cli_path())) << cli_path() << " is missing: build the cubist_cli target (or set CUBIST_CLI)";
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path graph(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p;
  }
  Outcome cubist(const std::string& args) {
    const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
    const std::string cmd = cli_path().string() + " " + args + " >" + out.string() + " 2>" + err.string();
    const int status = std::system(cmd.c_str());
    Outcome o;
    o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    o.out = slurp(out);
    o.err = slurp(err);
    return o;
  }
  fs::path dir_;
};

std::size_t lines(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

const char* kValid = R"({"process_graph": {
  "a": {"process_id": "add", "arguments": {"x": 1, "y": {"from_parameter": "k"}}},
  "b": {"process_id": "multiply", "arguments": {"x": {"from_node": "a"}, "y": 2}, "result": true}},
  "parameters": [{"name": "k", "schema": {"type": "number"}}]})";

TEST_F(Cli, ValidateAcceptsAValidGraph) {
  const fs::path g = graph("ok.json", kValid);
  const Outcome o = cubist("validate " + g.string());
  EXPECT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(o.out, g.string() + ": valid (2 nodes)\n");
  EXPECT_EQ(o.err, "");
}

TEST_F(Cli, ValidateNamesFileNodeAndArgumentInOneLine) {
  json doc = json::parse(kValid);
  doc["process_graph"]["b"]["arguments"]["z"] = 3;  // multiply has no z
  const fs::path g = graph("unknown_arg.json", doc.dump());
  Outcome o = cubist("validate " + g.string());
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(lines(o.err), 1u) << o.err;
  EXPECT_NE(o.err.find(g.string()), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("'b'"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("'z'"), std::string::npos) << o.err;

  doc = json::parse(kValid);
  doc["process_graph"]["b"]["arguments"]["x"] = {{"from_node", "nowhere"}};
  o = cubist("validate " + graph("dangling.json", doc.dump()).string());
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(lines(o.err), 1u) << o.err;
  EXPECT_NE(o.err.find("'nowhere'"), std::string::npos) << o.err;

  doc = json::parse(kValid);
  doc["process_graph"]["a"]["arguments"]["x"] = "one";  // add wants a number
  o = cubist("validate " + graph("type.json", doc.dump()).string());
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(lines(o.err), 1u) << o.err;
  EXPECT_NE(o.err.find("'a'"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("'x'"), std::string::npos) << o.err;
}

TEST_F(Cli, ValidateRejectsMissingAndMalformedFiles) {
  const fs::path missing = dir_ / "missing.json";
  Outcome o = cubist("validate " + missing.string());
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(lines(o.err), 1u) << o.err;
  EXPECT_NE(o.err.find(missing.string()), std::string::npos) << o.err;

  const fs::path broken = graph("broken.json", R"({"process_graph": {"a": )");
  o = cubist("validate " + broken.string());
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(lines(o.err), 1u) << o.err;
  EXPECT_NE(o.err.find(broken.string()), std::string::npos) << o.err;
}

TEST_F(Cli, ProcessesPrintsEveryRegisteredProcessAsJson) {
  const Outcome o = cubist("processes");
  ASSERT_EQ(o.code, 0) << o.err;
  const json doc = json::parse(o.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << "not JSON: " << o.out.substr(0, 200);
  ASSERT_TRUE(doc.contains("processes") && doc["processes"].is_array());
  std::set<std::string> listed;
  for (const auto& p : doc["processes"]) {
    ASSERT_TRUE(p.contains("id") && p["id"].is_string()) << p.dump();
    EXPECT_TRUE(p.contains("parameters") && p["parameters"].is_array()) << p["id"];
    EXPECT_TRUE(p.contains("returns")) << p["id"];
    listed.insert(p["id"].get<std::string>());
  }
  EXPECT_EQ(listed.size(), doc["processes"].size()) << "an id is listed twice";
  // Everything this library registers, except the tests' own test_cube, is what the binary lists.
  std::set<std::string> registered;
  for (const ProcessDef* def : all_processes())
    if (def->id != "test_cube") registered.insert(def->id);
  EXPECT_EQ(listed, registered);
  EXPECT_TRUE(listed.count("save_result") && listed.count("ndvi") && listed.count("load_stac"));
}

}  // namespace
}  // namespace cubist::openeo::testing
