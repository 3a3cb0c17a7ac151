// Randomized convergence: 3-8 replicas edit every root type concurrently while a simulated
// network delivers their per-transaction updates late, out of order, duplicated or not at all,
// with occasional full-state and delta syncs. After everything is delivered all replicas must be
// identical, hold no pending ops, and equal a fresh replica that received everything at once.
// Fully deterministic: every run of a seed does the same thing.
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <memory>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "test_util.h"

using namespace roomsync;
using namespace roomsync_test;

namespace {

bool is_high(char16_t c) { return c >= 0xD800 && c <= 0xDBFF; }
bool is_low(char16_t c) { return c >= 0xDC00 && c <= 0xDFFF; }
bool inside_pair(const std::u16string& s, size_t p) {
  return p > 0 && p < s.size() && is_high(s[p - 1]) && is_low(s[p]);
}

struct Replica {
  std::unique_ptr<Doc> doc;
  RootHandle text = 0, map = 0, reg = 0, ctr = 0;
  // What the replica's observer has been told so far (built from events only).
  std::u16string seen_text;
  std::map<std::string, std::string> seen_map;
  RootHandle list = 0;
  std::vector<std::string> seen_list;
};

std::map<std::string, std::string> map_snapshot(const Doc& d, RootHandle m) {
  std::map<std::string, std::string> out;
  for (const auto& k : d.map_keys(m)) out[k] = d.map_get(m, k).value_or("<none>");
  return out;
}

struct Msg {
  uint64_t at;
  size_t dst;
  size_t update;  // index into the log
};

class Sim {
 public:
  Sim(uint64_t seed, size_t replicas) : rng_(seed) {
    for (size_t i = 0; i < replicas; ++i) {
      Replica r;
      // Distinct ids below 2^53, derived from the seed.
      r.doc = std::make_unique<Doc>((rng_() & kMaxClientId) | 1);
      r.doc->set_capture_updates(true);
      r.text = text_of(*r.doc, "text");
      r.map = root_of(*r.doc, RootType::Map, "map");
      r.reg = root_of(*r.doc, RootType::Register, "reg");
      r.ctr = root_of(*r.doc, RootType::Counter, "ctr");
      r.doc->set_observed(r.text, true);
      r.doc->set_observed(r.map, true);
      r.list = root_of(*r.doc, RootType::List, "list");
      r.doc->set_observed(r.list, true);
      reps_.push_back(std::move(r));
    }
  }

  void run(int steps) {
    for (int s = 0; s < steps; ++s) {
      ++now_;
      const int roll = pick(0, 99);
      if (roll < 55) {
        local_txn(pick(0, reps_.size() - 1));
      } else if (roll < 85) {
        deliver_some();
      } else if (roll < 91) {
        full_state_sync();
      } else if (roll < 97) {
        delta_sync();
      }  // else: time passes
    }
  }

  void finish_and_check() {
    // Deliver the network's backlog in random order, then everything ever sent (dropped
    // messages included) to everyone, in random order.
    std::shuffle(net_.begin(), net_.end(), rng_);
    for (const Msg& m : net_) deliver(m.dst, m.update);
    net_.clear();
    for (size_t r = 0; r < reps_.size(); ++r) {
      std::vector<size_t> order(log_.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), rng_);
      for (size_t i : order) deliver(r, i);
    }
    for (size_t r = 0; r < reps_.size(); ++r) {
      INFO("replica " << r);
      CHECK(reps_[r].doc->pending_ops() == 0);
      CHECK(valid_utf16(reps_[r].doc->text_content(reps_[r].text)));
    }
    const DocView v0 = view_of(*reps_[0].doc);
    INFO("replica 0:\n" << describe(v0));
    for (size_t r = 1; r < reps_.size(); ++r) {
      INFO("replica " << r);
      CHECK(view_of(*reps_[r].doc) == v0);
    }
    CHECK(reps_[0].doc->counter_value(reps_[0].ctr) == counter_sum_);
    // Each replica's full state loads into a fresh document with the same content.
    for (size_t r = 0; r < reps_.size(); ++r) {
      INFO("encode_state of replica " << r);
      CHECK(view_of_loaded(reps_[r].doc->encode_state(), 0xabc + r) == v0);
    }
    // A fresh replica receiving every update at once (merged into one document, whose state
    // is then shipped as one update).
    Doc all(0x1111);
    std::vector<size_t> order(log_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng_);
    for (size_t i : order) {
      Status st = apply_upd(all, log_[i]);
      INFO("update " << i << ": " << st.message);
      REQUIRE(st.ok);
    }
    CHECK(all.pending_ops() == 0);
    CHECK(view_of(all) == v0);
    CHECK(view_of_loaded(all.encode_state(), 0x2222) == v0);
    // Converged replicas lack nothing from each other.
    for (size_t r = 1; r < reps_.size(); ++r) {
      Doc& a = *reps_[0].doc;
      Doc& b = *reps_[r].doc;
      const Bytes before = b.encode_state();
      Status st = apply_upd(b, since(a, b.state_vector()));
      CHECK(st.ok);
      CHECK(b.encode_state() == before);
    }
  }

