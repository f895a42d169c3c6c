#include <gtest/gtest.h>

#include <cstring>

#include "runtime/distributed/wire.hpp"

using namespace cubist;
using namespace cubist::runtime::distributed;
using nlohmann::json;

namespace {

const DType kAllDtypes[] = {DType::Bool,   DType::Int8,   DType::Int16,   DType::Int32,   DType::Int64,      DType::UInt8,
                            DType::UInt16, DType::UInt32, DType::UInt64, DType::Float32, DType::Float64, DType::DateTime64};

// A chunk whose bytes differ from position to position (bools stay 0/1).
Chunk patterned(DType dtype, Shape shape) {
  Chunk c = Chunk::allocate(dtype, std::move(shape));
  auto* p = static_cast<std::uint8_t*>(c.mutable_raw());
  for (std::size_t i = 0; i < c.nbytes(); ++i)
    p[i] = dtype == DType::Bool ? static_cast<std::uint8_t>(i % 3 == 0) : static_cast<std::uint8_t>(i * 7 + 1);
  return c;
}

bool same_bytes(const Chunk& a, const Chunk& b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() && a.nbytes() == b.nbytes() &&
         std::memcmp(a.contiguous().raw(), b.contiguous().raw(), a.nbytes()) == 0;
}

Message round_trip(const Message& m) { return decode(encode(m)); }

// Frames from a hand-written header (for malformed messages) and raw chunk payloads.
std::vector<zmq::message_t> frames_of(const json& header, const std::vector<std::size_t>& chunk_bytes = {}) {
  std::vector<zmq::message_t> frames;
  const auto bytes = json::to_msgpack(header);
  frames.emplace_back(bytes.data(), bytes.size());
  for (auto n : chunk_bytes) {
    frames.emplace_back(n);
    if (n) std::memset(frames.back().data(), 0, n);
  }
  return frames;
}

json header_with(json chunks) {
  return {{"v", kProtocolVersion}, {"type", "compute"}, {"body", json::object()}, {"chunks", std::move(chunks)}};
}

// decode() must refuse the frames with a ProtocolError whose one line mentions every `needle`.
void expect_refused(std::vector<zmq::message_t> frames, std::vector<std::string> needles, const WireLimits& limits = {}) {
  try {
    decode(std::move(frames), limits);
    ADD_FAILURE() << "decoded a malformed message (expected: " << needles[0] << ")";
  } catch (const ProtocolError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    for (const auto& n : needles) EXPECT_NE(what.find(n), std::string::npos) << "'" << n << "' not in: " << what;
  }
}

}  // namespace

TEST(Wire, RoundTripsEveryDtypeWithTypeAndBody) {
  for (DType t : kAllDtypes) {
    Message m{"result", {{"key", "ndvi-abc"}, {"chunk", 3}, {"nested", {{"a", {1, 2.5, "x"}}}}}, {}};
    m.chunks.push_back(patterned(t, {3, 5}));
    m.chunks.push_back(patterned(t, {7}));
    const Message back = round_trip(m);
    EXPECT_EQ(back.type, "result");
    EXPECT_EQ(back.body, m.body);
    ASSERT_EQ(back.chunks.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) EXPECT_TRUE(same_bytes(back.chunks[i], m.chunks[i])) << dtype_name(t) << " chunk " << i;
  }
}

