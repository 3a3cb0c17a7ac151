// Regression tests for core bugs and design questions found by the other tests and the fuzzer;
// each case describes the failure it guards against.
#include <cstring>
#include <limits>

#include "crdt/ids.h"
#include "test_util.h"

using namespace roomsync;
using namespace roomsync_test;

namespace {

void str(Bytes& o, const std::string& s) {
  leb(o, s.size());
  o.insert(o.end(), s.begin(), s.end());
}

// A hand-made update (format v1, cpp/codec/update_codec.h): client 77 sets key "k" of map
// root "m" to 2 with the given lamport timestamp.
Bytes map_set_with_lamport(uint64_t lamport) {
  Bytes u = {'R', 1};
  leb(u, 1);   // clients
  leb(u, 77);
  leb(u, 1);   // roots
  u.push_back(static_cast<uint8_t>(RootType::Map));
  str(u, "m");
  leb(u, 1);   // sections
  leb(u, 0);   // client index
  leb(u, 0);   // start clock
  leb(u, 1);   // op count
  u.push_back(5);  // map-set, root index 0
  str(u, "k");
  str(u, "2");
  leb(u, lamport);
  return u;
}

}  // namespace

TEST_CASE("regression: a peer's lamport at the decoder's bound poisons the document", "[regression][map]") {
  // Was: the decoder accepted lamport <= 2^62, the next local map write got 2^62 + 1, which
  // every decoder then rejected, so the document's own state no longer loaded anywhere. Now
  // lamports are capped at kMaxLamport: a write at the bound ties and the client id decides.
  Doc strict(12);
  CHECK_FALSE(apply_upd(strict, map_set_with_lamport(kMaxLamport + 1)).ok);
  const Bytes u = map_set_with_lamport(kMaxLamport);
  Doc d(9);
  Status st = apply_upd(d, u);
  REQUIRE(st.ok);  // accepted (if a fix rejects it instead, this test has served its purpose)
  RootHandle m = root_of(d, RootType::Map, "m");
  d.set_capture_updates(true);
  REQUIRE(d.map_set(m, "k", "3").ok);
  const Bytes local = d.take_last_result().update;
  const Bytes state = d.encode_state();
  Doc peer(10);
  Status s1 = apply_upd(peer, state);
  INFO("loading the state: " << s1.message);
  CHECK(s1.ok);
  Doc peer2(11);
  REQUIRE(apply_upd(peer2, u).ok);
  Status s2 = apply_upd(peer2, local);
  INFO("the local write's update at a peer: " << s2.message);
  CHECK(s2.ok);
}

TEST_CASE("regression: an accepted update is rejected when delivered again (same client id, two histories)",
          "[regression][idempotence]") {
  // Two documents share client id 42 (e.g. two tabs restoring one saved id) and write
  // different ops at the same clocks. Peer P first gets a1's history, then a bundle holding
  // a2's history and c's edit on top of it. P accepts the bundle once (a2's ops at clocks P
  // already has are skipped, the rest is turned into no-ops) but rejects the very same bytes
  // on re-delivery ("refers to something that is not text in its root"). A rejected bundle
  // also loses every other client's ops in it. Updates must be idempotent.
  Doc a1(42), a2(42), c(7), p(8);
  RootHandle t1 = text_of(a1), c1 = root_of(a1, RootType::Counter, "n");
  REQUIRE(a1.text_insert(t1, 0, U("hell")).ok);  // 42@0..3
  REQUIRE(a1.counter_add(c1, 1).ok);              // 42@4 is not text
  RootHandle t2 = text_of(a2);
  REQUIRE(a2.text_insert(t2, 0, U("abcdefgh")).ok);  // 42@0..7, all text
  REQUIRE(apply_upd(c, a2.encode_state()).ok);
  RootHandle tc = text_of(c);
  REQUIRE(c.text_insert(tc, 7, U("Z")).ok);  // after 'g' = 42@6
  const Bytes bundle = since(c, empty_sv());

  REQUIRE(apply_upd(p, a1.encode_state()).ok);
  Status first = apply_upd(p, bundle);
  INFO("first delivery: " << first.message);
  REQUIRE(first.ok);
  const Bytes after_first = p.encode_state();
  Status again = apply_upd(p, bundle);
  INFO("second delivery: " << again.message);
  CHECK(again.ok);
  CHECK(p.encode_state() == after_first);
}

