// Garbage rejection: whatever bytes arrive, apply_update and encode_state_since either work or
// fail with a message, and a failed apply leaves the document exactly as it was. Huge declared
// lengths fail fast without allocating.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <new>
#include <random>

#include "test_util.h"

using namespace roomsync;
using namespace roomsync_test;

// --- allocation watch ---------------------------------------------------------------------
// The test binary replaces the global operator new so a test can see the largest single
// allocation made while the core parses garbage. Above kAllocLimit it throws std::bad_alloc
// rather than touching the memory, so a core that trusts a declared length fails loudly here.
namespace {
std::atomic<bool> g_watch{false};
std::atomic<size_t> g_largest{0};
constexpr size_t kAllocLimit = size_t{256} << 20;

void* watched_alloc(size_t n) {
  if (g_watch.load(std::memory_order_relaxed)) {
    size_t cur = g_largest.load(std::memory_order_relaxed);
    while (n > cur && !g_largest.compare_exchange_weak(cur, n)) {
    }
    if (n > kAllocLimit) throw std::bad_alloc();
  }
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(size_t n) { return watched_alloc(n); }
void* operator new[](size_t n) { return watched_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }

namespace {

struct AllocWatch {
  AllocWatch() {
    g_largest = 0;
    g_watch = true;
  }
  ~AllocWatch() { g_watch = false; }
  size_t largest() const { return g_largest.load(); }
};

std::string hex(const Bytes& b, size_t max = 64) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < b.size() && i < max; ++i) {
    s += d[b[i] >> 4];
    s += d[b[i] & 15];
    s += ' ';
  }
  if (b.size() > max) s += "… (" + std::to_string(b.size()) + " bytes)";
  return s;
}

// A document with some of everything, built by two clients.
Bytes base_state() {
  Doc a(0x1234), b(0x5678);
  RootHandle t = text_of(a), m = root_of(a, RootType::Map, "m"), c = root_of(a, RootType::Counter, "c");
  REQUIRE(a.text_insert(t, 0, U("base text 😀 with ünïcode")).ok);
  REQUIRE(a.text_delete(t, 2, 3).ok);
  REQUIRE(a.map_set(m, "x", "{\"a\":[1,2]}").ok);
  REQUIRE(a.counter_add(c, 7).ok);
  RootHandle l = root_of(a, RootType::List, "l");
  REQUIRE(a.list_insert(l, 0, {"1", "\"two\"", "{\"three\":3}"}).ok);
  REQUIRE(a.list_delete(l, 1, 1).ok);
  REQUIRE(apply_upd(b, a.encode_state()).ok);
  RootHandle tb = text_of(b), rb = root_of(b, RootType::Register, "r");
  REQUIRE(b.text_insert(tb, 4, U(" from b")).ok);
  REQUIRE(b.register_set(rb, "\"reg\"").ok);
  return b.encode_state();
}

// A typical update: one transaction touching every root type, from a client that the base
// document has never seen, depending on the base document's ops.
Bytes sample_update(const Bytes& base) {
  Doc w(0x9abc);
  REQUIRE(apply_upd(w, base).ok);
  w.set_capture_updates(true);
  RootHandle t = text_of(w), m = root_of(w, RootType::Map, "m"), r = root_of(w, RootType::Register, "r"),
             c = root_of(w, RootType::Counter, "c"), l = root_of(w, RootType::List, "l");
  w.begin();
  REQUIRE(w.list_insert(l, 1, {"[\"LISTMARKER\"]", "null"}).ok);
  REQUIRE(w.list_delete(l, 0, 1).ok);
  REQUIRE(w.text_insert(t, 3, U("TEXTMARKER 👍🏽")).ok);
  REQUIRE(w.text_delete(t, 0, 2).ok);
  REQUIRE(w.map_set(m, "MAPKEYMARKER", "\"MAPVALUEMARKER\"").ok);
  REQUIRE(w.map_delete(m, "x").ok);
  REQUIRE(w.register_set(r, "[\"REGMARKER\"]").ok);
  REQUIRE(w.counter_add(c, -3).ok);
  Bytes u = w.commit().update;
  REQUIRE(!u.empty());
  return u;
}

struct Target {
  Doc doc{0x7777};
  Bytes state;  // encode_state right after loading the base
  explicit Target(const Bytes& base) {
    REQUIRE(apply_upd(doc, base).ok);
    state = doc.encode_state();
  }
};

// A root that an update declares but whose ops all became no-ops (a corrupted list op can now
// land in the text root, say) exists in the document, empty, yet is not in its encoded state
// (only roots that ops refer to are): an empty list is the same as no list.
DocView without_empty_lists(DocView v) {
  for (auto it = v.begin(); it != v.end();) it = it->second == "len=0 []" ? v.erase(it) : std::next(it);
  return v;
}

// Applies `input` to `t`. On failure the message must be non-empty and the document unchanged;
// on success the document must still encode to a state that loads to the same content.
// Returns whether it applied; *dirty is set when the document changed (caller rebuilds).
bool check_apply(Target& t, const Bytes& input, bool* dirty, size_t* largest_alloc = nullptr) {
  Status st;
  {
    AllocWatch w;
    st = t.doc.apply_update(input.data(), input.size());
    if (largest_alloc) *largest_alloc = w.largest();
  }
  INFO("input: " << hex(input));
  if (!st.ok) {
    CHECK(!st.message.empty());
    const Bytes after = t.doc.encode_state();
    CHECK(after == t.state);  // exactly unchanged
    *dirty = after != t.state;
    return false;
  }
  *dirty = true;
  const Bytes s = t.doc.encode_state();
  CHECK(without_empty_lists(view_of_loaded(s)) == without_empty_lists(view_of(t.doc)));
  return true;
}

size_t find(const Bytes& hay, const std::string& needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end());
  return it == hay.end() ? std::string::npos : static_cast<size_t>(it - hay.begin());
}

