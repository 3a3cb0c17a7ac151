// One scripted room scenario with a golden trace hash. tests/js/room-core.test.js runs the very
// same script on the WebAssembly build through js/room/core.js and expects the same hash: the
// native and the wasm builds produce identical frames and events (no unordered iteration, no
// platform-dependent hashing or randomness in the room core).
//
// Script (keep in sync with the JS test): peers "a", "b", "c" (doc client ids 100..102, seeds
// 11..13, start at 1000 ms); each learns the others; frames travel through one FIFO queue,
// delivered at once; a Connect opens the channel on both sides (first dialer's side first).
// 30 edits (node k % 3 inserts "x<k>" at (7k) % (len + 1)), 10 ms apart, a timeout round every
// 5 edits (+500 ms); then c broadcasts a 40000-byte action; then 20 timeout rounds, 1 s apart.
// The hash: FNV-1a 32 over, per output in drain order: node index, kind code, peer, 0, and for
// transmits the frame bytes.
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "room/room_core.h"

using namespace roomsync;
using namespace roomsync::room;

namespace {

constexpr uint32_t kGoldenHash = 39443209u;  // update together with tests/js/room-core.test.js (issue 8: compact keystroke updates)

struct TraceRun {
  struct N {
    std::unique_ptr<Doc> doc;
    std::unique_ptr<DocAdapter> port;
    std::unique_ptr<RoomCore> core;
    RootHandle text = 0;
  };
  std::vector<std::string> ids{"a", "b", "c"};
  std::vector<N> nodes;
  std::deque<std::tuple<std::string, size_t, Bytes>> queue;  // (to or "@open:<peer>", from, bytes)
  std::set<std::string> opened;
  uint32_t hash = 2166136261u;
  Millis now = 1000;
  size_t actions = 0;

  void mix(uint8_t b) {
    hash ^= b;
    hash *= 16777619u;
  }
  size_t index(const std::string& id) const {
    for (size_t i = 0; i < ids.size(); ++i)
      if (ids[i] == id) return i;
    FAIL("unknown peer " << id);
    return 0;
  }
  void pump(size_t i) {
    while (auto o = nodes[i].core->poll_output()) {
      mix(static_cast<uint8_t>(i));
      mix(static_cast<uint8_t>(o->kind));
      for (char c : o->peer) mix(static_cast<uint8_t>(c));
      mix(0);
      if (o->kind == OutKind::Transmit) {
        for (uint8_t b : o->bytes) mix(b);
        queue.emplace_back(o->peer, i, o->bytes);
      } else if (o->kind == OutKind::Connect) {
        std::string key = std::min(ids[i], o->peer) + "|" + std::max(ids[i], o->peer);
        if (opened.insert(key).second) queue.emplace_back("@open:" + o->peer, i, Bytes{});
      } else if (o->kind == OutKind::Action) {
        ++actions;
      }
    }
  }
  void run() {
    while (!queue.empty()) {
      auto [to, from, bytes] = std::move(queue.front());
      queue.pop_front();
      if (to.rfind("@open:", 0) == 0) {
        size_t other = index(to.substr(6));
        nodes[from].core->channel_open(ids[other], now);
        pump(from);
        nodes[other].core->channel_open(ids[from], now);
        pump(other);
      } else {
        size_t t = index(to);
        nodes[t].core->handle_frame(ids[from], bytes.data(), bytes.size(), now);
        pump(t);
      }
    }
  }
  void timeouts() {
    for (size_t i = 0; i < nodes.size(); ++i) {
      nodes[i].core->handle_timeout(now);
      pump(i);
    }
    run();
  }

  void script() {
    for (size_t i = 0; i < ids.size(); ++i) {
      N n;
      n.doc = std::make_unique<Doc>(100 + i);
      n.doc->set_capture_updates(true);
      REQUIRE(n.doc->root(RootType::Text, "t", &n.text).ok);
      n.port = std::make_unique<DocAdapter>(*n.doc);
      Config c;
      c.self = ids[i];
      c.seed = 11 + i;
      n.core = std::make_unique<RoomCore>(c, *n.port, now);
      nodes.push_back(std::move(n));
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      for (size_t j = 0; j < ids.size(); ++j)
        if (j != i) nodes[i].core->peer_joined(ids[j], now);
      pump(i);
    }
    run();
    for (int k = 0; k < 30; ++k) {
      N& n = nodes[k % 3];
      uint32_t len = n.doc->text_length(n.text);
      std::string s = "x" + std::to_string(k);
      REQUIRE(n.doc->text_insert(n.text, (7 * k) % (len + 1), std::u16string(s.begin(), s.end())).ok);
      Bytes u = n.doc->take_last_result().update;
      REQUIRE(n.core->local_update(u.data(), u.size(), now));
      pump(k % 3);
      now += 10;
      run();
      if (k % 5 == 4) {
        now += 500;
        timeouts();
      }
    }
    Bytes payload(40000);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 13);
    REQUIRE(nodes[2].core->send_action("file", payload.data(), payload.size(), {}, "m", now).code == SendCode::Ok);
    pump(2);
    run();
    for (int r = 0; r < 20; ++r) {
      now += 1000;
      timeouts();
    }
  }
};

}  // namespace

TEST_CASE("room: the scripted trace has the golden hash (same as the wasm build)", "[room][trace]") {
  TraceRun t;
  t.script();
  std::u16string text = t.nodes[0].doc->text_content(t.nodes[0].text);
  for (auto& n : t.nodes) CHECK(n.doc->text_content(n.text) == text);
  CHECK(t.actions == 2);
  INFO("trace hash " << t.hash);
  CHECK(t.hash == kGoldenHash);
}