TEST_CASE("regression: roots created concurrently with different types never sync",
          "[regression][roots]") {
  // a makes "x" a Text, b makes "x" a Map before they hear from each other. Each then rejects
  // every update of the other ("root 'x' has another type here"), including the ops on other
  // roots that travel in the same update, so the two replicas can never converge.
  Doc a(1), b(2);
  RootHandle ax = text_of(a, "x"), ay = text_of(a, "shared");
  RootHandle bx = root_of(b, RootType::Map, "x"), by = text_of(b, "shared");
  REQUIRE(a.text_insert(ax, 0, U("text")).ok);
  REQUIRE(a.text_insert(ay, 0, U("from a ")).ok);
  REQUIRE(b.map_set(bx, "k", "1").ok);
  REQUIRE(b.text_insert(by, 0, U("from b")).ok);
  Status s1 = apply_upd(a, since(b, a.state_vector()));
  Status s2 = apply_upd(b, since(a, b.state_vector()));
  INFO("b -> a: " << s1.message);
  INFO("a -> b: " << s2.message);
  CHECK(s1.ok);
  CHECK(s2.ok);
  CHECK(a.text_content(ay) == b.text_content(by));
  CHECK(view_of(a) == view_of(b));
}

TEST_CASE("regression: encode_state leaves out ops still waiting for their parents",
          "[regression][pending]") {
  // doc.h: encode_state() is "everything, loadable into an empty doc". A document holding
  // buffered ops (pending_ops() > 0) drops them from encode_state, so a replica persisted with
  // encode_state and reloaded, or a late joiner served from it, loses them for good once
  // their author is gone, even after the missing parents arrive.
  Doc w(5);
  RootHandle t = text_of(w);
  w.set_capture_updates(true);
  REQUIRE(w.text_insert(t, 0, U("first ")).ok);
  const Bytes u1 = w.take_last_result().update;
  REQUIRE(w.text_insert(t, 6, U("second")).ok);
  const Bytes u2 = w.take_last_result().update;

  Doc relay(6);
  REQUIRE(apply_upd(relay, u2).ok);
  REQUIRE(relay.pending_ops() > 0);
  Doc reloaded(7);
  REQUIRE(apply_upd(reloaded, relay.encode_state()).ok);
  REQUIRE(apply_upd(reloaded, u1).ok);
  CHECK(reloaded.pending_ops() == 0);
  CHECK(reloaded.text_content(text_of(reloaded)) == U("first second"));
}

TEST_CASE("regression: overlapping pending ops must not make encode_state unloadable",
          "[regression][pending]") {
  // Two updates that overlap in clocks both wait for the same missing parent; encode_state
  // must still write each clock once (the decoder refuses overlapping ops of one client).
  Doc w(5);
  RootHandle t = text_of(w);
  w.set_capture_updates(true);
  REQUIRE(w.text_insert(t, 0, U("0123456789")).ok);
  const Bytes u1 = w.take_last_result().update;
  const Bytes sv1 = w.state_vector();
  REQUIRE(w.text_insert(t, 10, U("abcdefghij")).ok);
  REQUIRE(w.text_insert(t, 20, U("klmnopqrst")).ok);
  const Bytes u3 = w.take_last_result().update;  // clocks 20..29
  const Bytes u23 = since(w, sv1);                  // clocks 10..29

  Doc relay(6);
  REQUIRE(apply_upd(relay, u3).ok);
  REQUIRE(apply_upd(relay, u23).ok);
  REQUIRE(relay.pending_ops() == 2);
  Doc reloaded(7);
  Status st = apply_upd(reloaded, relay.encode_state());
  INFO(st.message);
  REQUIRE(st.ok);
  REQUIRE(apply_upd(reloaded, u1).ok);
  CHECK(reloaded.pending_ops() == 0);
  CHECK(reloaded.text_content(text_of(reloaded)) == w.text_content(t));
}

