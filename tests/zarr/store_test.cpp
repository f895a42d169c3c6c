#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "test_util.hpp"

using namespace cubist;
using namespace cubist::zarr;
using namespace cubist::zarr::testing;

TEST(ZarrStore, KeyValidationRefusesEscapes) {
  for (std::string_view bad : {"../x", "a/../../b", "/etc/passwd", "a\\b", "a//b", "", "./a", "a/."}) {
    expect_error<ValueError>([&] { validate_key(bad); }, {"invalid store key"});
  }
  expect_error<ValueError>([] { validate_key(std::string_view("a\0b", 3)); }, {"NUL", "a\\0b"});
  expect_error<ValueError>([] { validate_key("x/../y"); }, {"'x/../y'", ".."});
  EXPECT_NO_THROW(validate_key("temp/0.0.0"));
  EXPECT_NO_THROW(validate_key("c/0/1"));
  EXPECT_NO_THROW(validate_key(".zarray"));
  EXPECT_NO_THROW(validate_prefix(""));
  EXPECT_NO_THROW(validate_prefix("group/"));
}

TEST(ZarrStore, DirectoryStoreRoundTrip) {
  TempDir dir;
  auto s = open_directory_store(dir / "s.zarr");
  EXPECT_FALSE(s->get("a/b").has_value());
  EXPECT_FALSE(s->exists("a/b"));
  s->set("a/b", std::string_view("hello"));
  s->set("a/c", std::string_view("world!"));
  s->set(".zgroup", std::string_view("{}"));
  ASSERT_TRUE(s->get("a/b").has_value());
  EXPECT_EQ(s->get("a/b")->as_string(), "hello");
  EXPECT_TRUE(s->exists("a/c"));
  EXPECT_FALSE(s->exists("a"));  // a directory is not a key
  EXPECT_EQ(s->list(""), (std::vector<std::string>{".zgroup", "a/b", "a/c"}));
  EXPECT_EQ(s->list("a"), (std::vector<std::string>{"a/b", "a/c"}));
  EXPECT_EQ(s->list_dir(""), (std::vector<std::string>{".zgroup", "a"}));
  s->set("a/b", std::string_view("replaced"));
  EXPECT_EQ(s->get("a/b")->as_string(), "replaced");
  s->erase("a/b");
  s->erase("a/b");  // absent: no-op
  EXPECT_FALSE(s->exists("a/b"));
  s->erase_prefix("a");
  EXPECT_EQ(s->list(""), (std::vector<std::string>{".zgroup"}));
  EXPECT_THROW(s->get("../outside"), ValueError);
  EXPECT_THROW(s->set("/abs", std::string_view("x")), ValueError);
  // No temp files are left behind.
  for (auto& e : std::filesystem::recursive_directory_iterator(dir.path()))
    EXPECT_EQ(e.path().string().find("cubist-tmp"), std::string::npos);
}

TEST(ZarrStore, ConcurrentWritersOfOneKeyNeverTear) {
  TempDir dir;
  auto s = open_directory_store(dir.path());
  std::string a(100000, 'a'), b(100000, 'b');
  std::atomic<bool> stop{false};
  std::thread w1([&] { for (int i = 0; i < 200; ++i) s->set("k/v", a); });
  std::thread w2([&] { for (int i = 0; i < 200; ++i) s->set("k/v", b); });
  std::thread r([&] {
    while (!stop) {
      if (auto v = s->get("k/v")) {
        auto t = v->as_string();
        ASSERT_TRUE(t == a || t == b) << "torn read of " << t.size() << " bytes";
      }
    }
  });
  w1.join();
  w2.join();
  stop = true;
  r.join();
}

TEST(ZarrStore, OpenStoreRefusesUnknownSchemes) {
  expect_error<ValueError>([] { open_store("ftp://host/x.zarr"); }, {"ftp"});
  EXPECT_NO_THROW(open_store("file:///tmp/x.zarr"));
}

// Chunk files are named by joining the root and the key as strings (no std::filesystem::path per
// chunk): the files must be exactly root/key however the root is spelled, and errors must name them.
TEST(ZarrStore, KeysLandAtRootSlashKeyHoweverTheRootIsSpelled) {
  TempDir dir;
  const auto root = dir / "s.zarr";
  for (const std::string& spelled : {root.string(), root.string() + "/", "file://" + root.string()}) {
    std::filesystem::remove_all(root);
    auto s = open_store(spelled);
    s->set("a/b/0.0", std::string_view("chunk"));
    s->set(".zarray", std::string_view("{}"));
    ASSERT_TRUE(std::filesystem::is_regular_file(root / "a" / "b" / "0.0")) << spelled;
    EXPECT_TRUE(std::filesystem::is_regular_file(root / ".zarray")) << spelled;
    EXPECT_EQ(s->get("a/b/0.0")->as_string(), "chunk");
    EXPECT_EQ(s->get_range("a/b/0.0", 1, 3)->as_string(), "hun");
    Bytes suffix;
    EXPECT_EQ(s->get_suffix_into("a/b/0.0", 2, suffix), std::optional<std::uint64_t>(5));
    EXPECT_EQ(suffix.as_string(), "nk");
    EXPECT_TRUE(s->exists("a/b/0.0"));
    EXPECT_FALSE(s->exists("a/b"));
    EXPECT_EQ(s->list(""), (std::vector<std::string>{".zarray", "a/b/0.0"}));
  }
  // A file where a directory of the key should be: the error names the file being created.
  auto s = open_directory_store(root);
  s->set("f", std::string_view("not a directory"));
  expect_error<IOError>([&] { s->set("f/0.0", std::string_view("x")); }, {"cannot", (root / "f" / "0.0").string()});
}

// Temp names carry the process id, cached once per process: a forked child must not reuse its
// parent's (both inherit the same temp-name counter), or a parent and child writing one key at
// once would share a temp file and tear it.
TEST(ZarrStore, ForkedWritersOfOneKeyNeverTear) {
  TempDir dir;
  auto s = open_directory_store(dir.path());
  const std::string a(100000, 'a'), b(100000, 'b');
  s->set("k/v", a);  // the parent's pid is cached before the fork
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int status = 0;
    try {
      for (int i = 0; i < 300; ++i) s->set("k/v", b);
    } catch (...) {
      status = 1;
    }
    ::_exit(status);
  }
  bool parent_ok = true, torn = false;
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop) {
      if (auto v = s->get("k/v"); v && v->as_string() != a && v->as_string() != b) torn = true;
    }
  });
  try {
    for (int i = 0; i < 300; ++i) s->set("k/v", a);
  } catch (...) {
    parent_ok = false;
  }
  int status = -1;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  stop = true;
  reader.join();
  EXPECT_TRUE(parent_ok);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child's writes failed";
  EXPECT_FALSE(torn);
  for (auto& e : std::filesystem::recursive_directory_iterator(dir.path()))
    EXPECT_EQ(e.path().string().find("cubist-tmp"), std::string::npos) << e.path();
}