Bytes leb128(uint64_t v) {
  Bytes out;
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    out.push_back(b | (v ? 0x80 : 0));
  } while (v);
  return out;
}

}  // namespace

TEST_CASE("garbage: empty input is rejected", "[garbage]") {
  const Bytes base = base_state();
  Target t(base);
  Status st = t.doc.apply_update(nullptr, 0);
  CHECK_FALSE(st.ok);
  CHECK(!st.message.empty());
  const uint8_t one = 0;
  st = t.doc.apply_update(&one, 0);
  CHECK_FALSE(st.ok);
  CHECK(t.doc.encode_state() == t.state);
  Doc empty(1);
  st = empty.apply_update(nullptr, 0);
  CHECK_FALSE(st.ok);
  CHECK(!st.message.empty());
}

TEST_CASE("garbage: random bytes never crash and never half-apply", "[garbage]") {
  const Bytes base = base_state();
  const Bytes good = sample_update(base);
  Target t(base);
  std::mt19937_64 rng(0x6a7ba6e);
  size_t applied = 0, rejected = 0;
  for (int i = 0; i < 4000; ++i) {
    CAPTURE(i);
    Bytes in(rng() % 300);
    for (auto& b : in) b = static_cast<uint8_t>(rng());
    // Half of the inputs start like a real update so they get past the header check.
    if (i % 2 && !in.empty()) {
      size_t keep = std::min<size_t>(1 + rng() % 4, std::min(in.size(), good.size()));
      std::memcpy(in.data(), good.data(), keep);
    }
    bool dirty = false;
    if (check_apply(t, in, &dirty)) ++applied; else ++rejected;
    if (dirty) t = Target(base);
  }
  std::printf("garbage random: %zu rejected, %zu applied\n", rejected, applied);
  CHECK(rejected > 0);
}