TEST_CASE("regression: an op referring to its own clocks is refused", "[regression][garbage]") {
  // Found by the fuzzer: a delete whose targets reached its own clocks waited for itself forever.
  Doc w(5);
  RootHandle t = text_of(w);
  REQUIRE(w.text_insert(t, 0, U("abc")).ok);
  Bytes u = w.encode_state();
  // Hand-made: client 5 inserts 'x' at clock 0 with its left origin at clock 0 (itself).
  Bytes bad = {'R', 1, 1, 5, 1, 1, 4, 't', 'e', 'x', 't', 1, 0, 0, 1, 1 /* insert, root 0 */,
               2 /* client 0 */, 0 /* clock 0 */, 0 /* no right */, 1, 'x'};
  Doc d(9);
  const Bytes before = d.encode_state();
  Status st = apply_upd(d, bad);
  CHECK_FALSE(st.ok);
  CHECK(st.message.find("own or later clocks") != std::string::npos);
  CHECK(d.encode_state() == before);
  CHECK(apply_upd(d, u).ok);
}

namespace {

// Client `client` sets key "k" of map root "m" to `json` with the given lamport (format v1).
Bytes map_set_from(uint64_t client, const std::string& json, uint64_t lamport) {
  Bytes u = {'R', 1, 1};
  leb(u, client);
  u.push_back(1);
  u.push_back(static_cast<uint8_t>(RootType::Map));
  u.push_back(1);
  u.push_back('m');
  u.push_back(1);  // sections
  u.push_back(0);  // client index
  u.push_back(0);  // start clock
  u.push_back(1);  // op count
  u.push_back(5);  // map-set, root 0
  u.push_back(1);
  u.push_back('k');
  leb(u, json.size());
  u.insert(u.end(), json.begin(), json.end());
  leb(u, lamport);
  return u;
}

}  // namespace

TEST_CASE("regression: a local map write at the lamport cap diverges from what peers keep", "[regression][map]") {
  // Was (fixed in ea5be2e): after a peer's op at kMaxLamport, a local write also gets kMaxLamport (capped) and ties.
  // Remote integration breaks the tie by client id (the higher id wins), but set_entry()
  // overwrites the local entry unconditionally. With a lower client id than the hostile peer's,
  // this replica shows its own value while every other replica keeps the peer's: divergence.
  const Bytes hostile = map_set_from(77, "\"hostile\"", kMaxLamport);
  Doc d(9);  // 9 < 77
  d.set_capture_updates(true);
  REQUIRE(apply_upd(d, hostile).ok);
  RootHandle m = root_of(d, RootType::Map, "m");
  REQUIRE(d.map_set(m, "k", "\"mine\"").ok);
  const Bytes mine = d.take_last_result().update;
  Doc peer(10);
  REQUIRE(apply_upd(peer, hostile).ok);
  REQUIRE(apply_upd(peer, mine).ok);
  RootHandle pm = root_of(peer, RootType::Map, "m");
  INFO("local replica: " << d.map_get(m, "k").value_or("-") << ", peer: " << peer.map_get(pm, "k").value_or("-"));
  CHECK(d.map_get(m, "k") == peer.map_get(pm, "k"));
  CHECK(view_of(d) == view_of(peer));
  Doc reloaded(11);
  REQUIRE(apply_upd(reloaded, d.encode_state()).ok);
  CHECK(view_of(reloaded) == view_of(d));
}