  size_t updates() const { return log_.size(); }
  size_t rejected_inserts() const { return rejected_inserts_; }

 private:
  size_t pick(size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  void deliver(size_t dst, size_t update) {
    Status st = apply_upd(*reps_[dst].doc, log_[update]);
    INFO("delivering update " << update << " to replica " << dst << ": " << st.message);
    REQUIRE(st.ok);
    check_events(dst, reps_[dst].doc->take_last_result());
  }

  // The events of a transaction (local or remote) tell an observer exactly what changed: the
  // text delta turns the previously seen text into the current one, and every map key whose
  // value changed is listed.
  void check_events(size_t who, const TransactionResult& res) {
    Replica& r = reps_[who];
    const std::u16string now = r.doc->text_content(r.text);
    size_t text_events = 0;
    for (const auto& e : res.text_events) {
      if (e.root != r.text) continue;
      ++text_events;
      INFO("text delta of replica " << who);
      CHECK(apply_delta(r.seen_text, e.delta));
    }
    CHECK(text_events <= 1);
    if (r.seen_text != now) {
      INFO("replica " << who << ": the text events do not describe the change");
      CHECK(r.seen_text == now);
      r.seen_text = now;
    }
    const auto map_now = map_snapshot(*r.doc, r.map);
    std::set<std::string> told;
    for (const auto& e : res.map_events)
      if (e.root == r.map) told.insert(e.changed_keys.begin(), e.changed_keys.end());
    std::set<std::string> changed;
    for (const auto& [k, v] : map_now)
      if (!r.seen_map.count(k) || r.seen_map.at(k) != v) changed.insert(k);
    for (const auto& [k, v] : r.seen_map)
      if (!map_now.count(k)) changed.insert(k);
    for (const auto& k : changed) {
      INFO("replica " << who << ": map key '" << k << "' changed without a map event");
      CHECK(told.count(k) == 1);
    }
    r.seen_map = map_now;
    check_list_events(who, res);
  }

  // --- lists -----------------------------------------------------------------------------
  // The list delta turns the previously seen list into the current one.
  void check_list_events(size_t who, const TransactionResult& res) {
    Replica& r = reps_[who];
    size_t list_events = 0;
    for (const auto& e : res.list_events) {
      if (e.root != r.list) continue;
      ++list_events;
      INFO("list delta of replica " << who);
      CHECK(apply_list_delta(r.seen_list, e.delta));
    }
    CHECK(list_events <= 1);
    const std::vector<std::string> now = r.doc->list_values(r.list);
    if (r.seen_list != now) {
      INFO("replica " << who << ": the list events do not describe the change");
      CHECK(r.seen_list == now);
      r.seen_list = now;
    }
  }

  // Inserts of 1-4 random JSON values (sometimes many), deletes of short ranges; now and then
  // out of range, which must be refused with nothing changed.
  void list_op(Replica& r) {
    Doc& d = *r.doc;
    std::vector<std::string> expect = d.list_values(r.list);
    Status st;
    bool valid;
    if (expect.empty() || chance(0.6)) {
      const size_t pos = chance(0.05) ? expect.size() + pick(1, 3) : pick(0, expect.size());
      std::vector<std::string> values(chance(0.1) ? pick(5, 40) : pick(1, 4));
      for (auto& v : values) v = random_json();
      st = d.list_insert(r.list, static_cast<uint32_t>(pos), std::vector<std::string_view>(values.begin(), values.end()));
      valid = pos <= expect.size();
      if (valid) expect.insert(expect.begin() + static_cast<long>(pos), values.begin(), values.end());
    } else {
      const size_t pos = pick(0, expect.size()), len = pick(1, 6);
      st = d.list_delete(r.list, static_cast<uint32_t>(pos), static_cast<uint32_t>(len));
      valid = pos + len <= expect.size();
      if (valid) expect.erase(expect.begin() + static_cast<long>(pos), expect.begin() + static_cast<long>(pos + len));
    }
    INFO("list op: " << st.message);
    REQUIRE(st.ok == valid);
    if (!valid) CHECK(st.code == Status::kRange);
    REQUIRE(d.list_values(r.list) == expect);
    REQUIRE(d.list_length(r.list) == expect.size());
  }

  std::u16string random_code_point() {
    static const char* const pool[] = {"a", "b", "e", "x", " ", " ", "\n", "é", "ß", "中", "文", "😀", "👍🏽",
                                       "🎉", "𝄞", "\"", "\\", "Z"};
    return U(pool[pick(0, sizeof(pool) / sizeof(pool[0]) - 1)]);
  }

  std::u16string random_text() {
    size_t n;
    const int kind = pick(0, 99);
    if (kind < 3) n = pick(1000, 5000);  // a large paste
    else if (kind < 60) n = 1;          // typing
    else n = pick(2, 30);
    std::u16string s;
    if (n > 500) {  // a paste: a repeated paragraph with some emoji
      std::u16string para = U("Lorem ipsum dolor sit amet, 😀 consectetur adipiscing elit. ");
      while (s.size() < n) s += para + random_code_point();
      if (is_high(s[n - 1])) ++n;
      s.resize(n);
      return s;
    }
    for (size_t i = 0; i < n; ++i) s += random_code_point();
    return s;
  }

  std::string random_json(int depth = 0) {
    nlohmann::json j;
    switch (pick(0, depth > 2 ? 4 : 6)) {
      case 0: j = nullptr; break;
      case 1: j = chance(0.5); break;
      case 2: j = static_cast<int64_t>(pick(0, 2000000)) - 1000000; break;
      case 3: j = static_cast<double>(pick(0, 100000)) / 64.0; break;
      case 4: {
        std::u16string str = random_text();
        size_t cut = std::min<size_t>(str.size(), 40);
        if (cut > 0 && is_high(str[cut - 1])) --cut;  // never cut a surrogate pair
        j = u8(str.substr(0, cut));
        break;
      }
      case 5: {
        j = nlohmann::json::array();
        for (size_t i = pick(0, 4); i > 0; --i) j.push_back(nlohmann::json::parse(random_json(depth + 1)));
        break;
      }
      default: {
        j = nlohmann::json::object();
        for (size_t i = pick(0, 4); i > 0; --i)
          j["k" + std::to_string(pick(0, 9))] = nlohmann::json::parse(random_json(depth + 1));
      }
    }
    return j.dump();
  }

  void one_op(Replica& r) {
    if (chance(0.2)) return list_op(r);
    Doc& d = *r.doc;
    const int roll = pick(0, 99);
    if (roll < 40) {  // text insert, sometimes aimed inside a surrogate pair
      const std::u16string before = d.text_content(r.text);
      size_t pos = pick(0, before.size());
      if (chance(0.2)) {
        for (size_t p = 1; p < before.size(); ++p)
          if (inside_pair(before, p) && chance(0.3)) {
            pos = p;
            break;
          }
      }
      const std::u16string s = random_text();
      Status st = d.text_insert(r.text, static_cast<uint32_t>(pos), s);
      INFO("text_insert(" << pos << ", " << s.size() << " units) on length " << before.size());
      if (inside_pair(before, pos)) {
        CHECK_FALSE(st.ok);
        CHECK(!st.message.empty());
        CHECK(d.text_content(r.text) == before);
        ++rejected_inserts_;
      } else {
        INFO(st.message);
        REQUIRE(st.ok);
        std::u16string expect = before;
        expect.insert(pos, s);
        REQUIRE(d.text_content(r.text) == expect);
      }
    } else if (roll < 65) {  // text delete: exactly the range, or refused past the end / inside a pair
      const std::u16string before = d.text_content(r.text);
      const size_t pos = pick(0, before.size());
      const size_t len = chance(0.05) ? pick(100, 3000) : pick(1, 12);
      Status st = d.text_delete(r.text, static_cast<uint32_t>(pos), static_cast<uint32_t>(len));
      INFO("text_delete(" << pos << ", " << len << ") on length " << before.size() << ": " << st.message);
      const bool valid = pos + len <= before.size() && !inside_pair(before, pos) && !inside_pair(before, pos + len);
      REQUIRE(st.ok == valid);
      if (!valid) CHECK(st.code == Status::kRange);
      std::u16string expect = before;
      if (valid) expect.erase(pos, len);
      REQUIRE(d.text_content(r.text) == expect);
      REQUIRE(d.text_length(r.text) == expect.size());
    } else if (roll < 77) {
      static const char* const keys[] = {"a", "b", "c", "title", "ключ", "😀"};
      const std::string key = keys[pick(0, 5)];
      const std::string v = random_json();
      Status st = d.map_set(r.map, key, v);
      INFO("map_set(" << key << ", " << v << "): " << st.message);
      REQUIRE(st.ok);
      auto got = d.map_get(r.map, key);
      REQUIRE(got.has_value());
      CHECK(nlohmann::json::parse(*got) == nlohmann::json::parse(v));
    } else if (roll < 82) {
      static const char* const keys[] = {"a", "b", "c", "title", "ключ", "😀", "never-set"};
      const std::string key = keys[pick(0, 6)];
      Status st = d.map_delete(r.map, key);
      INFO("map_delete(" << key << "): " << st.message);
      REQUIRE(st.ok);
      CHECK_FALSE(d.map_has(r.map, key));
    } else if (roll < 90) {
      const std::string v = random_json();
      Status st = d.register_set(r.reg, v);
      INFO("register_set(" << v << "): " << st.message);
      REQUIRE(st.ok);
    } else {
      const int64_t delta = static_cast<int64_t>(pick(0, 2000)) - 1000;
      const int64_t before = d.counter_value(r.ctr);
      REQUIRE(d.counter_add(r.ctr, delta).ok);
      CHECK(d.counter_value(r.ctr) == before + delta);
      counter_sum_ += delta;
    }
  }

  void local_txn(size_t who) {
    Replica& r = reps_[who];
    r.doc->begin();
    for (size_t k = pick(1, 4); k > 0; --k) {
      one_op(r);
      // Sometimes a remote update arrives while the local transaction is open.
      if (chance(0.1)) {
        for (size_t i = 0; i < net_.size(); ++i)
          if (net_[i].dst == who) {
            Status st = apply_upd(*r.doc, log_[net_[i].update]);
            INFO("update " << net_[i].update << " inside a transaction: " << st.message);
            REQUIRE(st.ok);
            net_.erase(net_.begin() + static_cast<long>(i));
            break;
          }
      }
    }
    TransactionResult res = r.doc->commit();
    check_events(who, res);
    if (res.update.empty()) {
      CHECK_FALSE(res.changed);  // e.g. only rejected inserts or empty deletes
      return;
    }
    const size_t idx = log_.size();
    log_.push_back(std::move(res.update));
    for (size_t dst = 0; dst < reps_.size(); ++dst) {
      if (dst == who || chance(0.1)) continue;  // 10% lost
      net_.push_back({now_ + pick(0, 30), dst, idx});
      if (chance(0.1)) net_.push_back({now_ + pick(0, 60), dst, idx});  // duplicated
    }
  }

  void deliver_some() {
    // Messages that are due, in random order; only some of them this tick.
    std::shuffle(net_.begin(), net_.end(), rng_);
    std::vector<Msg> keep;
    for (const Msg& m : net_) {
      if (m.at <= now_ && chance(0.7)) deliver(m.dst, m.update);
      else keep.push_back(m);
    }
    net_.swap(keep);
  }

  void full_state_sync() {
    const size_t src = pick(0, reps_.size() - 1), dst = pick(0, reps_.size() - 1);
    if (src == dst) return;
    Status st = apply_upd(*reps_[dst].doc, reps_[src].doc->encode_state());
    INFO("full state " << src << " -> " << dst << ": " << st.message);
    REQUIRE(st.ok);
    check_events(dst, reps_[dst].doc->take_last_result());
  }

  void delta_sync() {
    const size_t src = pick(0, reps_.size() - 1), dst = pick(0, reps_.size() - 1);
    if (src == dst) return;
    Status st = apply_upd(*reps_[dst].doc, since(*reps_[src].doc, reps_[dst].doc->state_vector()));
    INFO("delta " << src << " -> " << dst << ": " << st.message);
    REQUIRE(st.ok);
    check_events(dst, reps_[dst].doc->take_last_result());
    // After a delta sync dst has everything src had: src lacks nothing dst can't also give.
    const Bytes before = reps_[dst].doc->encode_state();
    REQUIRE(apply_upd(*reps_[dst].doc, since(*reps_[src].doc, reps_[dst].doc->state_vector())).ok);
    CHECK(reps_[dst].doc->encode_state() == before);
  }

  std::mt19937_64 rng_;
  std::vector<Replica> reps_;
  std::vector<Bytes> log_;
  std::vector<Msg> net_;
  uint64_t now_ = 0;
  int64_t counter_sum_ = 0;
  size_t rejected_inserts_ = 0;
};

}  // namespace

