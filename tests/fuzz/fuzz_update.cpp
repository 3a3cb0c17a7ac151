// libFuzzer target for the update decoder and the state-vector decoder.
//
// Each input is (1) applied as an update to a document that already has content: on failure
// the message must be non-empty and the document exactly unchanged; on success its state must
// round-trip through encode_state into a fresh document, and applying the input again must
// change nothing (idempotence); (2) applied to an empty document, same rules, and the same as
// the general two-pass load gives; (3) used as a state vector for encode_state_since, whose
// output, if any, must be a valid update.
//
// Seed corpus: run the binary with ROOMSYNC_FUZZ_WRITE_SEEDS=<dir> to write valid updates and
// state vectors into <dir> and exit (scripts/fuzz.sh does this).
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "codec/update_codec.h"
#include "crdt/doc.h"
#include "crdt/doc_impl.h"  // DocImpl::one_pass_load

using namespace roomsync;
using Bytes = std::vector<uint8_t>;

namespace {

// Checks named in $ROOMSYNC_FUZZ_SKIP (comma-separated) are not enforced, so a run can go on
// looking for other bugs while a known one is open: reapply, local-edit, roundtrip-pending
// (a state that fails to load while the document holds pending ops).
bool skipped(const char* check) {
  static const std::string skip = [] {
    const char* e = std::getenv("ROOMSYNC_FUZZ_SKIP");
    return "," + std::string(e ? e : "") + ",";
  }();
  return skip.find("," + std::string(check) + ",") != std::string::npos;
}

[[noreturn]] void fail(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "\nroomsync fuzz invariant violated: %s %s\n", what, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// Roots with no content are left out: a root declared by an update whose ops are still pending
// exists in the receiving document but not in its encode_state (pending ops are not encoded).
bool empty_root(const Doc& d, const Doc::RootInfo& r) {
  switch (r.type) {
    case RootType::Text: return d.text_length(r.handle) == 0;
    case RootType::Map: return d.map_keys(r.handle).empty();
    case RootType::Register: return !d.register_get(r.handle).has_value();
    case RootType::Counter: return d.counter_value(r.handle) == 0;
    case RootType::List: return d.list_length(r.handle) == 0;
  }
  return false;
}

std::string view(const Doc& d) {
  std::string s;
  for (const auto& r : d.roots()) {
    if (empty_root(d, r)) continue;
    s += std::to_string(static_cast<int>(r.type)) + ":" + r.name + "=";
    switch (r.type) {
      case RootType::Text: s += utf16_to_utf8(d.text_content(r.handle)); break;
      case RootType::Map:
        for (const auto& k : d.map_keys(r.handle)) {
          auto v = d.map_get(r.handle, k);
          s += k + "->" + (v ? *v : "<none>") + ";";
        }
        break;
      case RootType::Register: {
        auto v = d.register_get(r.handle);
        s += v ? *v : "<unset>";
        break;
      }
      case RootType::Counter: s += std::to_string(d.counter_value(r.handle)); break;
      case RootType::List: s += d.list_content(r.handle); break;
    }
    s += "\n";
  }
  return s;
}

// Sorted by name so the order roots were created in does not matter.
std::string sorted_view(const Doc& d) {
  std::string v = view(d);
  std::vector<std::string> lines;
  size_t a = 0;
  for (size_t b; (b = v.find('\n', a)) != std::string::npos; a = b + 1) lines.push_back(v.substr(a, b - a));
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (auto& l : lines) out += l + "\n";
  return out;
}

void ok_or_die(const Status& st, const char* what) {
  if (!st.ok) fail(what, st.message);
}

struct Seeds {
  Bytes base;                // full state of a document with every root type
  std::vector<Bytes> extra;  // more valid updates and state vectors for the corpus
};

Seeds make_seeds() {
  Seeds s;
  Doc a(0x1234), b(0x5678);
  a.set_capture_updates(true);
  b.set_capture_updates(true);
  RootHandle t = 0, m = 0, c = 0, r = 0, tb = 0;
  ok_or_die(a.root(RootType::Text, "text", &t), "root");
  ok_or_die(a.root(RootType::Map, "m", &m), "root");
  ok_or_die(a.root(RootType::Counter, "c", &c), "root");
  ok_or_die(a.text_insert(t, 0, utf8_to_utf16("hello 😀 wörld")), "insert");
  s.extra.push_back(a.take_last_result().update);
  ok_or_die(a.text_delete(t, 1, 2), "delete");
  s.extra.push_back(a.take_last_result().update);
  ok_or_die(a.map_set(m, "k", "{\"x\":[1,\"y\",null]}"), "map_set");
  s.extra.push_back(a.take_last_result().update);
  ok_or_die(a.counter_add(c, -5), "counter");
  s.extra.push_back(a.take_last_result().update);
  RootHandle l = 0, lb = 0;  // a list: values, a delete inside a run, appends (one run)
  ok_or_die(a.root(RootType::List, "l", &l), "root");
  ok_or_die(a.list_insert(l, 0, {"1", "\"two\"", "[3,{\"x\":null}]", "\"\\ud800😀\""}), "list_insert");
  s.extra.push_back(a.take_last_result().update);
  ok_or_die(a.list_delete(l, 1, 2), "list_delete");
  s.extra.push_back(a.take_last_result().update);
  for (int i = 0; i < 5; ++i) ok_or_die(a.list_insert(l, a.list_length(l), {std::to_string(i)}), "list push");
  s.extra.push_back(a.take_last_result().update);
  const Bytes sv_a = a.state_vector();
  ok_or_die(b.apply_update(s.extra[0].data(), s.extra[0].size()), "apply");
  ok_or_die(b.root(RootType::Text, "text", &tb), "root");
  ok_or_die(b.root(RootType::Register, "r", &r), "root");
  ok_or_die(b.root(RootType::List, "l", &lb), "root");
  b.begin();
  ok_or_die(b.list_insert(lb, 0, {"{}", "false"}), "list_insert");
  ok_or_die(b.text_insert(tb, 2, utf8_to_utf16("concurrent")), "insert");
  ok_or_die(b.register_set(r, "\"value\""), "register");
  ok_or_die(b.text_delete(tb, 0, 1), "delete");
  s.extra.push_back(b.commit().update);
  const Bytes sb = b.encode_state();
  ok_or_die(a.apply_update(sb.data(), sb.size()), "apply");
  s.base = a.encode_state();
  s.extra.push_back(sv_a);
  s.extra.push_back(a.state_vector());
  s.extra.push_back(Doc(1).state_vector());
  Bytes delta;
  ok_or_die(a.encode_state_since(sv_a.data(), sv_a.size(), &delta), "since");
  s.extra.push_back(delta);
  // A long typed run and a paste (run-length encoded items).
  for (int i = 0; i < 200; ++i) ok_or_die(a.text_insert(t, a.text_length(t), std::u16string(1, u'a' + i % 26)), "typing");
  ok_or_die(a.text_insert(t, 5, std::u16string(300, u'P')), "paste");
  ok_or_die(a.text_delete(t, 20, 100), "delete");
  ok_or_die(a.encode_state_since(sv_a.data(), sv_a.size(), &delta), "since");
  s.extra.push_back(delta);
  s.extra.push_back(a.encode_state());
  // Compact one-op updates: every form, a length, ids of another client inline,
  // a long root name, a list delete.
  ok_or_die(a.text_insert(t, 3, u"k"), "insert");  // left and right origins of our own
  s.extra.push_back(a.take_last_result().update);
  ok_or_die(a.text_insert(t, 4, u"\xe9"), "typing on");
  s.extra.push_back(a.take_last_result().update);
  ok_or_die(a.text_delete(t, 4, 1), "delete");
  s.extra.push_back(a.take_last_result().update);
  ok_or_die(a.text_delete(t, 3, 1), "backspace");  // merges into a backward run
  s.extra.push_back(a.take_last_result().update);
  ok_or_die(a.text_delete(t, 0, 3), "delete run");
  s.extra.push_back(a.take_last_result().update);
  const Bytes sa = a.encode_state();
  ok_or_die(b.apply_update(sa.data(), sa.size()), "apply");
  ok_or_die(b.text_insert(tb, b.text_length(tb), u"\xd83d\xde00"), "insert after another client's");
  s.extra.push_back(b.take_last_result().update);
  ok_or_die(b.text_delete(tb, b.text_length(tb) - 4, 1), "delete another client's");
  s.extra.push_back(b.take_last_result().update);
  ok_or_die(b.list_delete(lb, 0, 1), "list delete");
  s.extra.push_back(b.take_last_result().update);
  RootHandle long_name = 0;
  ok_or_die(b.root(RootType::Text, "a root name of more than fifteen bytes", &long_name), "root");
  ok_or_die(b.text_insert(long_name, 0, u"x"), "insert");
  s.extra.push_back(b.take_last_result().update);
  // A state of two writers over 4 KB: what loads into an empty document in one pass.
  Doc w1(0x2222), w2(0x3333);
  RootHandle t1 = 0, t2 = 0;
  ok_or_die(w1.root(RootType::Text, "text", &t1), "root");
  ok_or_die(w2.root(RootType::Text, "text", &t2), "root");
  for (uint32_t i = 0; i < 600; ++i) {
    Doc& w = i % 2 ? w1 : w2;
    const RootHandle wt = i % 2 ? t1 : t2;
    ok_or_die(w.text_insert(wt, i * 7919 % (w.text_length(wt) + 1), u"ab"), "insert");
    if (i % 7 == 0 && w.text_length(wt) > 4) ok_or_die(w.text_delete(wt, i % 3, 2), "delete");
    if (i % 50 == 49) {
      const Bytes x = w1.encode_state(), y = w2.encode_state();
      ok_or_die(w1.apply_update(y.data(), y.size()), "merge");
      ok_or_die(w2.apply_update(x.data(), x.size()), "merge");
    }
  }
  s.extra.push_back(w1.encode_state());
  return s;
}

const Seeds& seeds() {
  static const Seeds s = make_seeds();
  return s;
}

void write_seeds(const char* dir) {
  ::mkdir(dir, 0755);
  std::vector<Bytes> all = seeds().extra;
  all.push_back(seeds().base);
  for (size_t i = 0; i < all.size(); ++i) {
    std::string path = std::string(dir) + "/seed_" + std::to_string(i);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) fail("cannot write seed", path);
    std::fwrite(all[i].data(), 1, all[i].size(), f);
    std::fclose(f);
  }
  std::fprintf(stderr, "wrote %zu seeds to %s\n", all.size(), dir);
}

// A client id that `d` has never seen, near `want`: a document refuses ops of its own client
// id that it did not make (client id collision), and the input may carry any id.
ClientId fresh_id(const Doc& d, ClientId want) {
  while (d.knows_client(want)) ++want;
  return want;
}

void check_apply(Doc& d, const uint8_t* data, size_t size, const char* which) {
  const Bytes before = d.encode_state();
  Status st = d.apply_update(data, size);
  if (!st.ok) {
    if (st.message.empty()) fail("failed apply_update has an empty message on", which);
    if ((st.code == Status::kClientIdCollision) != (st.message.rfind("client id collision", 0) == 0))
      fail("a client id collision is not reported as one on", std::string(which) + ": " + st.message);
    if (d.encode_state() != before) fail("failed apply_update changed the document:", std::string(which) + ": " + st.message);
    return;
  }
  const std::string v = sorted_view(d);
  const Bytes after = d.encode_state();
  Doc f(fresh_id(d, 0xf00d));
  Status st2 = f.apply_update(after.data(), after.size());
  const bool excused = d.pending_ops() > 0 && skipped("roundtrip-pending");
  if (!st2.ok && !excused)
    fail("encode_state after a successful apply does not load:", std::string(which) + ": " + st2.message);
  if (st2.ok && sorted_view(f) != v) fail("encode_state round trip changed the content on", which);
  if (!st2.ok) return;
  if (!skipped("reapply")) {
    const size_t pending = d.pending_ops();
    Status st3 = d.apply_update(data, size);
    if (!st3.ok) fail("applying an accepted update a second time failed:", std::string(which) + ": " + st3.message);
    if (d.encode_state() != after) fail("applying an accepted update twice is not idempotent on", which);
    if (d.pending_ops() != pending) fail("applying an accepted update twice changed pending_ops() on", which);
  }
  if (!skipped("local-edit")) {
    // Whatever was accepted, local edits on every root still give a state that peers accept.
    d.set_capture_updates(true);
    d.begin();
    for (const auto& r : d.roots()) {
      switch (r.type) {
        case RootType::Text: (void)d.text_insert(r.handle, 0, u"L"); break;
        case RootType::Map: (void)d.map_set(r.handle, "fuzz", "1"); break;
        case RootType::Register: (void)d.register_set(r.handle, "2"); break;
        case RootType::Counter: (void)d.counter_add(r.handle, 3); break;
        case RootType::List: (void)d.list_insert(r.handle, 0, {"4"}); break;
      }
    }
    TransactionResult res = d.commit();
    const Bytes edited = d.encode_state();
    Doc g(fresh_id(d, 0xbeef));
    Status st4 = g.apply_update(edited.data(), edited.size());
    if (!st4.ok) fail("after local edits the state does not load:", std::string(which) + ": " + st4.message);
    if (sorted_view(g) != sorted_view(d)) fail("after local edits the state round trip changed the content on", which);
    if (!res.update.empty()) {
      Doc h(fresh_id(d, 0xcafe));
      Status st5 = h.apply_update(after.data(), after.size());
      if (st5.ok) st5 = h.apply_update(res.update.data(), res.update.size());
      if (!st5.ok) fail("a local transaction's update is rejected by a peer:", std::string(which) + ": " + st5.message);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("ROOMSYNC_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  (void)seeds();
  return 0;
}

// Merge speed: a compact update is decoded directly; its version-1 rewrite is the
// reference. Both must accept the same bytes and give the same tables and op.
namespace {
std::string decoded(const uint8_t* data, size_t size) {
  DecodedUpdate u;
  std::string ops;
  auto keep = [&](RemoteOp& op) {
    ops += std::to_string(op.client) + "@" + std::to_string(op.clock) + "+" + std::to_string(op.len) + " k" +
           std::to_string(static_cast<int>(op.kind)) + (op.backward ? "b" : "") + (op.has_content ? "c" : "") + " r" +
           std::to_string(op.root) + " L" + std::to_string(op.left.client) + ":" + std::to_string(op.left.clock) +
           " R" + std::to_string(op.right.client) + ":" + std::to_string(op.right.clock) + " " +
           utf16_to_utf8(op.text) + ";";
    return Status{};
  };
  if (!decode_update(data, size, &u, keep).ok) return "refused";
  for (ClientId c : u.clients) ops += " c" + std::to_string(c);
  for (const auto& r : u.roots) ops += " t" + std::to_string(static_cast<int>(r.type)) + ":" + r.name;
  return ops;
}
void check_compact_decoder(const uint8_t* data, size_t size) {
  Bytes v1;
  const std::string direct = decoded(data, size);
  const std::string ref = compact_update_as_v1(data, size, &v1).ok ? decoded(v1.data(), v1.size()) : "refused";
  if (direct != ref) fail("the compact decoder disagrees with the version-1 form:", direct + " vs " + ref);
}
}  // namespace

// Load speed: a big update into an empty document is read once (DocImpl::load_into_empty);
// the general two-pass load is its reference: the same verdict and message, the same document
// and the same held ops.
void check_one_pass_load(const uint8_t* data, size_t size) {
  Doc one(0x8888), two(0x8888);
  const Status a = one.apply_update(data, size);
  DocImpl::one_pass_load = false;
  const Status b = two.apply_update(data, size);
  DocImpl::one_pass_load = true;
  if (a.ok != b.ok || a.message != b.message) fail("the one-pass load's verdict differs:", a.message + " vs " + b.message);
  if (one.encode_state() != two.encode_state() || view(one) != view(two) || one.pending_ops() != two.pending_ops())
    fail("the one-pass load gives another document than the general one");
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  check_one_pass_load(data, size);
  {
    Doc d(0x7777);
    const Bytes& base = seeds().base;
    ok_or_die(d.apply_update(base.data(), base.size()), "loading the base state");
    check_apply(d, data, size, "document with content");
  }
  {
    Doc e(0x8888);
    check_apply(e, data, size, "empty document");
  }
  {
    Doc d(0x9999);
    const Bytes& base = seeds().base;
    ok_or_die(d.apply_update(base.data(), base.size()), "loading the base state");
    const Bytes before = d.encode_state();
    Bytes out;
    Status st = d.encode_state_since(data, size, &out);
    if (!st.ok) {
      if (st.message.empty()) fail("failed encode_state_since has an empty message");
    } else {
      Doc g(fresh_id(d, 0xabcd));
      Status st2 = g.apply_update(out.data(), out.size());
      if (!st2.ok) fail("encode_state_since output does not apply:", st2.message);
    }
    if (d.encode_state() != before) fail("encode_state_since changed the document");
  }
  if (size > 0 && (data[0] & 0x80)) check_compact_decoder(data, size);
  return 0;
}