TEST_CASE("regression: an accepted update makes encode_state unloadable (overlapping sections)",
          "[regression][pending]") {
  // Was (fixed in ea5be2e), found by fuzz_update (minimized). One client (0x24) has two sections in one update whose
  // clocks overlap: section 1 = insert-gone 0..479, insert "lo 😶lrwÀ d" 480..490, a forward
  // delete at 491 whose 42 targets 478..519 include its own clocks 491.., a map-set, a counter
  // add; section 2 = an op at clock 34, inside section 1's range. RefChecker::ok looks the
  // target up with upper_bound over the client's ops sorted by clock, finds the op at 34 instead
  // of the insert-gone run at 0, and answers "unknown: will wait", so the update is accepted.
  // The delete (and the two ops after it) then wait for their own clocks forever, and since
  // encode_state now includes pending ops, the document's state is rejected by every decoder,
  // this replica's own included: "op 36@491 refers to something that is not text in its root".
  // A hostile peer can so poison late joiners and persisted copies. Suggested: reject updates
  // whose sections (or ops) for one client overlap, and deletes whose targets reach their own
  // clocks.
  const Bytes u = {0x52, 0x01, 0x02, 0x24, 0x01, 0x04, 0x01, 0x04, 0x74, 0x65, 0x78, 0x74, 0x02, 0x01, 0x73, 0x04,
                   0x01, 0x63, 0x03, 0x01, 0x72, 0x02, 0x00, 0x00, 0x05, 0x02, 0x00, 0x00, 0xe0, 0x03, 0x81, 0x0e,
                   0x6c, 0x6f, 0x20, 0xf0, 0x9f, 0x98, 0xb6, 0x6c, 0x72, 0x77, 0xc3, 0x80, 0x20, 0x64, 0x03, 0x19,
                   0x2a, 0x0d, 0x01, 0x6b, 0x12, 0x7b, 0x22, 0x78, 0x22, 0x3a, 0x5b, 0x32, 0x2c, 0x22, 0x79, 0x22,
                   0x2c, 0x6e, 0x75, 0x6c, 0x6c, 0x5d, 0x7d, 0x01, 0x17, 0x01, 0x00, 0x22, 0x01, 0x83, 0x02, 0x00};
  Doc d(0x7777);
  Status st = apply_upd(d, u);
  if (!st.ok) {
    SUCCEED("rejected: " << st.message);
    return;
  }
  const Bytes state = d.encode_state();
  Doc f(1);
  Status s2 = apply_upd(f, state);
  INFO("pending " << d.pending_ops() << "; loading encode_state: " << s2.message);
  CHECK(s2.ok);
}

TEST_CASE("regression: a pending op that refers to a no-op'd clock made encode_state unloadable",
          "[regression][pending]") {
  // Found by fuzz_update on b18836a; this is the same failure through the public API.
  // Two documents share client id 42 (two histories for one id). c builds on a2's history and
  // inserts "Z" with left origin 42@6. P holds a1's history (42@4 is a counter op), receives
  // c's second op first (pending: c@0 is missing), then a2's state: 42@5..7 straddle what P
  // knows, are trimmed, their left origin becomes 42@4 (not text) and they are logged as no-ops.
  // P's encode_state now carries the pending c@1 next to the no-op at 42@6, and every decoder,
  // P's own included, rejects it: "op 7@1 refers to something that is not text in its root".
  // (When c@0 arrives the op integrates as a no-op and the state loads again.)
  // Fixed: references to no-op'd clocks are accepted; such ops become no-ops when integrated.
  Doc a1(42), a2(42), c(7), p(8);
  RootHandle t1 = text_of(a1), n1 = root_of(a1, RootType::Counter, "n");
  REQUIRE(a1.text_insert(t1, 0, U("hell")).ok);  // 42@0..3 text
  REQUIRE(a1.counter_add(n1, 1).ok);             // 42@4 counter
  RootHandle t2 = text_of(a2);
  REQUIRE(a2.text_insert(t2, 0, U("abcdefgh")).ok);  // 42@0..7 text
  const Bytes s2 = a2.encode_state();
  REQUIRE(apply_upd(c, s2).ok);
  RootHandle tc = text_of(c);
  c.set_capture_updates(true);
  REQUIRE(c.text_insert(tc, 0, U("Q")).ok);  // c@0, held back from p
  const Bytes cu0 = c.take_last_result().update;
  REQUIRE(c.text_insert(tc, 8, U("Z")).ok);  // c@1, left origin 42@6
  const Bytes cu1 = c.take_last_result().update;

  REQUIRE(apply_upd(p, a1.encode_state()).ok);
  REQUIRE(apply_upd(p, cu1).ok);
  CHECK(p.pending_ops() > 0);
  Status st = apply_upd(p, s2);
  INFO("a2's state at p: " << st.message);
  if (!st.ok) {
    SUCCEED("the conflicting history is refused");
    return;
  }
  Doc f(9);
  Status s3 = apply_upd(f, p.encode_state());
  INFO("loading p.encode_state(): " << s3.message);
  CHECK(s3.ok);
  REQUIRE(apply_upd(p, cu0).ok);
  Doc g(10);
  CHECK(apply_upd(g, p.encode_state()).ok);
}

