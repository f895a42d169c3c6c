// HttpClient::get_range_into (a range GET written straight into the caller's memory) against
// HttpServer on 127.0.0.1, and the server's mounted files sent in pieces from the open file.
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <vector>

#include <curl/curl.h>
#include <fmt/format.h>

#include "cubist/error.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net_test_support.hpp"

namespace net = cubist::net;
namespace fs = std::filesystem;

namespace {

net::HttpOptions fast(int retries = 2) { return cubist::net::testing::fast(retries); }

std::string bytes_pattern(std::size_t n) { return cubist::net::testing::bytes_pattern(n, 13, 509); }

// Bytes [offset, offset + length) read with get_range_into into a buffer of exactly `length`
// bytes (so a write past it shows under ASan), as a string of the bytes written.
std::string into(const net::HttpClient& c, const std::string& url, std::uint64_t offset, std::size_t length) {
  std::vector<std::byte> buffer(length);
  const std::size_t n = c.get_range_into(url, offset, length, buffer.data());
  EXPECT_LE(n, length);
  return std::string(reinterpret_cast<const char*>(buffer.data()), n);
}

class RangeIntoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cubist_net_range_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    // Larger than the server's 256 KiB read buffer: whole-file and range answers cross pieces.
    content_ = bytes_pattern(1'000'003);
    std::ofstream(dir_ / "big.bin", std::ios::binary) << content_;
    server_.mount_directory("/data", dir_.string());
  }
  void TearDown() override {
    server_.stop();
    fs::remove_all(dir_);
  }
  std::string url(const std::string& path) const { return server_.base_url() + path; }

  fs::path dir_;
  std::string content_;
  net::HttpServer server_;
};

// A route answering Range requests for `content` the way a given misbehaving server would.
net::Handler ranged(std::string content, std::function<net::ServerResponse(std::uint64_t, std::uint64_t)> answer) {
  return [content = std::move(content), answer = std::move(answer)](const net::ServerRequest& r) {
    std::smatch m;
    const std::string range = r.headers.count("range") ? r.headers.at("range") : "";
    if (!std::regex_match(range, m, std::regex(R"(bytes=(\d+)-(\d+))")))
      return net::ServerResponse{200, content, "application/octet-stream"};
    return answer(std::stoull(m[1]), std::stoull(m[2]));
  };
}

}  // namespace

TEST_F(RangeIntoTest, SameBytesAsGetRange) {
  server_.start();
  net::HttpClient client(fast());
  const std::string u = url("/data/big.bin");
  for (auto [offset, length] : std::vector<std::pair<std::uint64_t, std::size_t>>{
           {0, 1}, {0, 100}, {1234, 4321}, {262'143, 262'146}, {5, 1'000'000}, {0, 1'000'003}}) {
    EXPECT_EQ(into(client, u, offset, length), content_.substr(offset, length)) << offset << "+" << length;
    EXPECT_EQ(into(client, u, offset, length),
              client.get_range(u, static_cast<std::int64_t>(offset), static_cast<std::int64_t>(length)));
  }
  // Partly past the end: the bytes that exist; wholly past it (416) or nothing asked: none.
  EXPECT_EQ(into(client, u, 999'990, 100), content_.substr(999'990));
  EXPECT_EQ(into(client, u, 1'000'003, 10), "");
  EXPECT_EQ(into(client, u, 5'000'000, 10), "");
  EXPECT_EQ(client.get_range_into(u, 7, 0, nullptr), 0u);
  EXPECT_THROW(client.get_range_into(u, 7, 10, nullptr), cubist::ValueError);
  EXPECT_THROW(client.get_range_into(u, UINT64_MAX - 3, 10, nullptr), cubist::ValueError);
  EXPECT_THROW(into(client, "file:///etc/passwd", 0, 10), cubist::ValueError);
  // Counted like every request: one connection kept alive, body bytes received.
  const auto before = client.stats();
  into(client, u, 10, 1000);
  EXPECT_EQ(client.stats().requests, before.requests + 1);
  EXPECT_EQ(client.stats().bytes_received, before.bytes_received + 1000);
  EXPECT_EQ(client.stats().connections, 1u);
}

