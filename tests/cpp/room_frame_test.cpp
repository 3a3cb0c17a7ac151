// The room frame codec: round trips, and garbage of every kind decodes to an error, never a
// crash or a huge allocation (frame.h).
#include <catch2/catch.hpp>

#include "room/frame.h"
#include "room/rng.h"

using namespace roomsync;
using namespace roomsync::room;

namespace {

std::vector<std::vector<uint8_t>> sample_frames() {
  std::vector<std::vector<uint8_t>> v;
  v.push_back(encode_hello(12345, 678));
  v.push_back(encode_sync1(9, true, {1, 2, 3, 4}));
  v.push_back(encode_ping(false, 77, 123456));
  v.push_back(encode_ping(true, 77, 123456));
  MsgHeader up;
  up.kind = MsgKind::Update;
  up.total_len = 5;
  const uint8_t data[] = {10, 20, 30, 40, 50};
  v.push_back(encode_chunk(42, 0, 1, up, data, 5));
  MsgHeader act;
  act.kind = MsgKind::Action;
  act.origin = "peer-a";
  act.hops = 3;
  act.total_len = 100;
  act.name = "chat";
  act.metadata = R"({"x":1})";
  act.targets = {"peer-b", "peer-c"};
  act.covered = {1, 0xdeadbeef, short_id("peer-a")};
  act.view = 0x89abcdef;
  v.push_back(encode_chunk(43, 0, 2, act, data, 5));
  v.push_back(encode_chunk(43, 1, 2, act, data, 5));
  MsgHeader pres;
  pres.kind = MsgKind::Presence;
  pres.session = 5;
  pres.seq = 2;
  pres.total_len = 2;
  v.push_back(encode_chunk(44, 0, 1, pres, data, 2));
  MsgHeader typing;
  typing.kind = MsgKind::Typing;
  typing.session = 5;
  typing.ttl = 3000;
  v.push_back(encode_chunk(45, 0, 1, typing, nullptr, 0));
  MsgHeader bye;
  bye.kind = MsgKind::Bye;
  bye.session = 5;
  v.push_back(encode_chunk(46, 0, 1, bye, nullptr, 0));
  MsgHeader s2;
  s2.kind = MsgKind::Sync2;
  s2.request = 9;
  s2.total_len = 3;
  v.push_back(encode_chunk(47, 0, 1, s2, data, 3));
  return v;
}

}  // namespace

TEST_CASE("room frames: every frame type round-trips", "[room][frame]") {
  Limits lim;
  Frame f;
  REQUIRE(decode_frame(encode_hello(12345, 678).data(), encode_hello(12345, 678).size(), lim, &f).error == DecodeError::None);
  CHECK(f.type == FrameType::Hello);
  CHECK(f.a == 12345);
  CHECK(f.b == 678);

  auto s1 = encode_sync1(9, true, {1, 2, 3});
  REQUIRE(decode_frame(s1.data(), s1.size(), lim, &f).error == DecodeError::None);
  CHECK(f.type == FrameType::Sync1);
  CHECK(f.a == 9);
  CHECK(f.b == 1);
  CHECK(f.bytes == std::string_view("\x01\x02\x03", 3));

  auto frames = sample_frames();
  auto& act = frames[5];
  REQUIRE(decode_frame(act.data(), act.size(), lim, &f).error == DecodeError::None);
  CHECK(f.type == FrameType::Chunk);
  CHECK(f.a == 43);
  CHECK(f.count == 2);
  REQUIRE(f.has_header);
  CHECK(f.header.kind == MsgKind::Action);
  CHECK(f.header.origin == "peer-a");
  CHECK(f.header.hops == 3);
  CHECK(f.header.name == "chat");
  CHECK(f.header.metadata == R"({"x":1})");
  CHECK(f.header.targets == std::vector<std::string>{"peer-b", "peer-c"});
  CHECK(f.header.covered == std::vector<uint32_t>{1, 0xdeadbeef, short_id("peer-a")});
  CHECK(f.header.view == 0x89abcdef);
  CHECK(f.bytes.size() == 5);
  for (const auto& fr : frames) {
    DecodeResult r = decode_frame(fr.data(), fr.size(), lim, &f);
    INFO(r.message);
    CHECK(r.error == DecodeError::None);
  }
}

