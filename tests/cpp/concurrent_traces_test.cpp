// Replays the concurrent editing traces (shared/traces/concurrent/*.json.gz) with one Doc per
// agent. Before each transaction the agent's document is brought to exactly the version named by
// the transaction's parents (it receives the updates of precisely the transactions in the
// parents' causal history that it lacks), then the patches are applied locally. At the end all
// agents merge and must hold endContent.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>

#include "test_util.h"
#include "trace_loader.h"

using namespace roomsync;
using namespace roomsync_test;

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("concurrent traces: per-agent replay at the parents' version merges to endContent",
          "[traces][concurrent]") {
  std::string dir;
  if (!require_traces_dir("concurrent", &dir)) return;
  const auto files = list_gz_files(dir);
  REQUIRE(!files.empty());
  std::printf("\n(* = observed: the text events are replayed on a string and checked too)");
  std::printf("\n%-16s %7s %6s %6s | %9s %9s %9s %9s %9s\n", "concurrent trace", "txns", "agents", "merges",
              "replay ms", "synced", "merge ms", "reverse*", "shuffled*");
  for (const std::string& path : files) {
    Trace tr;
    std::string err;
    REQUIRE(load_trace(path, &tr, &err));
    INFO("trace " << tr.name);
    REQUIRE(tr.concurrent);
    REQUIRE(tr.num_agents >= 1);
    const size_t n = tr.txns.size();
    const uint32_t agents = tr.num_agents;

    std::vector<std::unique_ptr<Doc>> docs;
    std::vector<RootHandle> roots;
    for (uint32_t a = 0; a < agents; ++a) {
      docs.push_back(std::make_unique<Doc>(1000 + a));
      roots.push_back(text_of(*docs.back()));
      docs.back()->set_capture_updates(true);
    }
    std::vector<std::vector<char>> has(agents, std::vector<char>(n, 0));
    std::vector<long> last_own(agents, -1);
    std::vector<Bytes> upd(n);
    std::vector<uint32_t> mark(n, 0);
    uint32_t epoch = 0;
    size_t merges = 0, synced_updates = 0;
    std::string failure;

    auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < n && failure.empty(); ++i) {
      const TraceTxn& tx = tr.txns[i];
      const uint32_t a = tx.agent;
      if (a >= agents) {
        failure = "txn " + std::to_string(i) + " names agent " + std::to_string(a);
        break;
      }
      Doc& d = *docs[a];
      if (tx.parents.size() > 1) ++merges;
      // Transactions in the parents' history that this agent's document lacks.
      ++epoch;
      std::vector<uint32_t> stack(tx.parents.begin(), tx.parents.end()), missing;
      bool saw_last_own = last_own[a] < 0;
      while (!stack.empty()) {
        uint32_t x = stack.back();
        stack.pop_back();
        if (x >= i) {
          failure = "txn " + std::to_string(i) + " has parent " + std::to_string(x) + " that is not earlier";
          break;
        }
        if (static_cast<long>(x) == last_own[a]) saw_last_own = true;
        if (has[a][x] || mark[x] == epoch) continue;
        mark[x] = epoch;
        missing.push_back(x);
        for (uint32_t p : tr.txns[x].parents) stack.push_back(p);
      }
      if (!failure.empty()) break;
      // The agent's document already holds the history of its previous transaction; that must be
      // part of the parents' history, or the document would hold more than the parents' version.
      if (!saw_last_own) {
        failure = "txn " + std::to_string(i) + ": agent's previous txn " + std::to_string(last_own[a]) +
                  " is not in the parents' history";
        break;
      }
      std::sort(missing.begin(), missing.end());  // trace indexes are a topological order
      for (uint32_t x : missing) {
        Status st = apply_upd(d, upd[x]);
        if (!st) {
          failure = "txn " + std::to_string(i) + ": applying update of txn " + std::to_string(x) + " to agent " +
                    std::to_string(a) + " failed: " + st.message;
          break;
        }
        has[a][x] = 1;
        ++synced_updates;
      }
      if (!failure.empty()) break;
      if (d.pending_ops() != 0) {
        failure = "txn " + std::to_string(i) + ": agent " + std::to_string(a) + " has " +
                  std::to_string(d.pending_ops()) + " pending ops after receiving a causally complete history";
        break;
      }
      TransactionResult r;
      std::string e = apply_trace_txn(d, roots[a], tx, tr.has_astral, &r);
      if (!e.empty()) {
        failure = "txn " + std::to_string(i) + " (agent " + std::to_string(a) + "): " + e;
        break;
      }
      if (r.update.empty()) {
        failure = "txn " + std::to_string(i) + ": commit() captured no update bytes";
        break;
      }
      upd[i] = std::move(r.update);
      has[a][i] = 1;
      last_own[a] = static_cast<long>(i);
    }
    const double replay_ms = ms_since(t0);
    INFO("replay failure: " << failure);
    REQUIRE(failure == "");

    // Merge: every agent receives what it lacks from every other agent (delta sync).
    t0 = std::chrono::steady_clock::now();
    for (uint32_t a = 0; a < agents; ++a)
      for (uint32_t b = 0; b < agents; ++b) {
        if (a == b) continue;
        Status st = apply_upd(*docs[a], since(*docs[b], docs[a]->state_vector()));
        INFO("merge " << b << " -> " << a << ": " << st.message);
        CHECK(st.ok);
      }
    const double merge_ms = ms_since(t0);
    for (uint32_t a = 0; a < agents; ++a) {
      INFO("agent " << a);
      CHECK(docs[a]->pending_ops() == 0);
      CHECK(docs[a]->text_content(roots[a]) == tr.end_content);
    }
    // A fresh document loading every agent's full state.
    Doc merged(4242);
    for (uint32_t a = 0; a < agents; ++a) {
      Status st = apply_upd(merged, docs[a]->encode_state());
      INFO("loading agent " << a << ": " << st.message);
      CHECK(st.ok);
    }
    CHECK(merged.text_content(text_of(merged)) == tr.end_content);

    // Every transaction's update delivered in reverse order: all but the first wait for parents.
    // The document is observed: the text events of every apply, replayed on a plain string,
    // must give the same text (the last apply releases everything held back at once).
    Doc reverse(4343);
    RootHandle rt = text_of(reverse);
    reverse.set_observed(rt, true);
    std::u16string told;
    size_t bad_deltas = 0;
    t0 = std::chrono::steady_clock::now();
    size_t failed = 0;
    for (size_t i = n; i-- > 0;) {
      failed += !apply_upd(reverse, upd[i]).ok;
      for (const auto& e : reverse.take_last_result().text_events)
        if (e.root == rt) bad_deltas += !apply_delta(told, e.delta);
    }
    const double reverse_ms = ms_since(t0);
    CHECK(failed == 0);
    CHECK(bad_deltas == 0);
    CHECK(reverse.pending_ops() == 0);
    CHECK(reverse.text_content(rt) == tr.end_content);
    CHECK(told == tr.end_content);

    // And in a seeded random order.
    std::vector<size_t> order(n);
    for (size_t i = 0; i < n; ++i) order[i] = i;
    std::mt19937_64 rng(0xC0FFEE);
    std::shuffle(order.begin(), order.end(), rng);
    Doc shuffled(4444);
    RootHandle st_root = text_of(shuffled);
    shuffled.set_observed(st_root, true);
    told.clear();
    bad_deltas = 0;
    t0 = std::chrono::steady_clock::now();
    failed = 0;
    for (size_t k = 0; k < n; ++k) {
      failed += !apply_upd(shuffled, upd[order[k]]).ok;
      for (const auto& e : shuffled.take_last_result().text_events)
        if (e.root == st_root) bad_deltas += !apply_delta(told, e.delta);
    }
    const double shuffled_ms = ms_since(t0);
    CHECK(failed == 0);
    CHECK(bad_deltas == 0);
    CHECK(shuffled.pending_ops() == 0);
    CHECK(shuffled.text_content(st_root) == tr.end_content);
    CHECK(told == tr.end_content);

    std::printf("%-16s %7zu %6u %6zu | %9.1f %9zu %9.1f %9.1f %9.1f\n", tr.name.c_str(), n, agents, merges,
                replay_ms, synced_updates, merge_ms, reverse_ms, shuffled_ms);
    std::fflush(stdout);
  }
}
