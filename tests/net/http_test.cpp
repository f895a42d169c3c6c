// net::HttpClient against net::HttpServer on 127.0.0.1.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <curl/curl.h>

#include "cubist/error.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net_test_support.hpp"

namespace net = cubist::net;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using cubist::net::testing::bytes_pattern;
using cubist::net::testing::fast;

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cubist_net_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "sub");
    content_ = bytes_pattern(10000);
    std::ofstream(dir_ / "sub" / "blob.bin", std::ios::binary) << content_;
    std::ofstream(dir_ / "empty.bin", std::ios::binary) << "";
    std::ofstream(dir_.parent_path() / (dir_.filename().string() + "_secret.txt")) << "secret";
  }
  void TearDown() override {
    server_.stop();
    fs::remove_all(dir_);
    fs::remove(dir_.parent_path() / (dir_.filename().string() + "_secret.txt"));
  }
  std::string url(const std::string& path) const { return server_.base_url() + path; }

  fs::path dir_;
  std::string content_;
  net::HttpServer server_;
};

TEST_F(HttpTest, GetAndPostJson) {
  server_.route("GET", "/hello/(\\w+)", [](const net::ServerRequest& r) {
    nlohmann::json j{{"name", r.matches.at(1)}, {"q", r.query.count("q") ? r.query.find("q")->second : ""},
                     {"ua", r.headers.count("user-agent") ? r.headers.at("user-agent") : ""},
                     {"base", r.base_url}, {"x", r.headers.count("x-test") ? r.headers.at("x-test") : ""}};
    net::ServerResponse res{200, j.dump()};
    res.headers.emplace_back("X-Reply", "yes");
    return res;
  });
  server_.route("POST", "/search", [](const net::ServerRequest& r) {
    auto body = nlohmann::json::parse(r.body);
    return net::ServerResponse{200, nlohmann::json{{"echo", body}, {"type", r.headers.at("content-type")}}.dump()};
  });
  server_.start();
  net::HttpClient client(fast());
  auto r = client.get(url("/hello/world?q=a%20b"), {{"X-Test", "42"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.at("x-reply"), "yes");
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.url, url("/hello/world?q=a%20b"));
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["name"], "world");
  EXPECT_EQ(j["q"], "a b");
  EXPECT_EQ(j["x"], "42");
  EXPECT_EQ(j["base"], server_.base_url());
  EXPECT_EQ(j["ua"].get<std::string>().rfind("cubist/", 0), 0u);

  nlohmann::json query{{"collections", {"sentinel-2-l2a"}}, {"limit", 10}};
  auto p = client.post_json(url("/search"), query);
  auto pj = nlohmann::json::parse(p.body);
  EXPECT_EQ(pj["echo"], query);
  EXPECT_EQ(pj["type"], "application/json");
  EXPECT_EQ(client.stats().requests, 2u);
  EXPECT_EQ(client.stats().retries, 0u);
  EXPECT_EQ(client.stats().bytes_received, r.body.size() + p.body.size());
  // Sequential requests reuse the kept-alive connection.
  for (int i = 0; i < 50; ++i) client.get(url("/hello/again"));
  EXPECT_EQ(client.stats().connections, 1u);
  // A copy shares the connections (and the counters).
  net::HttpClient copy = client;
  copy.get(url("/hello/copy"));
  EXPECT_EQ(client.stats().connections, 1u);
  EXPECT_EQ(client.stats().requests, 53u);
  // Closing the idle connections (before stopping a server in the same process): the next
  // request connects again, and is then kept alive as before.
  client.close_idle_connections();
  client.get(url("/hello/again"));
  client.get(url("/hello/again"));
  EXPECT_EQ(client.stats().connections, 2u);
}

TEST_F(HttpTest, UnknownPathIs404AndWrongMethodIs405) {
  server_.route("POST", "/only-post", [](const net::ServerRequest&) { return net::ServerResponse{}; });
  server_.start();
  net::HttpClient client(fast());
  auto missing = client.get_if_exists(url("/nothing"));
  EXPECT_FALSE(missing.has_value());
  try {
    client.get(url("/only-post"));
    FAIL() << "expected IOError";
  } catch (const cubist::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 405 from GET " + url("/only-post")), std::string::npos) << e.what();
  }
}