TEST_CASE("room frames: truncations and bit flips are garbage or errors, never crashes", "[room][frame][garbage]") {
  Limits lim;
  Frame f;
  size_t garbage = 0, errors = 0;
  for (const auto& fr : sample_frames()) {
    for (size_t n = 0; n < fr.size(); ++n) {  // every truncation: checksum fails
      CHECK(decode_frame(fr.data(), n, lim, &f).error != DecodeError::None);
    }
    for (size_t i = 0; i < fr.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        auto g = fr;
        g[i] ^= static_cast<uint8_t>(1 << bit);
        DecodeResult r = decode_frame(g.data(), g.size(), lim, &f);
        CHECK(r.error == DecodeError::Garbage);  // CRC-32 catches every single-bit error
        garbage += r.error == DecodeError::Garbage;
      }
    }
    // Bodies with a valid checksum but flipped content: errors with a message or valid frames.
    std::vector<uint8_t> body(fr.begin() + 2, fr.end() - 4);
    for (size_t i = 0; i < body.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        auto b = body;
        b[i] ^= static_cast<uint8_t>(1 << bit);
        auto sealed = seal_frame(static_cast<FrameType>(fr[1]), b);
        DecodeResult r = decode_frame(sealed.data(), sealed.size(), lim, &f);
        if (r.error != DecodeError::None) {
          CHECK(r.error == DecodeError::Malformed);
          CHECK(!r.message.empty());
          ++errors;
        }
      }
    }
  }
  CHECK(garbage > 0);
  CHECK(errors > 0);
}