TEST_CASE("garbage: every truncation of a valid update is rejected", "[garbage]") {
  const Bytes base = base_state();
  const Bytes good = sample_update(base);
  Target t(base);
  for (size_t len = 0; len < good.size(); ++len) {
    CAPTURE(len, good.size());
    Bytes in(good.begin(), good.begin() + len);
    bool dirty = false;
    CHECK_FALSE(check_apply(t, in, &dirty));
    if (dirty) t = Target(base);
  }
  // The whole update still applies afterwards (nothing was half-applied).
  Status st = apply_upd(t.doc, good);
  INFO(st.message);
  CHECK(st.ok);
  // Truncated full states too.
  Doc full_src(3);
  REQUIRE(apply_upd(full_src, base).ok);
  REQUIRE(apply_upd(full_src, good).ok);
  const Bytes full = full_src.encode_state();
  for (size_t len = 0; len < full.size(); ++len) {
    CAPTURE(len, full.size());
    Doc d(4);
    const Bytes before = d.encode_state();
    Status s = d.apply_update(full.data(), len);
    CHECK_FALSE(s.ok);
    CHECK(!s.message.empty());
    CHECK(d.encode_state() == before);
  }
}

TEST_CASE("garbage: every single-byte corruption applies validly or changes nothing", "[garbage]") {
  const Bytes base = base_state();
  const Bytes good = sample_update(base);
  Target t(base);
  size_t applied = 0, rejected = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    const uint8_t orig = good[i];
    for (uint8_t v : {uint8_t(orig ^ 0x01), uint8_t(orig ^ 0x80), uint8_t(orig ^ 0xff), uint8_t(0x00), uint8_t(0xff),
                      uint8_t(orig + 1), uint8_t(0x7f)}) {
      if (v == orig) continue;
      CAPTURE(i, int(orig), int(v));
      Bytes in = good;
      in[i] = v;
      bool dirty = false;
      if (check_apply(t, in, &dirty)) ++applied; else ++rejected;
      if (dirty) t = Target(base);
    }
  }
  std::printf("garbage single-byte corruptions of a %zu-byte update: %zu rejected, %zu applied\n", good.size(),
              rejected, applied);
  CHECK(rejected > 0);
}

TEST_CASE("garbage: single-byte corruptions of a full multi-client state", "[garbage]") {
  // The same rule for a bigger input: a whole document state (several clients, every root type,
  // deleted runs) loaded into a document that already has other content.
  const Bytes base = base_state();
  Doc src(0x4242);
  REQUIRE(apply_upd(src, base).ok);
  REQUIRE(apply_upd(src, sample_update(base)).ok);
  RootHandle t = text_of(src);
  for (int i = 0; i < 30; ++i) REQUIRE(src.text_insert(t, static_cast<uint32_t>(i), U("k")).ok);
  REQUIRE(src.text_delete(t, 5, 10).ok);
  const Bytes full = src.encode_state();
  Doc other(0x4343);
  RootHandle to = text_of(other);
  REQUIRE(other.text_insert(to, 0, U("unrelated content")).ok);
  const Bytes other_state = other.encode_state();
  Target tg(other_state);
  size_t applied = 0, rejected = 0;
  for (size_t i = 0; i < full.size(); ++i) {
    for (uint8_t x : {uint8_t(0x01), uint8_t(0x40), uint8_t(0x80), uint8_t(0xff)}) {
      CAPTURE(i, x);
      Bytes in = full;
      in[i] ^= x;
      bool dirty = false;
      if (check_apply(tg, in, &dirty)) ++applied; else ++rejected;
      if (dirty) tg = Target(other_state);
    }
  }
  std::printf("garbage single-byte corruptions of a %zu-byte state: %zu rejected, %zu applied\n", full.size(),
              rejected, applied);
  CHECK(rejected > 0);
}

