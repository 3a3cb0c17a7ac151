// Native benchmark of the roomsync C++ core alone (no WASM, no JS), on the editing traces.
//
//   roomsync_bench [--trace NAME]... [--runs N] [--traces DIR] [--json] [--phase P]... [--no-warmup]
//
// Traces: --traces DIR, else $ROOMSYNC_TRACES, else <source dir>/../shared/traces (the same rules
// as tests/bench/traces.js). Default: every sequential trace there, automerge-paper first.
// Per trace (median of N runs; 3 for traces above 100k txns, else 5; one warm-up run first):
//   apply   every txn through the per-edit API (text_insert/text_delete; a txn of several calls
//           is one begin()/commit()), no update capture
//   b4      the same with set_capture_updates(true): every txn is its own transaction and its
//           update bytes are taken (crdt-benchmarks B4)
//   encode  encode_state() of the final document (size and time)
//   load    apply_update(encoded) into an empty doc + read the text + one insert
//   update  apply_update(encoded) into an empty doc + read the text
//   heap    bytes held by the loaded document, and the peak during the load (counted by the
//           replaced global operator new/delete below)
//   runs    text runs of the loaded document, and Doc::memory_bytes() per run (B/run)
// Also the synthetic worst case for memory per run: --trace random-typing-30k (as in traces.js).
// --phase apply|b4|encode|load|update restricts the timed work (e.g. under callgrind:
//   valgrind --tool=callgrind build/roomsync_bench --trace automerge-paper --runs 1 --no-warmup --phase apply)
// --json prints one JSON object (read by tests/bench/run.js) instead of the table.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <malloc.h>
#include <new>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include "crdt/doc.h"

// Heap accounting: every C++ allocation goes through these (the core uses no raw malloc).
// GCC cannot see that the replaced new/delete pair malloc/free, hence the pragma.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
namespace heapcount {
size_t live = 0;
size_t peak = 0;
}  // namespace heapcount

void* operator new(size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  heapcount::live += malloc_usable_size(p);
  if (heapcount::live > heapcount::peak) heapcount::peak = heapcount::live;
  return p;
}
void operator delete(void* p) noexcept {
  if (!p) return;
  heapcount::live -= malloc_usable_size(p);
  std::free(p);
}
void operator delete(void* p, size_t) noexcept { operator delete(p); }
void* operator new[](size_t n) { return operator new(n); }
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete[](void* p, size_t) noexcept { operator delete(p); }

namespace fs = std::filesystem;
using json = nlohmann::json;
using roomsync::Doc;
using roomsync::RootHandle;
using roomsync::RootType;