TEST_CASE("random concurrent editing converges under reordering, duplication and loss", "[convergence]") {
  const uint64_t seeds[] = {1, 2, 3, 42, 0xC0FFEE, 0xDEADBEEF, 20261122, 7777777};
  for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); ++i) {
    const uint64_t seed = seeds[i];
    const size_t replicas = 3 + i % 6;
    CAPTURE(seed, replicas);
    auto t0 = std::chrono::steady_clock::now();
    Sim sim(seed, replicas);
    sim.run(350);
    sim.finish_and_check();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("convergence seed=%llu replicas=%zu updates=%zu rejected-inside-pair=%zu: %.1f ms\n",
                static_cast<unsigned long long>(seed), replicas, sim.updates(), sim.rejected_inserts(), ms);
  }
}

TEST_CASE("two replicas typing heavily with rare syncs converge", "[convergence]") {
  // Long divergent histories: each side types hundreds of transactions between syncs.
  for (uint64_t seed : {11u, 12u}) {
    CAPTURE(seed);
    std::mt19937_64 rng(seed);
    Doc a(1 + seed), b(1000 + seed);
    RootHandle ta = text_of(a), tb = text_of(b);
    for (int round = 0; round < 5; ++round) {
      for (Doc* d : {&a, &b}) {
        RootHandle t = d == &a ? ta : tb;
        for (int k = 0; k < 300; ++k) {
          const uint32_t len = d->text_length(t);
          if (len > 0 && rng() % 4 == 0) {
            uint32_t pos = static_cast<uint32_t>(rng() % len);
            const uint32_t n = std::min(1 + static_cast<uint32_t>(rng() % 3), len - pos);
            REQUIRE(d->text_delete(t, pos, n).ok);
          } else {
            uint32_t pos = len == 0 ? 0 : static_cast<uint32_t>(rng() % (len + 1));
            REQUIRE(d->text_insert(t, pos, std::u16string(1, static_cast<char16_t>(u'a' + rng() % 26))).ok);
          }
        }
      }
      Status s1 = apply_upd(a, since(b, a.state_vector()));
      Status s2 = apply_upd(b, since(a, b.state_vector()));
      REQUIRE(s1.ok);
      REQUIRE(s2.ok);
      REQUIRE(a.text_content(ta) == b.text_content(tb));
    }
  }
}

TEST_CASE("soak: many more seeds (hidden; ROOMSYNC_SOAK_SEEDS=n, default 200)", "[.][soak][convergence]") {
  const char* env = std::getenv("ROOMSYNC_SOAK_SEEDS");
  const uint64_t n = env ? std::strtoull(env, nullptr, 10) : 200;
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t seed = 1000; seed < 1000 + n; ++seed) {
    const size_t replicas = 3 + seed % 6;
    CAPTURE(seed, replicas);
    Sim sim(seed, replicas);
    sim.run(150 + static_cast<int>(seed % 400));
    sim.finish_and_check();
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("soak: %llu seeds in %.0f ms\n", static_cast<unsigned long long>(n), ms);
}