TEST_CASE("room frames: limits are enforced while decoding", "[room][frame][garbage]") {
  Limits lim;
  Frame f;
  SECTION("another protocol version") {
    auto fr = encode_hello(1, 2);
    fr[0] = 2;
    auto body = std::vector<uint8_t>(fr.begin() + 2, fr.end() - 4);
    auto sealed = seal_frame(FrameType::Hello, body);
    sealed[0] = 2;
    uint32_t c = crc32(sealed.data(), sealed.size() - 4);
    for (int i = 0; i < 4; ++i) sealed[sealed.size() - 4 + i] = static_cast<uint8_t>(c >> (8 * i));
    CHECK(decode_frame(sealed.data(), sealed.size(), lim, &f).error == DecodeError::Version);
  }
  SECTION("a frame above max_frame_bytes") {
    std::vector<uint8_t> big(lim.max_frame_bytes, 0);
    MsgHeader h;
    h.total_len = big.size();
    auto fr = encode_chunk(1, 0, 1, h, big.data(), big.size());
    CHECK(decode_frame(fr.data(), fr.size(), lim, &f).error == DecodeError::Malformed);
  }
  SECTION("a message length above max_message_bytes") {
    MsgHeader h;
    h.total_len = lim.max_message_bytes + 1;
    uint8_t d = 0;
    auto fr = encode_chunk(1, 0, 2, h, &d, 1);
    DecodeResult r = decode_frame(fr.data(), fr.size(), lim, &f);
    CHECK(r.error == DecodeError::Malformed);
    CHECK_THAT(r.message, Catch::Contains("message length"));
  }
  SECTION("names, metadata, targets, presence beyond their limits") {
    uint8_t d = 0;
    MsgHeader a;
    a.kind = MsgKind::Action;
    a.total_len = 1;
    a.name = std::string(lim.max_action_name_bytes + 1, 'n');
    auto fr = encode_chunk(1, 0, 1, a, &d, 1);
    CHECK(decode_frame(fr.data(), fr.size(), lim, &f).error == DecodeError::Malformed);
    a.name = "";
    fr = encode_chunk(1, 0, 1, a, &d, 1);
    CHECK(decode_frame(fr.data(), fr.size(), lim, &f).error == DecodeError::Malformed);
    a.name = "ok";
    a.metadata = std::string(lim.max_metadata_bytes + 1, 'm');
    fr = encode_chunk(1, 0, 1, a, &d, 1);
    CHECK(decode_frame(fr.data(), fr.size(), lim, &f).error == DecodeError::Malformed);
    a.metadata = "";
    a.targets.assign(lim.max_targets + 1, "t");
    fr = encode_chunk(1, 0, 1, a, &d, 1);
    CHECK(decode_frame(fr.data(), fr.size(), lim, &f).error == DecodeError::Malformed);
    MsgHeader p;
    p.kind = MsgKind::Presence;
    std::vector<uint8_t> state(lim.max_presence_bytes + 1, 'x');
    p.total_len = state.size();
    fr = encode_chunk(1, 0, 1, p, state.data(), state.size());
    CHECK(decode_frame(fr.data(), fr.size(), lim, &f).error == DecodeError::Malformed);
  }
  SECTION("a covered list beyond its bound") {
    uint8_t d = 0;
    MsgHeader h;
    h.hops = 2;
    h.total_len = 1;
    h.covered.assign(kMaxCovered, 7);
    auto fr = encode_chunk(1, 0, 1, h, &d, 1);
    CHECK(decode_frame(fr.data(), fr.size(), lim, &f).error == DecodeError::None);
    h.covered.push_back(8);
    fr = encode_chunk(1, 0, 1, h, &d, 1);
    CHECK(decode_frame(fr.data(), fr.size(), lim, &f).error == DecodeError::Malformed);
  }
  SECTION("chunk index, count and sizes must agree") {
    uint8_t d[4] = {};
    MsgHeader h;
    h.total_len = 2;
    auto fr = encode_chunk(1, 0, 3, h, d, 1);  // 3 chunks for 2 bytes
    CHECK(decode_frame(fr.data(), fr.size(), lim, &f).error == DecodeError::Malformed);
    fr = encode_chunk(1, 0, 1, h, d, 4);  // chunk larger than the message
    CHECK(decode_frame(fr.data(), fr.size(), lim, &f).error == DecodeError::Malformed);
    fr = encode_chunk(1, 2, 2, h, d, 1);  // index outside count
    CHECK(decode_frame(fr.data(), fr.size(), lim, &f).error == DecodeError::Malformed);
    fr = encode_chunk(0, 0, 1, h, d, 2);  // id 0
    CHECK(decode_frame(fr.data(), fr.size(), lim, &f).error == DecodeError::Malformed);
    MsgHeader s2;
    s2.kind = MsgKind::Sync2;
    s2.origin = "someone";  // sync replies are never relayed
    s2.total_len = 1;
    fr = encode_chunk(1, 0, 1, s2, d, 1);
    CHECK(decode_frame(fr.data(), fr.size(), lim, &f).error == DecodeError::Malformed);
  }
  SECTION("trailing bytes") {
    auto fr = encode_hello(1, 2);
    std::vector<uint8_t> body(fr.begin() + 2, fr.end() - 4);
    body.push_back(0);
    auto sealed = seal_frame(FrameType::Hello, body);
    CHECK(decode_frame(sealed.data(), sealed.size(), lim, &f).error == DecodeError::Malformed);
  }
  SECTION("random bytes") {
    Rng r(99);
    for (int k = 0; k < 20000; ++k) {
      std::vector<uint8_t> b(r.below(64));
      for (auto& x : b) x = static_cast<uint8_t>(r.next());
      if (!b.empty() && r.below(2)) b[0] = kProtocolVersion;
      auto sealed = seal_frame(static_cast<FrameType>(1 + r.below(6)), b);
      DecodeResult res = decode_frame(sealed.data(), sealed.size(), lim, &f);
      if (res.error != DecodeError::None) CHECK(!res.message.empty());
    }
  }
}