TEST_CASE("garbage: huge declared lengths fail fast without allocating", "[garbage]") {
  const Bytes base = base_state();
  const Bytes good = sample_update(base);
  Target t(base);
  const std::vector<Bytes> bombs = {
      leb128(uint64_t{1} << 40), leb128(uint64_t{1} << 32), leb128((uint64_t{1} << 63) + 5),
      leb128(~uint64_t{0}), leb128(0xFFFFFFFFull),
      Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},  // overlong varint
      Bytes{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}};
  size_t worst = 0, worst_at = 0;
  double worst_ms = 0;
  for (size_t bi = 0; bi < bombs.size(); ++bi) {
    for (size_t i = 0; i <= good.size(); ++i) {
      for (bool replace : {true, false}) {
        if (replace && i == good.size()) continue;
        CAPTURE(bi, i, replace);
        Bytes in(good.begin(), good.begin() + i);
        in.insert(in.end(), bombs[bi].begin(), bombs[bi].end());
        in.insert(in.end(), good.begin() + i + (replace ? 1 : 0), good.end());
        bool dirty = false;
        size_t largest = 0;
        auto t0 = std::chrono::steady_clock::now();
        check_apply(t, in, &dirty, &largest);
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (largest > worst) worst = largest, worst_at = i;
        worst_ms = std::max(worst_ms, ms);
        // Nothing in a ~100-byte input justifies a large buffer.
        CHECK(largest < (size_t{16} << 20));
        if (dirty) t = Target(base);
      }
    }
  }
  std::printf("garbage huge lengths: largest single allocation %zu bytes (offset %zu), slowest %.2f ms\n", worst,
              worst_at, worst_ms);
  // Directly after the first byte (the version) and after the first few bytes.
  for (size_t head = 0; head <= std::min<size_t>(4, good.size()); ++head) {
    Bytes in(good.begin(), good.begin() + head);
    Bytes n = leb128(uint64_t{1} << 40);
    in.insert(in.end(), n.begin(), n.end());
    bool dirty = false;
    size_t largest = 0;
    CAPTURE(head);
    CHECK_FALSE(check_apply(t, in, &dirty, &largest));
    CHECK(largest < (size_t{16} << 20));
    if (dirty) t = Target(base);
  }
}

TEST_CASE("garbage: wrong magic or version byte is rejected, naming the version", "[garbage]") {
  // The format starts with a magic byte and a version byte (cpp/codec/update_codec.h).
  const Bytes base = base_state();
  const Bytes good = sample_update(base);
  Target t(base);
  REQUIRE(good.size() > 2);
  const uint8_t magic = good[0], version = good[1];
  // Every kind of update the core produces starts the same way.
  Doc d(5);
  const Bytes all = since(d, empty_sv());
  CHECK(base[0] == magic);
  CHECK(base[1] == version);
  REQUIRE(all.size() > 2);
  CHECK(all[0] == magic);
  CHECK(all[1] == version);
  for (int v = 0; v < 256; ++v) {
    CAPTURE(v);
    if (v != magic) {
      Bytes in = good;
      in[0] = static_cast<uint8_t>(v);
      Status st = t.doc.apply_update(in.data(), in.size());
      CHECK_FALSE(st.ok);
      CHECK(!st.message.empty());
      CHECK(t.doc.encode_state() == t.state);
    }
    if (v != version) {
      Bytes in = good;
      in[1] = static_cast<uint8_t>(v);
      Status st = t.doc.apply_update(in.data(), in.size());
      CHECK_FALSE(st.ok);
      INFO("message: " << st.message);
      CHECK(st.message.find("version " + std::to_string(v)) != std::string::npos);
      CHECK(t.doc.encode_state() == t.state);
    }
  }
}