TEST_F(RangeIntoTest, AServerIgnoringRangeGivesThePartAskedFor) {
  const std::string content = content_.substr(0, 300'000);
  server_.route("GET", "/whole", [&](const net::ServerRequest&) {
    return net::ServerResponse{200, content, "application/octet-stream"};
  });
  server_.start();
  net::HttpClient client(fast());
  EXPECT_EQ(into(client, url("/whole"), 70'000, 100'000), content.substr(70'000, 100'000));
  EXPECT_EQ(into(client, url("/whole"), 299'990, 100), content.substr(299'990));
  EXPECT_EQ(into(client, url("/whole"), 400'000, 100), "");
}

TEST_F(RangeIntoTest, WrongOrLongAnswersAreErrorsAndStatusesAreReported) {
  const std::string content = content_.substr(0, 5000);
  auto reply = [&](std::uint64_t first, std::uint64_t last, std::int64_t shift, std::int64_t extra) {
    net::ServerResponse r{206, content.substr(first + shift, last - first + 1 + extra), "application/octet-stream"};
    r.headers.emplace_back("Content-Range", fmt::format("bytes {}-{}/5000", first + shift, last + shift + extra));
    return r;
  };
  std::atomic<int> failures{0};
  server_.route("GET", "/shifted", ranged(content, [&](auto a, auto b) { return reply(a, b, 1, 0); }));
  server_.route("GET", "/longer", ranged(content, [&](auto a, auto b) { return reply(a, b, 0, 7); }));
  server_.route("GET", "/shorter", ranged(content, [&](auto a, auto b) { return reply(a, b, 0, -1); }));
  server_.route("GET", "/lying", ranged(content, [&](std::uint64_t a, std::uint64_t b) {
    auto r = reply(a, b, 0, 0);  // claims the range but sends one byte less
    r.body.pop_back();
    return r;
  }));
  server_.route("GET", "/missing", ranged(content, [](auto, auto) { return net::ServerResponse{404, "no such tile", "text/plain"}; }));
  server_.route("GET", "/broken", ranged(content, [&](auto, auto) {
    ++failures;
    return net::ServerResponse{500, "disk on fire", "text/plain"};
  }));
  server_.start();
  net::HttpClient client(fast(2));
  auto error_of = [&](const std::string& path) -> std::string {
    try {
      into(client, url(path), 100, 50);
    } catch (const cubist::IOError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(error_of("/shifted").find("Content-Range 'bytes 101-150/5000'"), std::string::npos) << error_of("/shifted");
  EXPECT_NE(error_of("/longer").find("more than the 50 bytes asked for"), std::string::npos) << error_of("/longer");
  EXPECT_NE(error_of("/lying").find("Content-Range 'bytes 100-149/5000' and 49 bytes"), std::string::npos)
      << error_of("/lying");
  // A consistent shorter answer is the end of the resource: fewer bytes, no error.
  EXPECT_EQ(into(client, url("/shorter"), 100, 50), content.substr(100, 49));
  EXPECT_EQ(error_of("/missing"), "HTTP 404 from GET " + url("/missing") + ": no such tile");
  EXPECT_EQ(error_of("/broken"), "HTTP 500 from GET " + url("/broken") + " after 3 attempts: disk on fire");
  EXPECT_EQ(failures.load(), 3);
  try {
    into(client, url("/missing"), 0, 10);
    FAIL() << "expected HttpStatusError";
  } catch (const net::HttpStatusError& e) {
    EXPECT_EQ(e.status(), 404);
  }
}

TEST_F(RangeIntoTest, MountedFilesAreSentFromTheFileWithTheSameHeaders) {
  server_.start();
  net::HttpClient client(fast());
  const std::string u = url("/data/big.bin");
  EXPECT_EQ(client.get(u).body, content_);
  auto r = client.get(u, {{"Range", "bytes=262140-524300"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.headers.at("content-range"), "bytes 262140-524300/1000003");
  EXPECT_EQ(r.headers.at("content-length"), "262161");
  EXPECT_EQ(r.headers.at("accept-ranges"), "bytes");
  EXPECT_EQ(r.body, content_.substr(262'140, 262'161));
  auto suffix = client.get(u, {{"Range", "bytes=-3"}});
  EXPECT_EQ(suffix.headers.at("content-range"), "bytes 1000000-1000002/1000003");
  EXPECT_EQ(suffix.body, content_.substr(1'000'000));
  auto open = client.get(u, {{"Range", "bytes=999999-"}});
  EXPECT_EQ(open.headers.at("content-range"), "bytes 999999-1000002/1000003");
  EXPECT_EQ(open.body, content_.substr(999'999));
  EXPECT_EQ(server_.stats().bytes_sent, content_.size() + 262'161 + 3 + 4);

  // HEAD of a range: the range's headers, no body, nothing counted as sent.
  const auto h = cubist::net::testing::head(u, "10-19");
  ASSERT_EQ(h.code, CURLE_OK);
  EXPECT_EQ(h.status, 206);
  EXPECT_EQ(h.length, 10);
  EXPECT_EQ(h.body, "");
  EXPECT_EQ(server_.stats().bytes_sent, content_.size() + 262'161 + 3 + 4);
}

TEST_F(RangeIntoTest, JsonAndTextFilesStillGoOutCompressedWhenTheClientAcceptsIt) {
  // httplib compresses string bodies of these types (not content providers): they stay strings.
  std::string json = "[";
  for (int i = 0; i < 2000; ++i) json += "{\"id\": " + std::to_string(i) + ", \"name\": \"item\"},";
  json.back() = ']';
  std::ofstream(dir_ / "items.json", std::ios::binary) << json;
  server_.start();
  net::HttpClient client(fast());  // accepts every encoding libcurl decodes on whole-document GETs
  auto r = client.get(url("/data/items.json"));
  EXPECT_EQ(r.body, json);
  EXPECT_TRUE(r.headers.count("content-encoding")) << "a JSON file went out uncompressed";
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  auto bin = client.get(url("/data/big.bin"));
  EXPECT_EQ(bin.body, content_);
  EXPECT_FALSE(bin.headers.count("content-encoding"));
  EXPECT_EQ(client.get_range(url("/data/items.json"), 10, 20), json.substr(10, 20));
}