TEST_F(HttpTest, MountedFilesAndRanges) {
  server_.mount_directory("/data/", dir_.string());
  server_.start();
  net::HttpClient client(fast());
  EXPECT_EQ(client.get(url("/data/sub/blob.bin")).body, content_);
  EXPECT_EQ(client.get_range(url("/data/sub/blob.bin"), 0, 100), content_.substr(0, 100));
  EXPECT_EQ(client.get_range(url("/data/sub/blob.bin"), 1234, 4321), content_.substr(1234, 4321));
  // Partly past the end: the bytes that exist; wholly past the end: nothing (416).
  EXPECT_EQ(client.get_range(url("/data/sub/blob.bin"), 9990, 100), content_.substr(9990));
  EXPECT_EQ(client.get_range(url("/data/sub/blob.bin"), 10000, 10), "");
  EXPECT_EQ(client.get_range(url("/data/sub/blob.bin"), 50000, 10), "");
  EXPECT_EQ(client.get_range(url("/data/sub/blob.bin"), 5, 0), "");
  EXPECT_THROW(client.get_range(url("/data/sub/blob.bin"), -1, 10), cubist::ValueError);
  EXPECT_EQ(client.get(url("/data/empty.bin")).body, "");

  // The raw answers: 206 with Content-Range, 416 with the size, suffix ranges.
  auto r = client.get(url("/data/sub/blob.bin"), {{"Range", "bytes=10-19"}});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.headers.at("content-range"), "bytes 10-19/10000");
  EXPECT_EQ(r.body, content_.substr(10, 10));
  auto suffix = client.get(url("/data/sub/blob.bin"), {{"Range", "bytes=-16"}});
  EXPECT_EQ(suffix.status, 206);
  EXPECT_EQ(suffix.body, content_.substr(10000 - 16));
  try {
    client.get(url("/data/sub/blob.bin"), {{"Range", "bytes=20000-"}});
    FAIL() << "expected IOError";
  } catch (const cubist::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 416"), std::string::npos) << e.what();
  }
  const auto stats = server_.stats();
  EXPECT_EQ(stats.range_requests, 8u);  // every Range header sent, including the unsatisfiable
  EXPECT_GE(stats.bytes_sent, content_.size() + 100 + 4321 + 10 + 10 + 16);
}

TEST_F(HttpTest, MountRefusesEscapes) {
  server_.mount_directory("/data", (dir_ / "sub").string());
  server_.start();
  net::HttpClient client(fast(0));
  EXPECT_TRUE(client.get_if_exists(url("/data/blob.bin")).has_value());
  const std::string secret = dir_.filename().string() + "_secret.txt";
  for (const std::string& p : std::vector<std::string>{"/data/../empty.bin", "/data/%2e%2e/empty.bin", "/data/../../" + secret,
                               "/data/%2e%2e/%2e%2e/" + secret, "/data/", "/data", "/data/..%2fempty.bin"}) {
    EXPECT_FALSE(client.get_if_exists(url(p)).has_value()) << p;
  }
  // A symlink that leads outside the directory is refused too.
  fs::create_symlink(dir_ / "empty.bin", dir_ / "sub" / "link.bin");
  EXPECT_FALSE(client.get_if_exists(url("/data/link.bin")).has_value());
}

TEST_F(HttpTest, RetriesTransient503ThenSucceeds) {
  std::atomic<int> calls{0};
  server_.route("GET", "/flaky", [&](const net::ServerRequest&) {
    if (calls.fetch_add(1) < 3) return net::ServerResponse{503, "Service Unavailable", "text/plain", {}};
    return net::ServerResponse{200, "ok", "text/plain", {}};
  });
  server_.start();
  net::HttpClient client(fast(4));
  EXPECT_EQ(client.get(url("/flaky")).body, "ok");
  EXPECT_EQ(calls.load(), 4);
  EXPECT_EQ(client.stats().requests, 4u);
  EXPECT_EQ(client.stats().retries, 3u);
}

