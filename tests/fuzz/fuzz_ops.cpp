// libFuzzer target for the CRDT logic itself (not the decoder): the input is a script of local
// edits on 2-4 replicas and of update deliveries between them in any order, with duplicates.
// Invariants: every local edit behaves as doc.h says (exactly as asked, or refused: ranges,
// surrogate pairs);
// every update a replica produced applies everywhere; text events describe each change
// exactly; after everything is delivered all replicas are identical with nothing pending, and
// their text is valid UTF-16. List roots get the same treatment (inserts of JSON values and
// deletes, strict ranges, list events describing each change).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "crdt/doc.h"

#include "fuzz_input.h"

using namespace roomsync;
using Bytes = std::vector<uint8_t>;

namespace {

using fuzz::Input;
[[noreturn]] void fail(const char* what, const std::string& detail = "") { fuzz::fail("ops", what, detail); }

bool is_high(char16_t c) { return c >= 0xD800 && c <= 0xDBFF; }
bool is_low(char16_t c) { return c >= 0xDC00 && c <= 0xDFFF; }
bool inside_pair(const std::u16string& s, size_t p) { return p > 0 && p < s.size() && is_high(s[p - 1]) && is_low(s[p]); }
bool valid_utf16(const std::u16string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (is_high(s[i])) {
      if (i + 1 >= s.size() || !is_low(s[i + 1])) return false;
      ++i;
    } else if (is_low(s[i])) {
      return false;
    }
  }
  return true;
}

bool apply_delta(std::u16string& s, const std::vector<TextDeltaOp>& delta) {
  size_t pos = 0;
  for (const auto& op : delta) {
    if (op.kind == TextDeltaOp::Retain) {
      if (pos + op.length > s.size()) return false;
      pos += op.length;
    } else if (op.kind == TextDeltaOp::Insert) {
      if (op.length != op.text.size()) return false;
      s.insert(pos, op.text);
      pos += op.text.size();
    } else {
      if (pos + op.length > s.size()) return false;
      s.erase(pos, op.length);
    }
  }
  return true;
}

struct Replica {
  std::unique_ptr<Doc> doc;
  RootHandle text = 0, map = 0, ctr = 0, list = 0;
  std::u16string seen;  // text as told by events
  std::vector<std::string> seen_list;  // list as told by events
  bool open = false;    // an explicit transaction is open
};

std::string view(const Replica& r) {
  std::string s = utf16_to_utf8(r.doc->text_content(r.text)) + "\n";
  for (const auto& k : r.doc->map_keys(r.map)) s += k + "=" + r.doc->map_get(r.map, k).value_or("?") + ";";
  s += "\n" + std::to_string(r.doc->counter_value(r.ctr));
  s += "\n" + r.doc->list_content(r.list);
  return s;
}

const char16_t* const kTexts[] = {u"a", u"b", u"xy", u"\U0001F600", u"q\U0001F44D\U0001F3FDr", u"hello world ",
                                  u"\u00e9", u"\n", u"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"};

const char* const kValues[] = {"1", "\"a\"", "null", "[1,[2]]", "{\"k\":\"\\ud83d\"}", "-0.5e3", "true", "\"\U0001F600\""};

bool apply_list_delta(std::vector<std::string>& v, const std::vector<ListDeltaOp>& delta) {
  size_t pos = 0;
  for (const auto& op : delta) {
    if (op.kind == TextDeltaOp::Insert) {
      if (op.length != op.values.size()) return false;
      v.insert(v.begin() + static_cast<long>(pos), op.values.begin(), op.values.end());
      pos += op.length;
      continue;
    }
    if (pos + op.length > v.size()) return false;
    if (op.kind == TextDeltaOp::Retain) pos += op.length;
    else v.erase(v.begin() + static_cast<long>(pos), v.begin() + static_cast<long>(pos + op.length));
  }
  return true;
}