TEST(Wire, RoundTripsEmptyAndZeroDimensionalChunksAndNoChunks) {
  Message m{"result", json::object(), {}};
  m.chunks.push_back(Chunk::allocate(DType::Float32, {0, 4}));
  m.chunks.push_back(Chunk::allocate(DType::Int64, {3, 0}));
  m.chunks.push_back(patterned(DType::Float64, {}));
  m.chunks.push_back(patterned(DType::UInt16, {}));
  const Message back = round_trip(m);
  ASSERT_EQ(back.chunks.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_TRUE(same_bytes(back.chunks[i], m.chunks[i])) << i;
  EXPECT_EQ(back.chunks[2].rank(), 0u);
  EXPECT_EQ(back.chunks[2].size(), 1);

  const Message none = round_trip(Message{"hello", {{"worker", "w1"}}, {}});
  EXPECT_EQ(none.type, "hello");
  EXPECT_TRUE(none.chunks.empty());
  EXPECT_EQ(none.body.at("worker"), "w1");
}

TEST(Wire, StridedViewsTravelAsTheirCOrderValues) {
  Chunk base = Chunk::allocate(DType::Int32, {4, 6});
  auto v = base.mutable_values<std::int32_t>();
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::int32_t>(i);
  const std::int64_t offset[] = {1, 2};
  Chunk view = base.view(offset, {2, 3});
  ASSERT_FALSE(view.is_contiguous());
  const Message back = round_trip(Message{"result", json::object(), {view}});
  ASSERT_EQ(back.chunks.size(), 1u);
  EXPECT_EQ(back.chunks[0].shape(), (Shape{2, 3}));
  const auto got = back.chunks[0].values<std::int32_t>();
  EXPECT_EQ(std::vector<std::int32_t>(got.begin(), got.end()), (std::vector<std::int32_t>{8, 9, 10, 14, 15, 16}));
}

TEST(Wire, SendsWithoutCopyingAndAdoptsReceivedFrames) {
  Chunk c = patterned(DType::Float64, {64, 64});
  auto frames = encode(Message{"result", json::object(), {c}});
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].data(), c.raw());  // the frame references the chunk's buffer
  const void* frame_data = frames[1].data();
  const Message back = decode(std::move(frames));
  EXPECT_EQ(back.chunks[0].raw(), frame_data);  // and the decoded chunk the frame's memory
}