TEST_CASE("regression: a pending insert trimmed at a known clock got a non-text left origin in encode_state",
          "[regression][pending]") {
  // Found by fuzz_update on f5dbab0; the same failure through the public API.
  // b1 and b2 share client id 50 (two histories for one id). P holds b1's history, where 50@11
  // is a counter op. b2's history is one insert run 50@0..17 whose right origin is c@0, which P
  // has never seen. P receives b2's ops: 50@0..11 are known, the rest waits for c@0 (pending).
  // When the pending op is trimmed to 50@12..17 its left origin becomes 50@11 (the clock
  // before, assumed to be the same run), but in P 50@11 is the counter op. encode_state writes
  // the trimmed op, and every decoder, P's own included, rejects the state: "op 50@12 refers to
  // something that is not text in its root". A hostile peer can do the same on purpose.
  // Fixed: a left origin at the op's own previous clock is its run continuing; if that clock is
  // something else here the op becomes a no-op when integrated.
  Doc b1(50), b2(50), c(60), p(8);
  RootHandle t1 = text_of(b1), n1 = root_of(b1, RootType::Counter, "n");
  REQUIRE(b1.text_insert(t1, 0, U("hello world")).ok);  // 50@0..10 text
  REQUIRE(b1.counter_add(n1, 1).ok);                    // 50@11 counter
  RootHandle tc = text_of(c);
  REQUIRE(c.text_insert(tc, 0, U("xyz")).ok);  // 60@0..2
  REQUIRE(apply_upd(b2, c.encode_state()).ok);
  RootHandle t2 = text_of(b2);
  REQUIRE(b2.text_insert(t2, 0, U("12345678")).ok);    // 50@0..7, right origin 60@0
  REQUIRE(b2.text_insert(t2, 8, U("abcdefghij")).ok);  // 50@8..17, same run
  const Bytes b2_ops = since(b2, c.state_vector());     // b2's ops only

  REQUIRE(apply_upd(p, b1.encode_state()).ok);
  Status st = apply_upd(p, b2_ops);
  INFO("b2's ops at p: " << st.message);
  if (!st.ok) {
    SUCCEED("the conflicting history is refused");
    return;
  }
  Doc f(9);
  Status s2 = apply_upd(f, p.encode_state());
  INFO("pending " << p.pending_ops() << "; loading p.encode_state(): " << s2.message);
  CHECK(s2.ok);
  // Once c's op arrives, nothing is pending and the state loads.
  REQUIRE(apply_upd(p, c.encode_state()).ok);
  CHECK(p.pending_ops() == 0);
  Doc g(10);
  CHECK(apply_upd(g, p.encode_state()).ok);
}