namespace {

struct Patch {
  uint32_t pos;
  uint32_t del;
  std::u16string ins;
};
using Txn = std::vector<Patch>;

struct Trace {
  std::string name;
  std::vector<Txn> txns;
  std::u16string end;
  size_t calls = 0;
};

bool read_gz(const fs::path& p, std::string* out) {
  gzFile f = gzopen(p.string().c_str(), "rb");
  if (!f) return false;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out->append(buf, static_cast<size_t>(n));
  bool ok = n == 0;
  gzclose(f);
  return ok;
}

bool load_trace(const fs::path& dir, const std::string& name, Trace* t, std::string* err) {
  std::string raw;
  if (!read_gz(dir / (name + ".json.gz"), &raw)) {
    *err = "cannot read " + (dir / (name + ".json.gz")).string();
    return false;
  }
  json j = json::parse(raw, nullptr, false);
  if (j.is_discarded() || !j.contains("txns")) {
    *err = name + ": not a sequential trace";
    return false;
  }
  t->name = name;
  t->end = roomsync::utf8_to_utf16(j["endContent"].get<std::string>());
  for (const auto& tx : j["txns"]) {
    Txn txn;
    for (const auto& p : tx["patches"]) {
      Patch q{p[0].get<uint32_t>(), p[1].get<uint32_t>(), roomsync::utf8_to_utf16(p[2].get<std::string>())};
      t->calls += (q.del > 0) + !q.ins.empty();
      txn.push_back(std::move(q));
    }
    t->txns.push_back(std::move(txn));
  }
  return true;
}

// Memory (issue 8): the synthetic worst case of tests/bench/traces.js (randomTypingTrace):
// `chars` letters typed one at a time at seeded random positions, so nearly every keystroke
// starts a run of its own. Same xorshift32 and arithmetic, so the same text as in JS.
Trace random_typing_trace(uint32_t chars = 30000, uint32_t seed = 8) {
  uint32_t x = seed ? seed : 1;
  auto rand = [&] {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    return x / 4294967296.0;
  };
  const std::u16string letters = u"abcdefghijklmnopqrstuvwxyz ";
  Trace t;
  t.name = "random-typing-30k";
  for (uint32_t i = 0; i < chars; i++) {
    uint32_t pos = static_cast<uint32_t>(rand() * (t.end.size() + 1));
    char16_t ch = letters[static_cast<size_t>(rand() * letters.size())];
    t.txns.push_back({Patch{pos, 0, std::u16string(1, ch)}});
    t.end.insert(t.end.begin() + pos, ch);
    t.calls++;
  }
  return t;
}

bool single_call(const Txn& txn) {
  return txn.size() == 1 && ((txn[0].del > 0) != !txn[0].ins.empty());
}

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

struct ApplyResult {
  bool ok = true;
  size_t updates = 0;
  size_t update_bytes = 0;
};

// Replays the trace into `doc`. With b4, captures every transaction's update bytes.
ApplyResult replay(Doc& doc, const Trace& t, bool b4) {
  ApplyResult r;
  RootHandle text = 0;
  r.ok = doc.root(RootType::Text, "text", &text).ok;
  doc.set_capture_updates(b4);
  std::vector<uint8_t> update;  // the last keystroke's update (B4)
  for (const Txn& txn : t.txns) {
    if (single_call(txn)) {
      const Patch& p = txn[0];
      bool ok = p.del > 0 ? doc.text_delete(text, p.pos, p.del).ok : doc.text_insert(text, p.pos, p.ins).ok;
      r.ok &= ok;
      if (b4) {
        // As wasm/bindings.cpp takes it (B4, issue 8): the update buffer swapped for ours, so
        // the next keystroke encodes into a buffer the document keeps.
        update.swap(doc.last_result().update);
        r.updates++;
        r.update_bytes += update.size();
      }
    } else {
      doc.begin();
      for (const Patch& p : txn) {
        if (p.del > 0) r.ok &= doc.text_delete(text, p.pos, p.del).ok;
        if (!p.ins.empty()) r.ok &= doc.text_insert(text, p.pos, p.ins).ok;
      }
      auto res = doc.commit();
      if (b4) {
        r.updates++;
        r.update_bytes += res.update.size();
      }
    }
  }
  r.ok &= doc.text_content(text) == t.end;
  return r;
}

struct Series {
  std::vector<double> runs;
  json to_json() const { return {{"runs", runs}, {"median", median(runs)}}; }
};


std::string fmt_ms(double v) {
  char b[32];
  std::snprintf(b, sizeof b, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> names;
  std::set<std::string> phases;
  int runs_arg = 0;
  bool as_json = false, warmup = true;
  fs::path dir;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) { std::fprintf(stderr, "%s needs a value\n", a.c_str()); std::exit(2); }
      return argv[++i];
    };
    if (a == "--trace") names.push_back(val());
    else if (a == "--runs") runs_arg = std::max(1, std::atoi(val().c_str()));
    else if (a == "--traces") dir = val();
    else if (a == "--json") as_json = true;
    else if (a == "--phase") phases.insert(val());
    else if (a == "--no-warmup") warmup = false;
    else if (a == "-h" || a == "--help") {
      std::puts("roomsync_bench [--trace NAME]... [--runs N] [--traces DIR] [--json] [--phase apply|b4|encode|load|update]... [--no-warmup]");
      return 0;
    } else { std::fprintf(stderr, "unknown argument %s\n", a.c_str()); return 2; }
  }
  auto want = [&](const char* p) { return phases.empty() || phases.count(p) > 0; };
  if (dir.empty()) {
    if (const char* e = std::getenv("ROOMSYNC_TRACES")) dir = e;
#ifdef ROOMSYNC_SOURCE_DIR
    else dir = fs::path(ROOMSYNC_SOURCE_DIR) / ".." / "shared" / "traces";
#else
    else dir = fs::path("..") / "shared" / "traces";
#endif
  }
  if (names.empty()) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::string f = e.path().filename().string();
      if (e.is_regular_file() && f.size() > 8 && f.ends_with(".json.gz")) names.push_back(f.substr(0, f.size() - 8));
    }
    std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
      if ((a == "automerge-paper") != (b == "automerge-paper")) return a == "automerge-paper";
      return a < b;
    });
    if (names.empty()) {
      std::fprintf(stderr, "!!!!! SKIPPED: no traces found in %s (set ROOMSYNC_TRACES) !!!!!\n", dir.string().c_str());
      if (as_json) std::puts(R"({"skipped":"no traces","traces":[]})");
      return 0;
    }
  }

  json out = {{"tool", "roomsync_bench"}, {"traces_dir", dir.string()}, {"traces", json::array()}};
  if (!as_json)
    std::printf("%-20s %5s %10s %10s %11s %10s %10s %12s %13s %10s %10s %8s %8s\n", "trace", "text", "apply ms", "B4 ms", "B4 bytes",
                "encoded B", "encode ms", "load+read ms", "one update ms", "heap KiB", "peak KiB", "runs", "B/run");
  for (const std::string& name : names) {
    Trace t;
    std::string err;
    if (name == "random-typing-30k") t = random_typing_trace();  // memory (issue 8)
    else if (!load_trace(dir, name, &t, &err)) {
      std::fprintf(stderr, "!!!!! SKIPPED %s: %s !!!!!\n", name.c_str(), err.c_str());
      out["traces"].push_back({{"name", name}, {"error", err}});
      continue;
    }
    const int runs = runs_arg ? runs_arg : (t.txns.size() > 100000 ? 3 : 5);
    bool ok = true;
    Series apply, b4, encode, load, update;
    ApplyResult b4r;
    if (want("apply")) {
      if (warmup) { Doc d(1); ok &= replay(d, t, false).ok; }
      for (int i = 0; i < runs; i++) {
        auto t0 = Clock::now();
        Doc d(1);
        bool r = replay(d, t, false).ok;
        apply.runs.push_back(ms_since(t0));
        ok &= r;
      }
    }
    if (want("b4")) {
      if (warmup) { Doc d(1); ok &= replay(d, t, true).ok; }
      for (int i = 0; i < runs; i++) {
        auto t0 = Clock::now();
        Doc d(1);
        b4r = replay(d, t, true);
        b4.runs.push_back(ms_since(t0));
        ok &= b4r.ok;
      }
    }
    // The document for encoding and loading (not timed).
    std::vector<uint8_t> bytes;
    const int more = std::max(runs, 5);
    if (want("encode") || want("load") || want("update")) {
      Doc built(1);
      ok &= replay(built, t, false).ok;
      for (int i = 0; i < more; i++) {
        auto t0 = Clock::now();
        bytes = built.encode_state();
        encode.runs.push_back(ms_since(t0));
      }
    }
    size_t runs_loaded = 0, core_bytes = 0;  // memory (issue 8): runs and Doc::memory_bytes after load
    auto load_once = [&](bool edit, size_t* heap, size_t* peak) {
      size_t h0 = heapcount::live;
      heapcount::peak = h0;
      auto t0 = Clock::now();
      auto d = std::make_unique<Doc>(2);
      bool r = d->apply_update(bytes.data(), bytes.size()).ok;
      RootHandle text = 0;
      r &= d->root(RootType::Text, "text", &text).ok;
      std::u16string s = d->text_content(text);
      if (edit) r &= d->text_insert(text, static_cast<uint32_t>(s.size() / 2), u"x").ok;
      double ms = ms_since(t0);
      ok &= r && s == t.end;
      std::u16string().swap(s);  // count the document, not the copy of its text
      if (heap) *heap = heapcount::live - h0;
      if (heap) runs_loaded = d->text_runs(text), core_bytes = d->memory_bytes();
      if (peak) *peak = heapcount::peak - h0;
      return ms;
    };
    size_t heap = 0, peak = 0;
    if (want("load")) {
      if (warmup) load_once(true, nullptr, nullptr);
      for (int i = 0; i < more; i++) load.runs.push_back(load_once(true, nullptr, nullptr));
      load_once(false, &heap, &peak);
    }
    if (want("update")) {
      if (warmup) load_once(false, nullptr, nullptr);
      for (int i = 0; i < more; i++) update.runs.push_back(load_once(false, nullptr, nullptr));
    }
    json jt = {{"name", name},
               {"ok", ok},
               {"txns", t.txns.size()},
               {"calls", t.calls},
               {"runs", runs},
               {"apply", apply.to_json()},
               {"b4", {{"runs", b4.runs}, {"median", median(b4.runs)}, {"updates", b4r.updates}, {"update_bytes", b4r.update_bytes}}},
               {"encoded_bytes", bytes.size()},
               {"encode", encode.to_json()},
               {"load", load.to_json()},
               {"apply_update", update.to_json()},
               {"heap_after_load_bytes", heap},
               {"heap_peak_during_load_bytes", peak},
               {"runs_after_load", runs_loaded},
               {"core_bytes_after_load", core_bytes}};
    out["traces"].push_back(jt);
    if (!as_json) {
      std::printf("%-20s %5s %10s %10s %11zu %10zu %10s %12s %13s %10.0f %10.0f %8zu %8.0f\n", name.c_str(), ok ? "ok" : "WRONG",
                  fmt_ms(median(apply.runs)).c_str(), fmt_ms(median(b4.runs)).c_str(), b4r.update_bytes, bytes.size(),
                  fmt_ms(median(encode.runs)).c_str(), fmt_ms(median(load.runs)).c_str(),
                  fmt_ms(median(update.runs)).c_str(), heap / 1024.0, peak / 1024.0, runs_loaded,
                  runs_loaded ? static_cast<double>(core_bytes) / runs_loaded : 0.0);
      std::fflush(stdout);
    }
  }
  if (as_json) std::puts(out.dump().c_str());
  return 0;
}
