// Replays every sequential editing trace (shared/traces/*.json.gz) into a Doc and checks the
// exact final text, then checks that the state survives every way of shipping it.
#include <chrono>
#include <cstdio>

#include "test_util.h"
#include "trace_loader.h"

using namespace roomsync;
using namespace roomsync_test;

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Replays the trace; returns "" or the first error. Captured per-transaction updates are
// appended to *updates when given.
std::string replay(const Trace& tr, Doc& d, RootHandle t, std::vector<Bytes>* updates) {
  if (updates) d.set_capture_updates(true);
  TransactionResult r;
  for (size_t i = 0; i < tr.txns.size(); ++i) {
    std::string err = apply_trace_txn(d, t, tr.txns[i], tr.has_astral, updates ? &r : nullptr);
    if (!err.empty()) return "txn " + std::to_string(i) + ": " + err;
    if (updates) {
      if (r.update.empty()) return "txn " + std::to_string(i) + ": commit() captured no update bytes";
      updates->push_back(std::move(r.update));
    }
  }
  return "";
}

}  // namespace

TEST_CASE("sequential traces replay to the exact endContent and survive encoding", "[traces]") {
  std::string dir;
  if (!require_traces_dir("", &dir)) return;
  const auto files = list_gz_files(dir);
  REQUIRE(!files.empty());
  std::printf("\n(by-upd* = per-transaction updates applied to a fresh doc, observed with events checked "
              "when <= 60000 txns)");
  std::printf("\n%-22s %8s %8s %8s | %9s %9s %9s %9s %9s | %9s %9s\n", "trace", "txns", "patches", "length",
              "load ms", "replay ms", "capture", "by-upd*", "encode ms", "state B", "load ms");
  for (const std::string& path : files) {
    Trace tr;
    std::string err;
    auto t0 = std::chrono::steady_clock::now();
    REQUIRE(load_trace(path, &tr, &err));
    const double load_ms = ms_since(t0);
    INFO("trace " << tr.name << " (" << tr.txns.size() << " txns)");
    REQUIRE_FALSE(tr.concurrent);

    // 1. Plain replay, timed.
    Doc d(1);
    RootHandle t = text_of(d);
    t0 = std::chrono::steady_clock::now();
    err = replay(tr, d, t, nullptr);
    const double replay_ms = ms_since(t0);
    CHECK(err == "");
    CHECK(d.text_length(t) == tr.end_content.size());
    const std::u16string got = d.text_content(t);
    const bool content_ok = got == tr.end_content;
    CHECK(content_ok);
    if (!content_ok || !err.empty()) {
      std::string where = find_first_divergence(tr);
      FAIL_CHECK("replay of " << tr.name << " diverged: " << where);
      continue;
    }
    CHECK(d.pending_ops() == 0);

    // 2. Replay again capturing every transaction's update; apply those updates in order to a
    // fresh document (the history shipped transaction by transaction).
    Doc d2(1);
    RootHandle t2 = text_of(d2);
    std::vector<Bytes> updates;
    updates.reserve(tr.txns.size());
    t0 = std::chrono::steady_clock::now();
    err = replay(tr, d2, t2, &updates);
    const double capture_ms = ms_since(t0);
    CHECK(err == "");
    CHECK(d2.text_content(t2) == tr.end_content);

    // For the shorter traces the receiving document is observed and its text events are
    // replayed on a plain string (too slow on a string for the longest traces).
    Doc by_updates(2);
    RootHandle tb = text_of(by_updates);
    const bool observe = tr.txns.size() <= 60000;
    by_updates.set_observed(tb, observe);
    std::u16string told;
    size_t bad_deltas = 0;
    t0 = std::chrono::steady_clock::now();
    size_t failed = 0;
    std::string first_fail;
    for (size_t i = 0; i < updates.size(); ++i) {
      Status st = apply_upd(by_updates, updates[i]);
      if (!st && failed++ == 0) first_fail = "update " + std::to_string(i) + ": " + st.message;
      if (observe)
        for (const auto& e : by_updates.take_last_result().text_events)
          if (e.root == tb) bad_deltas += !apply_delta(told, e.delta);
    }
    const double by_updates_ms = ms_since(t0);
    INFO("first failing per-transaction update: " << first_fail);
    CHECK(failed == 0);
    CHECK(by_updates.pending_ops() == 0);
    CHECK(by_updates.text_content(tb) == tr.end_content);
    if (observe) {
      CHECK(bad_deltas == 0);
      CHECK(told == tr.end_content);
    }

    // 3. encode_state -> fresh doc (root asked for after the load).
    t0 = std::chrono::steady_clock::now();
    const Bytes state = d.encode_state();
    const double encode_ms = ms_since(t0);
    Doc loaded(3);
    t0 = std::chrono::steady_clock::now();
    Status st = apply_upd(loaded, state);
    const double load_state_ms = ms_since(t0);
    INFO("apply_update(encode_state): " << st.message);
    CHECK(st.ok);
    CHECK(loaded.text_content(text_of(loaded)) == tr.end_content);
    CHECK(loaded.pending_ops() == 0);
    // Re-encoding the loaded copy gives a state that loads to the same text again.
    CHECK(view_of_loaded(loaded.encode_state()) == view_of(d));

    // 4. The whole history as one update computed against an empty version vector, applied to
    // an empty document whose root already exists locally.
    const Bytes all = since(d, empty_sv());
    Doc from_all(4);
    RootHandle t4 = text_of(from_all);
    st = apply_upd(from_all, all);
    INFO("apply_update(encode_state_since(empty)): " << st.message);
    CHECK(st.ok);
    CHECK(from_all.text_content(t4) == tr.end_content);

    // 5. Nothing is new for a peer that has everything.
    const Bytes none = since(d, loaded.state_vector());
    const Bytes before = loaded.encode_state();
    st = apply_upd(loaded, none);
    CHECK(st.ok);
    CHECK(loaded.encode_state() == before);

    std::printf("%-22s %8zu %8zu %8zu | %9.1f %9.1f %9.1f %9.1f %9.1f | %9zu %9.1f\n", tr.name.c_str(),
                tr.txns.size(), tr.patch_count, tr.end_content.size(), load_ms, replay_ms, capture_ms,
                by_updates_ms, encode_ms, state.size(), load_state_ms);
    std::fflush(stdout);
  }
}