TEST(Wire, SentChunksStayAliveUntilZeroMqIsDoneWithThem) {
  zmq::context_t ctx;
  zmq::socket_t a(ctx, zmq::socket_type::pair), b(ctx, zmq::socket_type::pair);
  a.bind("inproc://wire-test");
  b.connect("inproc://wire-test");
  Chunk expected = patterned(DType::UInt16, {1000, 3});
  {
    Message m{"result", {{"k", 1}}, {patterned(DType::UInt16, {1000, 3}), patterned(DType::Bool, {5})}};
    auto frames = encode(m);
    m.chunks.clear();  // the frames alone must keep the buffers
    for (std::size_t i = 0; i < frames.size(); ++i)
      a.send(frames[i], i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
  std::vector<zmq::message_t> received;
  do {
    received.emplace_back();
    ASSERT_TRUE(b.recv(received.back()));
  } while (received.back().more());
  const Message back = decode(std::move(received));
  ASSERT_EQ(back.chunks.size(), 2u);
  EXPECT_TRUE(same_bytes(back.chunks[0], expected));
  EXPECT_TRUE(same_bytes(back.chunks[1], patterned(DType::Bool, {5})));
}

TEST(Wire, MisalignedFramesAreCopiedIntoAlignedChunks) {
  alignas(64) std::uint8_t buffer[1 + 4 * sizeof(double)];
  const double values[] = {1.5, -2.0, 3.25, 1e300};
  std::memcpy(buffer + 1, values, sizeof(values));
  auto frames = frames_of(header_with(json::array({{{"dtype", "float64"}, {"shape", {4}}}})));
  frames.emplace_back(buffer + 1, sizeof(values));  // copies: a message_t from bytes owns them
  // Make sure the test does what it says: zmq may copy into an aligned buffer of its own.
  if (reinterpret_cast<std::uintptr_t>(frames.back().data()) % alignof(double) == 0) {
    zmq::message_t misaligned(buffer + 1, sizeof(values), nullptr, nullptr);  // references buffer
    frames.back() = std::move(misaligned);
  }
  ASSERT_NE(reinterpret_cast<std::uintptr_t>(frames.back().data()) % alignof(double), 0u);
  const Message back = decode(std::move(frames));
  ASSERT_EQ(back.chunks.size(), 1u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(back.chunks[0].raw()) % alignof(double), 0u);
  const auto got = back.chunks[0].values<double>();
  EXPECT_EQ(std::vector<double>(got.begin(), got.end()), std::vector<double>(std::begin(values), std::end(values)));
}

TEST(Wire, EncodeRefusesMessagesItCouldNotDecode) {
  EXPECT_THROW(encode(Message{"", json::object(), {}}), ValueError);
  EXPECT_THROW(encode(Message{"x", json::array(), {}}), ValueError);
  EXPECT_THROW(encode(Message{"x", json::object(), {Chunk{}}}), ValueError);
}

TEST(Wire, RefusesMalformedHeaders) {
  expect_refused({}, {"no frames"});
  auto good = json::to_msgpack(header_with(json::array()));
  {
    std::vector<zmq::message_t> f;
    f.emplace_back(good.data(), good.size() - 1);  // truncated
    expect_refused(std::move(f), {"MessagePack"});
  }
  {
    auto extra = good;
    extra.push_back(0xc0);  // a trailing value
    std::vector<zmq::message_t> f;
    f.emplace_back(extra.data(), extra.size());
    expect_refused(std::move(f), {"MessagePack"});
  }
  {
    std::vector<zmq::message_t> f;
    f.emplace_back(std::string_view("\xc1 definitely not msgpack"));
    expect_refused(std::move(f), {"MessagePack"});
  }
  {
    // 200k nested one-element arrays: must not recurse into a stack overflow.
    std::vector<std::uint8_t> deep(200000, 0x91);
    deep.push_back(0xc0);
    std::vector<zmq::message_t> f;
    f.emplace_back(deep.data(), deep.size());
    expect_refused(std::move(f), {"deeper"});
  }
  expect_refused(frames_of(json::array({1, 2})), {"not a MessagePack map"});
  json h = header_with(json::array());
  h.erase("v");
  expect_refused(frames_of(h), {"'v'"});
  h["v"] = kProtocolVersion + 1;
  expect_refused(frames_of(h), {"'v'", "protocol version"});
  h["v"] = "1";
  expect_refused(frames_of(h), {"'v'"});
  h["v"] = std::string("\xff\xfe not UTF-8");  // shown in the message without throwing another error
  expect_refused(frames_of(h), {"'v'"});
  h = header_with(json::array());
  h["type"] = "";
  expect_refused(frames_of(h), {"'type'"});
  h["type"] = 7;
  expect_refused(frames_of(h), {"'type'"});
  h.erase("type");
  expect_refused(frames_of(h), {"'type'"});
  h = header_with(json::array());
  h["body"] = json::array();
  expect_refused(frames_of(h), {"'compute' message", "'body'"});
  h.erase("body");
  expect_refused(frames_of(h), {"'compute' message", "'body'"});
  h = header_with(json::array());
  h["chunks"] = json::object();
  expect_refused(frames_of(h), {"'compute' message", "'chunks'"});
}

TEST(Wire, RefusesChunkDescriptionsThatDoNotFitTheirFrames) {
  const json f64_3 = {{"dtype", "float64"}, {"shape", {3}}};
  expect_refused(frames_of(header_with({f64_3, f64_3}), {24}), {"'compute' message", "2 chunks but 1 chunk frames"});
  expect_refused(frames_of(header_with(json::array()), {24}), {"0 chunks but 1 chunk frames"});
  expect_refused(frames_of(header_with({f64_3}), {16}), {"chunks[0]", "float64 (3,)", "more bytes than the 16 of its frame"});
  expect_refused(frames_of(header_with({f64_3}), {32}), {"chunks[0]", "needs 24 bytes but its frame has 32"});
  expect_refused(frames_of(header_with({{{"dtype", "complex128"}, {"shape", {3}}}}), {48}),
                 {"chunks[0].dtype", "complex128"});
  expect_refused(frames_of(header_with({{{"dtype", 11}, {"shape", {3}}}}), {24}), {"chunks[0].dtype"});
  expect_refused(frames_of(header_with({{{"shape", {3}}}}), {24}), {"chunks[0].dtype"});
  expect_refused(frames_of(header_with({{{"dtype", "float64"}}}), {24}), {"chunks[0].shape"});
  expect_refused(frames_of(header_with({{{"dtype", "float64"}, {"shape", 3}}}), {24}), {"chunks[0].shape"});
  expect_refused(frames_of(header_with({{{"dtype", "float64"}, {"shape", {3.0}}}}), {24}), {"chunks[0].shape[0]", "integer"});
  expect_refused(frames_of(header_with({{{"dtype", "float64"}, {"shape", {-3}}}}), {24}), {"chunks[0].shape[0]", "negative"});
  expect_refused(frames_of(header_with({{{"dtype", "int8"}, {"shape", {-1, 0}}}}), {0}), {"negative"});
  expect_refused(frames_of(header_with({f64_3, "float64"}), {24, 8}), {"chunks[1]", "not a map"});
  // Shapes whose element count overflows 64 bits, or a frame's size, or int64.
  const std::int64_t big = std::int64_t{1} << 62;
  expect_refused(frames_of(header_with({{{"dtype", "float64"}, {"shape", {big, big, big}}}}), {8}), {"chunks[0]", "more bytes"});
  expect_refused(frames_of(header_with({{{"dtype", "uint8"}, {"shape", {std::uint64_t{1} << 63}}}}), {8}),
                 {"chunks[0].shape[0]", "too large"});
  expect_refused(frames_of(header_with({{{"dtype", "uint8"}, {"shape", json(std::vector<int>(65, 1))}}}), {1}),
                 {"chunks[0].shape", "65 axes"});
}

TEST(Wire, EnforcesLimits) {
  const json u8_16 = {{"dtype", "uint8"}, {"shape", {16}}};
  WireLimits small;
  small.max_chunks = 2;
  expect_refused(frames_of(header_with({u8_16, u8_16, u8_16}), {16, 16, 16}), {"3 chunks", "limit of 2"}, small);
  small = {};
  small.max_chunk_bytes = 8;
  expect_refused(frames_of(header_with({u8_16}), {16}), {"chunks[0]", "16 bytes exceeds the limit of 8"}, small);
  small = {};
  small.max_header_bytes = 16;
  expect_refused(frames_of(header_with({u8_16}), {16}), {"header frame", "limit of 16"}, small);
  // Within the limits the same messages decode.
  EXPECT_EQ(decode(frames_of(header_with({u8_16, u8_16}), {16, 16})).chunks.size(), 2u);
}

TEST(Wire, FieldHelpersNameTheFieldAtFault) {
  const json body = {{"key", "ndvi-1"}, {"chunk", 5}, {"neg", -2}, {"big", std::uint64_t{1} << 63}, {"f", 1.5}};
  EXPECT_EQ(string_field(body, "key", "'result' message"), "ndvi-1");
  EXPECT_EQ(int_field(body, "chunk", "'result' message"), 5);
  EXPECT_EQ(int_field(body, "neg", "w", -5, 5), -2);
  EXPECT_EQ(field(body, "f", "w"), 1.5);
  auto refused = [](auto&& call, const std::string& needle) {
    try {
      call();
      ADD_FAILURE() << "accepted; expected " << needle;
    } catch (const ProtocolError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  refused([&] { field(body, "missing", "'result' message"); }, "'result' message: field 'missing' is missing");
  refused([&] { string_field(body, "chunk", "'result' message"); }, "field 'chunk' is not a string");
  refused([&] { int_field(body, "key", "w"); }, "field 'key' is not an integer");
  refused([&] { int_field(body, "f", "w"); }, "field 'f' is not an integer");
  refused([&] { int_field(body, "neg", "w"); }, "field 'neg' = -2 is outside");
  refused([&] { int_field(body, "chunk", "w", 0, 4); }, "field 'chunk' = 5 is outside [0, 4]");
  refused([&] { int_field(body, "big", "w"); }, "field 'big'");
  refused([&] { field(json::array(), "x", "w"); }, "w: body is not a map");
}