void after_change(Replica& r, const TransactionResult& res, const char* what) {
  for (const auto& e : res.list_events)
    if (e.root == r.list && !apply_list_delta(r.seen_list, e.delta)) fail("list delta does not fit the list after", what);
  if (r.seen_list != r.doc->list_values(r.list)) fail("list events do not describe the change after", what);
  for (const auto& e : res.text_events)
    if (e.root == r.text && !apply_delta(r.seen, e.delta)) fail("text delta does not fit the text after", what);
  if (r.seen != r.doc->text_content(r.text)) fail("text events do not describe the change after", what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const size_t n = 2 + in.byte() % 3;
  std::vector<Replica> reps(n);
  for (size_t i = 0; i < n; ++i) {
    Replica& r = reps[i];
    r.doc = std::make_unique<Doc>(100 + i * 37);
    r.doc->set_capture_updates(true);
    if (!r.doc->root(RootType::Text, "t", &r.text) || !r.doc->root(RootType::Map, "m", &r.map) ||
        !r.doc->root(RootType::Counter, "c", &r.ctr) || !r.doc->root(RootType::List, "l", &r.list))
      fail("root creation");
    r.doc->set_observed(r.text, true);
    r.doc->set_observed(r.list, true);
  }
  std::vector<Bytes> log;
  int64_t counter_total = 0;
  // After a local edit or a delivery: outside an explicit transaction it committed on its own,
  // so its result is checked and its update kept; inside one, commit() does that later.
  auto finish = [&](Replica& r, const char* what, bool must_capture) {
    if (r.open) return;
    TransactionResult res = r.doc->take_last_result();
    after_change(r, res, what);
    if (!res.update.empty()) log.push_back(std::move(res.update));
    else if (must_capture) fail("a local edit captured no update:", what);
  };
  int steps = 0;
  while (in.more() && steps++ < 400) {
    const uint8_t cmd = in.byte() % 11;
    Replica& r = reps[in.byte() % n];
    Doc& d = *r.doc;
    if (cmd <= 2) {
      const std::u16string before = d.text_content(r.text);
      const uint32_t pos = in.u16() % (before.size() + 2);  // sometimes one past the end
      const std::u16string s = kTexts[in.byte() % (sizeof kTexts / sizeof kTexts[0])];
      Status st = d.text_insert(r.text, pos, s);
      const bool valid = pos <= before.size() && !inside_pair(before, pos);
      if (st.ok != valid) fail("text_insert accepted/rejected wrongly", std::to_string(pos) + " of " + std::to_string(before.size()) + ": " + st.message);
      if (!st.ok && st.code != Status::kRange) fail("a refused text_insert is not a range error", st.message);
      std::u16string expect = before;
      if (valid) expect.insert(pos, s);
      else if (st.message.empty()) fail("rejected text_insert without a message");
      if (d.text_content(r.text) != expect) fail("text_insert result differs from the model");
      if (st.ok) finish(r, "local insert", !s.empty());
    } else if (cmd == 3) {
      const std::u16string before = d.text_content(r.text);
      const uint32_t pos = in.u16() % (before.size() + 2);  // sometimes past the end
      const uint32_t len = in.byte() % 24;
      Status st = d.text_delete(r.text, pos, len);
      // Exactly the range asked for, or an error and no change.
      const bool valid = size_t{pos} + len <= before.size() && !inside_pair(before, pos) &&
                         !inside_pair(before, size_t{pos} + len);
      if (st.ok != valid) fail("text_delete accepted/rejected wrongly", std::to_string(pos) + "+" + std::to_string(len) + " of " + std::to_string(before.size()) + ": " + st.message);
      if (!st.ok && st.code != Status::kRange) fail("a refused text_delete is not a range error", st.message);
      std::u16string expect = before;
      if (valid) expect.erase(pos, len);
      if (d.text_content(r.text) != expect) fail("text_delete result differs from the model");
      if (st.ok) finish(r, "local delete", len > 0);
    } else if (cmd == 4) {
      const std::string key(1, static_cast<char>('a' + in.byte() % 4));
      const uint8_t v = in.byte();
      Status st = v % 5 == 0 ? d.map_delete(r.map, key) : d.map_set(r.map, key, std::to_string(v));
      if (!st.ok) fail("map op failed", st.message);
      finish(r, "map op", false);
    } else if (cmd == 5) {
      const int64_t delta = static_cast<int8_t>(in.byte());
      if (!d.counter_add(r.ctr, delta).ok) fail("counter_add failed");
      counter_total += delta;
      finish(r, "counter add", delta != 0);
    } else if (cmd == 6) {
      if (log.empty()) continue;
      const Bytes& u = log[in.u16() % log.size()];
      Status st = d.apply_update(u.data(), u.size());
      if (!st.ok) fail("a replica's own update was rejected", st.message);
      finish(r, "delivering an update", false);
    } else if (cmd == 7) {
      Replica& src = reps[in.byte() % n];
      const Bytes sv = d.state_vector();
      Bytes delta;
      Status st = in.byte() % 4 == 0 ? Status::success() : src.doc->encode_state_since(sv.data(), sv.size(), &delta);
      if (!st.ok) fail("encode_state_since rejected a real state vector", st.message);
      if (delta.empty()) delta = src.doc->encode_state();
      st = d.apply_update(delta.data(), delta.size());
      if (!st.ok) fail("a sync update was rejected", st.message);
      finish(r, "a sync", false);
    } else if (cmd == 9) {  // list insert of 1-3 values, sometimes past the end
      std::vector<std::string> before = d.list_values(r.list);
      const uint32_t pos = in.u16() % (before.size() + 2);
      std::vector<std::string_view> values(1 + in.byte() % 3);
      for (auto& v : values) v = kValues[in.byte() % (sizeof kValues / sizeof kValues[0])];
      Status st = d.list_insert(r.list, pos, values);
      const bool valid = pos <= before.size();
      if (st.ok != valid || (!st.ok && st.code != Status::kRange)) fail("list_insert accepted/rejected wrongly", st.message);
      if (valid) before.insert(before.begin() + pos, values.begin(), values.end());
      if (d.list_values(r.list) != before) fail("list_insert result differs from the model");
      if (st.ok) finish(r, "list insert", true);
    } else if (cmd == 10) {  // list delete, sometimes past the end
      std::vector<std::string> before = d.list_values(r.list);
      const uint32_t pos = in.u16() % (before.size() + 2);
      const uint32_t len = in.byte() % 6;
      Status st = d.list_delete(r.list, pos, len);
      const bool valid = size_t{pos} + len <= before.size();
      if (st.ok != valid || (!st.ok && st.code != Status::kRange)) fail("list_delete accepted/rejected wrongly", st.message);
      if (valid) before.erase(before.begin() + pos, before.begin() + pos + len);
      if (d.list_values(r.list) != before) fail("list_delete result differs from the model");
      if (st.ok) finish(r, "list delete", len > 0);
    } else if (cmd == 8) {  // open or commit an explicit transaction
      if (!r.open) {
        d.begin();
        r.open = true;
      } else {
        r.open = false;
        TransactionResult res = d.commit();
        after_change(r, res, "commit");
        if (!res.update.empty()) log.push_back(std::move(res.update));
      }
    }
  }
  for (Replica& r : reps)
    if (r.open) {
      r.open = false;
      TransactionResult res = r.doc->commit();
      after_change(r, res, "final commit");
      if (!res.update.empty()) log.push_back(std::move(res.update));
    }
  // Deliver everything everywhere.
  for (Replica& r : reps) {
    for (const Bytes& u : log) {
      Status st = r.doc->apply_update(u.data(), u.size());
      if (!st.ok) fail("final delivery rejected", st.message);
      after_change(r, r.doc->take_last_result(), "final delivery");
    }
    if (r.doc->pending_ops() != 0) fail("ops still pending after everything was delivered");
    if (!valid_utf16(r.doc->text_content(r.text))) fail("text is not valid UTF-16 (a surrogate pair was split)");
  }
  const std::string v0 = view(reps[0]);
  for (size_t i = 1; i < n; ++i)
    if (view(reps[i]) != v0) fail("replicas diverged", "\n" + v0 + "\n---\n" + view(reps[i]));
  if (reps[0].doc->counter_value(reps[0].ctr) != counter_total) fail("counter total is wrong");
  Doc fresh(9);
  const Bytes state = reps[0].doc->encode_state();
  if (!fresh.apply_update(state.data(), state.size()).ok) fail("final state does not load");
  Replica fr;
  fr.doc = std::make_unique<Doc>(std::move(fresh));
  fr.doc->root(RootType::Text, "t", &fr.text);
  fr.doc->root(RootType::Map, "m", &fr.map);
  fr.doc->root(RootType::Counter, "c", &fr.ctr);
  fr.doc->root(RootType::List, "l", &fr.list);
  if (view(fr) != v0) fail("final state loads to different content");
  return 0;
}