TEST_F(HttpTest, HonoursRetryAfterOn429) {
  std::atomic<int> calls{0};
  server_.route("POST", "/limited", [&](const net::ServerRequest&) {
    if (calls.fetch_add(1) == 0) {
      net::ServerResponse r{429, "slow down", "text/plain", {}};
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    return net::ServerResponse{200, "{}"};
  });
  server_.start();
  auto opts = fast(2);
  opts.max_backoff_seconds = 5;  // Retry-After is capped by this; 1 s is within it
  net::HttpClient client(opts);
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(client.post_json(url("/limited"), nlohmann::json::object()).status, 200);
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(waited, 0.95);  // backoff alone would be ~5 ms
  EXPECT_LT(waited, 4.0);
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(HttpTest, GivesUpAfterMaxRetriesWithOneLine) {
  std::atomic<int> calls{0};
  server_.route("GET", "/down", [&](const net::ServerRequest&) {
    ++calls;
    return net::ServerResponse{503, "Service Unavailable\nplease retry later", "text/plain", {}};
  });
  server_.start();
  net::HttpClient client(fast(4));
  try {
    client.get(url("/down"));
    FAIL() << "expected IOError";
  } catch (const cubist::IOError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg, "HTTP 503 from GET " + url("/down") +
                       " after 5 attempts: Service Unavailable please retry later");
  }
  EXPECT_EQ(calls.load(), 5);
  // Not retryable: one attempt, then the error.
  server_.route("GET", "/bad", [](const net::ServerRequest&) {
    return net::ServerResponse{400, "{\"code\":\"InvalidParameter\"}"};
  });
  try {
    client.get(url("/bad"));
    FAIL() << "expected IOError";
  } catch (const cubist::IOError& e) {
    EXPECT_EQ(std::string(e.what()), "HTTP 400 from GET " + url("/bad") + ": {\"code\":\"InvalidParameter\"}");
  }
}

TEST_F(HttpTest, HandlerExceptionBecomes500) {
  server_.route("GET", "/boom", [](const net::ServerRequest&) -> net::ServerResponse {
    throw std::runtime_error("handler exploded");
  });
  server_.start();
  net::HttpClient client(fast(1));
  try {
    client.get(url("/boom"));
    FAIL() << "expected IOError";
  } catch (const cubist::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 500"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("handler exploded"), std::string::npos) << e.what();
  }
  EXPECT_EQ(server_.stats().requests, 2u);  // the server survived both attempts
}

TEST_F(HttpTest, TimeoutIsRetriedThenReported) {
  std::atomic<int> calls{0};
  server_.route("GET", "/slow", [&](const net::ServerRequest&) {
    if (calls.fetch_add(1) == 0) std::this_thread::sleep_for(1500ms);
    return net::ServerResponse{200, "late", "text/plain", {}};
  });
  server_.route("GET", "/always-slow", [&](const net::ServerRequest&) {
    std::this_thread::sleep_for(800ms);
    return net::ServerResponse{200, "never seen", "text/plain", {}};
  });
  server_.start();
  auto opts = fast(1);
  opts.timeout_seconds = 0.3;
  net::HttpClient client(opts);
  EXPECT_EQ(client.get(url("/slow")).body, "late");  // first attempt times out, second succeeds
  try {
    client.get(url("/always-slow"));
    FAIL() << "expected IOError";
  } catch (const cubist::IOError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("GET " + url("/always-slow") + " failed after 2 attempts"), std::string::npos) << msg;
    EXPECT_NE(msg.find("imed out"), std::string::npos) << msg;  // curl: "Operation timed out ..."
  }
}