TEST_CASE("garbage: invalid UTF-8 and invalid JSON inside an update are rejected", "[garbage]") {
  const Bytes base = base_state();
  const Bytes good = sample_update(base);
  struct Case { const char* marker; size_t offset; uint8_t byte; const char* what; };
  const std::vector<Case> cases = {
      {"MAPVALUEMARKER", 3, 0xff, "invalid UTF-8 in a map value"},
      {"MAPVALUEMARKER", 3, 0xc3, "truncated UTF-8 sequence in a map value"},
      {"\"MAPVALUEMARKER\"", 0, '{', "invalid JSON in a map value (opening quote -> brace)"},
      {"\"MAPVALUEMARKER\"", 15, 'x', "invalid JSON in a map value (closing quote removed)"},
      {"[\"REGMARKER\"]", 0, '{', "invalid JSON in a register value"},
      {"REGMARKER", 0, 0x80, "invalid UTF-8 in a register value"},
      {"MAPKEYMARKER", 2, 0xfe, "invalid UTF-8 in a map key"},
      {"TEXTMARKER", 4, 0xff, "invalid UTF-8 in text content"},
      {"[\"LISTMARKER\"]", 0, '{', "invalid JSON in a list value"},
      {"LISTMARKER", 1, 0xff, "invalid UTF-8 in a list value"},
  };
  size_t found = 0;
  for (const Case& c : cases) {
    INFO(c.what);
    size_t at = find(good, c.marker);
    if (at == std::string::npos) {
      WARN("marker " << c.marker << " not stored verbatim in updates; case not checked: " << c.what);
      continue;
    }
    ++found;
    Target t(base);
    Bytes in = good;
    in[at + c.offset] = c.byte;
    Status st = t.doc.apply_update(in.data(), in.size());
    INFO("message: " << st.message);
    CHECK_FALSE(st.ok);
    CHECK(!st.message.empty());
    CHECK(t.doc.encode_state() == t.state);
  }
  // Values are JSON texts: at least the map value must be findable in a readable format.
  CHECK(found > 0);
  // The local API validates too.
  Doc d(6);
  RootHandle m = root_of(d, RootType::Map, "m"), r = root_of(d, RootType::Register, "r");
  CHECK_FALSE(d.map_set(m, "k", "\"\xff\"").ok);
  CHECK_FALSE(d.map_set(m, "k", "{\"a\":}").ok);
  CHECK_FALSE(d.register_set(r, "tru").ok);
  CHECK(d.map_keys(m).empty());
  CHECK_FALSE(d.register_get(r).has_value());
}

TEST_CASE("garbage: bad state vectors for encode_state_since", "[garbage]") {
  const Bytes base = base_state();
  Doc d(8);
  REQUIRE(apply_upd(d, base).ok);
  const Bytes before = d.encode_state();
  const Bytes sv = d.state_vector();
  std::vector<Bytes> inputs;
  inputs.push_back({});
  for (size_t len = 0; len < sv.size(); ++len) inputs.emplace_back(sv.begin(), sv.begin() + len);
  for (size_t i = 0; i < sv.size(); ++i)
    for (uint8_t x : {0x01, 0x80, 0xff}) {
      Bytes b = sv;
      b[i] ^= x;
      inputs.push_back(b);
    }
  for (size_t i = 0; i <= sv.size(); ++i) {
    Bytes b(sv.begin(), sv.begin() + i);
    Bytes n = leb128(uint64_t{1} << 40);
    b.insert(b.end(), n.begin(), n.end());
    b.insert(b.end(), sv.begin() + i, sv.end());
    inputs.push_back(b);
  }
  std::mt19937_64 rng(0x5eed5);
  for (int i = 0; i < 1000; ++i) {
    Bytes b(rng() % 64);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    if (!b.empty() && i % 2) b[0] = sv[0];
    inputs.push_back(b);
  }
  inputs.push_back(base);  // a whole update is not a state vector
  size_t ok = 0, failed = 0;
  for (const Bytes& in : inputs) {
    INFO("sv: " << hex(in));
    Bytes out;
    Status st;
    size_t largest = 0;
    {
      AllocWatch w;
      st = d.encode_state_since(in.data(), in.size(), &out);
      largest = w.largest();
    }
    CHECK(largest < (size_t{16} << 20));
    if (st.ok) {
      ++ok;
      // Whatever it produced is a well-formed update.
      Doc e(9);
      Status s2 = apply_upd(e, out);
      INFO("applying the output: " << s2.message);
      CHECK(s2.ok);
    } else {
      ++failed;
      CHECK(!st.message.empty());
    }
  }
  CHECK(d.encode_state() == before);
  std::printf("garbage state vectors: %zu rejected, %zu accepted\n", failed, ok);
  CHECK(failed > 0);
}