TEST_F(HttpTest, ConcurrentClientsShareOneClient) {
  server_.route("GET", "/n/(\\d+)", [](const net::ServerRequest& r) {
    return net::ServerResponse{200, r.matches[1] + ":" + std::string(1000, 'x'), "text/plain", {}};
  });
  server_.mount_directory("/data", dir_.string());
  server_.start();
  net::HttpClient client(fast());
  constexpr int kThreads = 8, kPerThread = 150;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int n = t * kPerThread + i;
        if (i % 3 == 0) {
          if (client.get_range(url("/data/sub/blob.bin"), n, 64) != content_.substr(n, 64)) ++wrong;
        } else if (client.get(url("/n/" + std::to_string(n))).body != std::to_string(n) + ":" + std::string(1000, 'x')) {
          ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(client.stats().requests, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(server_.stats().requests, static_cast<std::uint64_t>(kThreads * kPerThread));
  // At most one connection per concurrent thread (a few more if the server closed idle ones).
  EXPECT_LE(client.stats().connections, static_cast<std::uint64_t>(2 * kThreads));
  std::printf("concurrency: %d requests from %d threads over %llu connections\n", kThreads * kPerThread, kThreads,
              static_cast<unsigned long long>(client.stats().connections));
}

TEST(HttpClient, ConnectionRefusedNamesUrlAndCause) {
  // Bind then stop a server, so the port is known to be closed.
  int port;
  {
    net::HttpServer s;
    port = s.start();
  }
  net::HttpClient client(fast(2));
  const std::string u = "http://127.0.0.1:" + std::to_string(port) + "/x";
  try {
    client.get(u);
    FAIL() << "expected IOError";
  } catch (const cubist::IOError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("GET " + u + " failed after 3 attempts: ", 0), 0u) << msg;
    EXPECT_NE(msg.find("onnect"), std::string::npos) << msg;  // curl: "Failed to connect ..."
  }
  EXPECT_EQ(client.stats().requests, 3u);
}

TEST(HttpClient, RejectsNonHttpUrls) {
  net::HttpClient client(fast());
  for (const std::string u : {"file:///etc/passwd", "ftp://127.0.0.1/x", "/tmp/x", "", "http://", "gopher://a"}) {
    EXPECT_THROW(client.get(u), cubist::ValueError) << u;
    EXPECT_THROW(client.get_if_exists(u), cubist::ValueError) << u;
  }
  EXPECT_EQ(client.stats().requests, 0u);
  EXPECT_TRUE(net::is_http_url("HTTPS://example.org/a"));
  EXPECT_THROW(net::HttpClient([] { net::HttpOptions o; o.max_retries = -1; return o; }()), cubist::ValueError);
}

TEST(HttpServer, PortInUseIsAnError) {
  net::HttpServer a;
  const int port = a.start();
  net::HttpServer b;
  EXPECT_THROW(b.start("127.0.0.1", port), cubist::IOError);
  EXPECT_THROW(a.start(), cubist::ValueError);
  EXPECT_THROW(b.route("GET", "([", [](const net::ServerRequest&) { return net::ServerResponse{}; }),
               cubist::ValueError);
  EXPECT_THROW(b.mount_directory("/x", "/definitely/not/here"), cubist::IOError);
}

TEST(HttpServer, HeadReportsLengthWithoutBody) {
  auto dir = fs::temp_directory_path() / ("cubist_net_head_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "f.json") << "{\"a\": 1}";
  net::HttpServer s;
  s.mount_directory("/", dir.string());
  s.start();
  net::HttpClient client(fast());
  EXPECT_EQ(client.get(s.base_url() + "/f.json").body, "{\"a\": 1}");
  EXPECT_EQ(client.get(s.base_url() + "/f.json").headers.at("content-type"), "application/json");
  // HttpClient has no HEAD; GDAL's /vsicurl/ uses it to learn file sizes, so check it raw.
  const auto h = cubist::net::testing::head(s.base_url() + "/f.json");
  ASSERT_EQ(h.code, CURLE_OK);
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.length, 8);
  EXPECT_EQ(h.body, "");
  EXPECT_EQ(s.stats().bytes_sent, 16u);  // the two GETs; HEAD sends no body
  s.stop();
  fs::remove_all(dir);
}

}  // namespace
