// A deterministic simulated network for room cores (tests only).
//
// One seed drives everything: per-link latency (drawn once), jitter, loss and the scripted
// edits, so a failing seed replays exactly. Data channels are modelled as what they are:
// reliable and ordered (jitter never reorders a link), and "loss" is a channel reset that
// discards everything in flight and reports channel_closed on both sides. A lossy mode also
// drops, duplicates, reorders and corrupts single frames to exercise dedup and parsing.
// Signaling (join/leave) is a reliable side channel with its own latency, unaffected by
// partitions. Every output of every core feeds a trace hash: same seed, same hash.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "crdt/doc.h"
#include "room/room_core.h"

namespace room_sim {

using namespace roomsync;
using namespace roomsync::room;

struct SimOptions {
  uint64_t seed = 1;
  Millis min_latency = 15, max_latency = 150, jitter = 10;
  double reset_prob = 0;  // per frame: the channel resets (everything in flight is lost)
  double drop_prob = 0, dup_prob = 0, reorder_prob = 0, corrupt_prob = 0;  // lossy mode
  Millis signaling_latency = 30;
  Millis ice_timeout = 5000;   // a partitioned channel is reported closed after this
  Millis dead_leave_after = 5000;  // signaling notices a killed peer after this
  uint32_t max_direct = 6;
  Limits limits;
  std::function<void(Config&)> tune;  // per-node config changes
  bool count_updates = false;  // fill Sim::update_frames / update_got / update_origin / sync1_sent / held_after
};

struct Node {
  std::string id;
  std::unique_ptr<Doc> doc;
  std::unique_ptr<DocAdapter> port;
  std::unique_ptr<RoomCore> core;
  bool alive = false;
  RootHandle text = 0;
  std::optional<Millis> deadline;
  std::vector<Output> events;  // every non-transmit output, in order
  uint64_t transmits = 0;
  uint32_t max_open = 0;
  Millis joined_at = 0;
  Millis paused_until = 0;  // Sim::pause: frames and timers wait until then
};

class Sim {
 public:
  explicit Sim(SimOptions o) : opt_(std::move(o)), rng_(opt_.seed * 0x9e3779b97f4a7c15ull + 7) {}

  Millis now() const { return now_; }
  std::vector<Node>& nodes() { return nodes_; }
  Node& node(size_t i) { return nodes_[i]; }
  uint64_t trace_hash() const { return hash_; }
  uint64_t steps() const { return steps_; }
  uint64_t inserted() const { return inserted_; }
  uint64_t max_inflight_seen() const { return max_inflight_seen_; }

  // With SimOptions::count_updates: frames starting an Update message that cores sent, how many
  // each node was handed per message ((node, message id) -> count), and each message's origin.
  uint64_t update_frames = 0;
  std::map<std::pair<size_t, uint64_t>, uint32_t> update_got;
  std::map<uint64_t, size_t> update_origin;
  uint64_t sync1_sent = 0;  // Sync1 frames cores sent
  uint64_t held_after = 0;  // deliveries after which the receiving document held ops (parents missing)

  // Schedules fn at time t.
  void at(Millis t, std::function<void()> fn) {
    scripts_.push_back(std::move(fn));
    push(Ev{t, 0, EvKind::Script, scripts_.size() - 1, 0, 0, {}});
  }

  // A new node (or an existing one rejoining with its document) joins through signaling.
  size_t add_node(std::string id = "", uint64_t client_id = 0) {
    size_t i = nodes_.size();
    if (id.empty()) id = "peer" + std::to_string(100 + i);
    nodes_.emplace_back();
    Node& n = nodes_.back();
    n.id = id;
    n.doc = std::make_unique<Doc>(client_id ? client_id : 1000 + i * 7919);
    n.doc->set_capture_updates(true);
    Status st = n.doc->root(RootType::Text, "t", &n.text);
    REQUIRE(st.ok);
    n.port = std::make_unique<DocAdapter>(*n.doc);
    start(i);
    return i;
  }

  void start(size_t i) {
    Node& n = nodes_[i];
    Config c;
    c.self = n.id;
    c.seed = opt_.seed * 1315423911ull + i * 2654435761ull + (restarts_++) * 97;
    c.max_direct_peers = opt_.max_direct;
    c.limits = opt_.limits;
    if (opt_.tune) opt_.tune(c);
    n.core = std::make_unique<RoomCore>(c, *n.port, now_);
    n.alive = true;
    unlisted_.erase(i);
    n.joined_at = now_;
    // Signaling: the newcomer learns the others, the others learn the newcomer.
    for (size_t j = 0; j < nodes_.size(); ++j) {
      if (j == i || !nodes_[j].alive) continue;
      push(Ev{now_ + opt_.signaling_latency, 0, EvKind::SigJoin, j, i, 0, {}});
      push(Ev{now_ + opt_.signaling_latency, 0, EvKind::SigJoin, i, j, 0, {}});
    }
    push(Ev{now_ + opt_.signaling_latency + 1, 0, EvKind::SigListed, i, 0, 0, {}});
    drain(i);
  }

  // The process dies: no bye; links go silent; signaling notices later.
  void kill(size_t i) {
    Node& n = nodes_[i];
    if (!n.alive) return;
    n.alive = false;
    n.core.reset();
    for (auto& [key, l] : links_) {
      if (key.first != i && key.second != i) continue;
      ++l.gen;
      l.state = LinkState::Closed;
      l.inflight[0] = l.inflight[1] = 0;
    }
    for (size_t j = 0; j < nodes_.size(); ++j)
      if (j != i) push(Ev{now_ + opt_.dead_leave_after, 0, EvKind::SigLeave, j, i, 0, {}});
  }

  // A clean leave: bye, disconnects, signaling leave.
  void leave(size_t i) {
    Node& n = nodes_[i];
    if (!n.alive) return;
    n.core->leave(now_);
    drain(i);
    n.alive = false;
    n.core.reset();
    for (size_t j = 0; j < nodes_.size(); ++j)
      if (j != i) push(Ev{now_ + opt_.signaling_latency, 0, EvKind::SigLeave, j, i, 0, {}});
  }

  // Signaling loses node i while it keeps running (the server shuts down closing sockets one
  // by one, or i's socket reconnects): the others get a leave; its channels are untouched.
  void signaling_drop(size_t i) {
    unlisted_.insert(i);
    for (size_t j = 0; j < nodes_.size(); ++j)
      if (j != i) push(Ev{now_ + opt_.signaling_latency, 0, EvKind::SigLeave, j, i, 0, {}});
  }
  // ... and node i is back in signaling: the others get a join.
  void signaling_back(size_t i) {
    unlisted_.erase(i);
    for (size_t j = 0; j < nodes_.size(); ++j)
      if (j != i) push(Ev{now_ + opt_.signaling_latency, 0, EvKind::SigJoin, j, i, 0, {}});
  }

  void rejoin(size_t i) {
    if (nodes_[i].alive) return;
    start(i);
  }

  void partition(const std::set<size_t>& side) {
    side_ = side;
    partitioned_ = true;
    for (auto& [key, l] : links_) {
      if (!blocked(key.first, key.second) || l.state == LinkState::Closed) continue;
      push(Ev{now_ + opt_.ice_timeout, 0, EvKind::IceFail, key.first, key.second, l.gen, {}});
    }
  }
  void heal() { partitioned_ = false; }

  // One local edit: a unique character at a seeded position.
  void edit(size_t i, size_t chars = 1) {
    Node& n = nodes_[i];
    if (!n.alive) return;
    uint32_t len = n.doc->text_length(n.text);
    uint32_t pos = static_cast<uint32_t>(rng_.below(len + 1));
    std::u16string s;
    for (size_t k = 0; k < chars; ++k) s += static_cast<char16_t>(u'a' + (rng_.next() % 26));
    REQUIRE(n.doc->text_insert(n.text, pos, s).ok);
    inserted_ += chars;
    TransactionResult r = n.doc->take_last_result();
    REQUIRE(n.core->local_update(r.update.data(), r.update.size(), now_));
    drain(i);
  }

  // One local edit of the List root "l": a unique value at a seeded index, or (one time in
  // four, when not empty) a delete of one element.
  void edit_list(size_t i) {
    Node& n = nodes_[i];
    if (!n.alive) return;
    RootHandle l = 0;
    REQUIRE(n.doc->root(RootType::List, "l", &l).ok);
    const uint32_t len = n.doc->list_length(l);
    if (len > 0 && rng_.below(4) == 0) {
      REQUIRE(n.doc->list_delete(l, static_cast<uint32_t>(rng_.below(len)), 1).ok);
    } else {
      const std::string v = "{\"by\":\"" + n.id + "\",\"n\":" + std::to_string(list_values_++) + "}";
      REQUIRE(n.doc->list_insert(l, static_cast<uint32_t>(rng_.below(len + 1)), {v}).ok);
    }
    TransactionResult r = n.doc->take_last_result();
    REQUIRE(n.core->local_update(r.update.data(), r.update.size(), now_));
    drain(i);
  }

  // Runs until `until` (virtual ms) or the step budget; fails on a livelock.
  void run_until(Millis until, uint64_t budget = 5'000'000) {
    while (steps_ < budget) {
      Millis next_ev = queue_.empty() ? INT64_MAX : queue_.top().t;
      Millis next_dl = INT64_MAX;
      for (const Node& n : nodes_)
        if (n.alive && n.deadline) next_dl = std::min(next_dl, std::max(*n.deadline, n.paused_until));
      Millis t = std::min(next_ev, next_dl);
      if (t > until || t == INT64_MAX) break;
      ++steps_;
      if (t > now_) {
        now_ = t;
        same_time_steps_ = 0;
      } else if (++same_time_steps_ > 200000) {
        FAIL("livelock: time stuck at " << now_);
      }
      if (next_ev <= next_dl) {
        Ev e = queue_.top();
        queue_.pop();
        process(e);
      } else {
        for (size_t i = 0; i < nodes_.size(); ++i) {
          Node& n = nodes_[i];
          if (!n.alive || !n.deadline || *n.deadline > now_ || n.paused_until > now_) continue;
          n.core->handle_timeout(now_);
          drain(i);
        }
      }
    }
    REQUIRE(steps_ < budget);
    now_ = std::max(now_, until);
  }

  // Node i gets no CPU until `until` (a starved or busy process): frames for it and its timers
  // wait, and are handled then, in order, after what is scheduled for that time already.
  void pause(size_t i, Millis until) { nodes_[i].paused_until = until; }

  // The channel between a and b resets: both sides see it close, what is in flight is lost.
  void reset(size_t a, size_t b) {
    Link& l = link(a, b);
    if (l.state != LinkState::Closed) reset_link(a, b, l);
  }

  // The next `count` frames from `from` to `to` vanish, as when a transport gives up waiting
  // for them; frames_lost() then reports it the way the glue does.
  void blackhole(size_t from, size_t to, uint32_t count) { blackholed_[{from, to}] += count; }
  void frames_lost(size_t at, size_t from) {
    nodes_[at].core->frames_lost(nodes_[from].id, now_);
    drain(at);
  }

  // Delivers raw bytes to node `to` as if sent by `from` on an open channel (hostile peers).
  void inject(size_t from, size_t to, const Bytes& frame) {
    nodes_[to].core->handle_frame(nodes_[from].id, frame.data(), frame.size(), now_);
    drain(to);
  }

  template <class F>
  void each_alive(F f) {
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i].alive) f(i, nodes_[i]);
  }

  size_t count(size_t i, OutKind k) const {
    size_t c = 0;
    for (const auto& o : nodes_[i].events) c += o.kind == k;
    return c;
  }

  uint64_t total_transmits() const {
    uint64_t t = 0;
    for (const auto& n : nodes_) t += n.transmits;
    return t;
  }

  // Every alive node has the same text, holding every character ever inserted.
  void require_converged() {
    std::optional<std::u16string> first;
    each_alive([&](size_t i, Node& n) {
      INFO("node " << n.id);
      std::u16string t = n.doc->text_content(n.text);
      CHECK(n.doc->pending_ops() == 0);
      CHECK(t.size() == inserted_);
      if (!first) first = t;
      else CHECK(t == *first);
    });
  }

  size_t protocol_errors() const {
    size_t c = 0;
    for (size_t i = 0; i < nodes_.size(); ++i) c += count(i, OutKind::ProtocolError);
    return c;
  }

 private:
  uint64_t list_values_ = 0;  // values edit_list inserted so far (makes each unique)
    enum class EvKind : uint8_t { Script, SigJoin, SigLeave, SigListed, Open, Deliver, Closed, IceFail };
  struct Ev {
    Millis t;
    uint64_t seq;
    EvKind kind;
    size_t a, b;  // Deliver: from a to b; Sig*: node a learns about b; Closed: a learns b closed
    uint64_t gen;
    Bytes bytes;
  };
  struct Later {
    bool operator()(const Ev& x, const Ev& y) const { return x.t != y.t ? x.t > y.t : x.seq > y.seq; }
  };
  enum class LinkState : uint8_t { Closed, Opening, Open };
  struct Link {
    LinkState state = LinkState::Closed;
    uint64_t gen = 0;
    Millis latency = 0;
    Millis last[2] = {0, 0};
    uint64_t inflight[2] = {0, 0};
  };

  void push(Ev e) {
    e.seq = ++seq_;
    queue_.push(std::move(e));
  }

  Link& link(size_t a, size_t b) {
    auto key = std::make_pair(std::min(a, b), std::max(a, b));
    auto it = links_.find(key);
    if (it != links_.end()) return it->second;
    Link& l = links_[key];
    Rng r(opt_.seed ^ (key.first * 1000003 + key.second) * 0x9e3779b97f4a7c15ull);
    l.latency = opt_.min_latency + static_cast<Millis>(r.below(static_cast<uint64_t>(opt_.max_latency - opt_.min_latency + 1)));
    return l;
  }
  static int dir(size_t from, size_t to) { return from < to ? 0 : 1; }

  bool blocked(size_t a, size_t b) const {
    return partitioned_ && (side_.count(a) != side_.count(b));
  }

  size_t index_of(const std::string& id) const {
    for (size_t i = 0; i < nodes_.size(); ++i)
      if (nodes_[i].id == id) return i;
    return SIZE_MAX;
  }

  bool chance(double p) { return p > 0 && static_cast<double>(rng_.next() >> 11) * 0x1.0p-53 < p; }

  void reset_link(size_t a, size_t b, Link& l) {
    ++l.gen;
    l.state = LinkState::Closed;
    l.inflight[0] = l.inflight[1] = 0;
    push(Ev{now_ + 1, 0, EvKind::Closed, a, b, l.gen, {}});
    push(Ev{now_ + 1, 0, EvKind::Closed, b, a, l.gen, {}});
  }

  void hash(uint64_t v) {
    for (int k = 0; k < 8; ++k) {
      hash_ ^= (v >> (8 * k)) & 0xff;
      hash_ *= 0x100000001b3ull;
    }
  }
  void hash(const std::string& s) {
    hash(s.size());
    for (unsigned char c : s) {
      hash_ ^= c;
      hash_ *= 0x100000001b3ull;
    }
  }

  void process(const Ev& e) {
    switch (e.kind) {
      case EvKind::Script: {
        auto fn = scripts_[e.a];  // the script may schedule more (scripts_ may grow)
        fn();
        return;
      }
      case EvKind::SigJoin:
        if (nodes_[e.a].alive && nodes_[e.b].alive && !unlisted_.count(e.b)) {
          nodes_[e.a].core->peer_joined(nodes_[e.b].id, now_);
          drain(e.a);
        }
        return;
      case EvKind::SigLeave:
        if (nodes_[e.a].alive && (!nodes_[e.b].alive || unlisted_.count(e.b))) {
          nodes_[e.a].core->peer_left(nodes_[e.b].id, now_);
          drain(e.a);
        }
        return;
      case EvKind::SigListed:
        if (nodes_[e.a].alive) {
          nodes_[e.a].core->peers_listed(now_);
          drain(e.a);
        }
        return;
      case EvKind::Open: {
        Link& l = link(e.a, e.b);
        if (l.gen != e.gen || l.state != LinkState::Opening) return;
        if (blocked(e.a, e.b) || !nodes_[e.a].alive || !nodes_[e.b].alive) {
          reset_link(e.a, e.b, l);
          return;
        }
        l.state = LinkState::Open;
        l.last[0] = l.last[1] = now_;
        size_t x = std::min(e.a, e.b), y = std::max(e.a, e.b);
        nodes_[x].core->channel_open(nodes_[y].id, now_);
        drain(x);
        if (nodes_[y].alive && l.gen == e.gen) {
          nodes_[y].core->channel_open(nodes_[x].id, now_);
          drain(y);
        }
        return;
      }
      case EvKind::Deliver: {
        if (nodes_[e.b].paused_until > now_) {
          Ev later = e;
          later.t = nodes_[e.b].paused_until;
          push(std::move(later));
          return;
        }
        Link& l = link(e.a, e.b);
        if (l.gen != e.gen || l.state != LinkState::Open || !nodes_[e.b].alive) return;
        if (blocked(e.a, e.b)) return;  // lost in the partition
        uint64_t& inflight = l.inflight[dir(e.a, e.b)];
        const uint64_t before = inflight;
        if (const Frame* f = update_start(e.bytes)) ++update_got[{e.b, f->a}];
        inflight -= std::min<uint64_t>(inflight, e.bytes.size());
        nodes_[e.b].core->handle_frame(nodes_[e.a].id, e.bytes.data(), e.bytes.size(), now_);
        drain(e.b);
        if (opt_.count_updates && nodes_[e.b].doc->pending_ops() > 0) ++held_after;
        // bufferedamountlow for the sender
        const uint64_t low = opt_.limits.max_inflight_bytes / 4;
        if (nodes_[e.a].alive && l.gen == e.gen && before > low && inflight <= low) {
          nodes_[e.a].core->channel_buffered(nodes_[e.b].id, inflight, now_);
          drain(e.a);
        }
        return;
      }
      case EvKind::Closed: {
        Link& l = link(e.a, e.b);
        if (l.gen != e.gen || !nodes_[e.a].alive) return;
        nodes_[e.a].core->channel_closed(nodes_[e.b].id, now_);
        drain(e.a);
        return;
      }
      case EvKind::IceFail: {
        Link& l = link(e.a, e.b);
        if (l.gen != e.gen || l.state == LinkState::Closed || !blocked(e.a, e.b)) return;
        reset_link(e.a, e.b, l);
        return;
      }
    }
  }

  // The decoded frame if it starts an Update message (and counting is on).
  const Frame* update_start(const Bytes& b) {
    if (!opt_.count_updates) return nullptr;
    scratch_ = Frame{};
    if (decode_frame(b.data(), b.size(), opt_.limits, &scratch_).error != DecodeError::None) return nullptr;
    const bool is = scratch_.type == FrameType::Chunk && scratch_.has_header && scratch_.header.kind == MsgKind::Update;
    return is ? &scratch_ : nullptr;
  }

  void transmit(size_t from, const Output& o) {
    size_t to = index_of(o.peer);
    REQUIRE(to != SIZE_MAX);
    REQUIRE(o.bytes.size() <= opt_.limits.max_frame_bytes);
    if (const Frame* f = update_start(o.bytes)) {
      ++update_frames;
      if (f->header.origin.empty()) update_origin[f->a] = from;
    }
    if (opt_.count_updates && scratch_.type == FrameType::Sync1) ++sync1_sent;  // decoded by update_start
    Link& l = link(from, to);
    if (l.state != LinkState::Open || !nodes_[to].alive) return;  // into a closed channel
    if (chance(opt_.reset_prob)) {
      reset_link(from, to, l);
      return;
    }
    if (chance(opt_.drop_prob)) return;
    if (auto bh = blackholed_.find({from, to}); bh != blackholed_.end() && bh->second > 0) {
      --bh->second;
      return;
    }
    Bytes bytes = o.bytes;
    if (chance(opt_.corrupt_prob) && !bytes.empty()) bytes[rng_.below(bytes.size())] ^= static_cast<uint8_t>(1 + rng_.below(255));
    int d = dir(from, to);
    Millis t = now_ + l.latency + static_cast<Millis>(rng_.below(static_cast<uint64_t>(opt_.jitter) + 1));
    if (chance(opt_.reorder_prob)) {
      t += static_cast<Millis>(rng_.below(200));  // may overtake or be overtaken
    } else {
      t = std::max(t, l.last[d]);
      l.last[d] = t;
    }
    l.inflight[d] += bytes.size();
    max_inflight_seen_ = std::max(max_inflight_seen_, l.inflight[d]);
    if (chance(opt_.dup_prob)) push(Ev{t + 1, 0, EvKind::Deliver, from, to, l.gen, bytes});
    push(Ev{t, 0, EvKind::Deliver, from, to, l.gen, std::move(bytes)});
  }

  void connect(size_t from, const Output& o) {
    size_t to = index_of(o.peer);
    REQUIRE(to != SIZE_MAX);
    Link& l = link(from, to);
    if (l.state != LinkState::Closed || !nodes_[to].alive) return;
    if (blocked(from, to)) return;  // never connects; the core times out
    ++l.gen;
    l.state = LinkState::Opening;
    push(Ev{now_ + 2 * l.latency + 10, 0, EvKind::Open, from, to, l.gen, {}});
  }

  void disconnect(size_t from, const Output& o) {
    size_t to = index_of(o.peer);
    REQUIRE(to != SIZE_MAX);
    Link& l = link(from, to);
    if (l.state == LinkState::Closed) return;
    ++l.gen;
    l.state = LinkState::Closed;
    l.inflight[0] = l.inflight[1] = 0;
    push(Ev{now_ + 1, 0, EvKind::Closed, to, from, l.gen, {}});
  }

  void drain(size_t i) {
    Node& n = nodes_[i];
    const Limits& lim = opt_.limits;
    for (int round = 0; n.core; ++round) {
      REQUIRE(round < 1000);
      std::set<size_t> sent_to;
      uint64_t outputs = 0;
      while (n.core) {
        std::optional<Output> o = n.core->poll_output();
        if (!o) break;
        ++outputs;
        REQUIRE(outputs < 1'000'000);
        hash(static_cast<uint64_t>(now_));
        hash(i);
        hash(static_cast<uint64_t>(o->kind));
        hash(o->peer);
        hash(o->id);
        hash(o->flag);
        switch (o->kind) {
          case OutKind::Transmit:
            hash(std::string(o->bytes.begin(), o->bytes.end()));
            ++n.transmits;
            transmit(i, *o);
            sent_to.insert(index_of(o->peer));
            break;
          case OutKind::Connect: connect(i, *o); break;
          case OutKind::Disconnect:
            hash(o->code);
            disconnect(i, *o);
            break;
          default:
            hash(o->code);
            hash(o->got);
            n.events.push_back(std::move(*o));
        }
      }
      if (!n.core) break;
      Stats s = n.core->stats();
      REQUIRE(s.reassembly_bytes <= lim.max_reassembly_bytes_total);
      REQUIRE(s.max_peer_reassembly <= lim.max_reassembly_bytes_per_peer);
      REQUIRE(s.max_peer_outbound <= lim.max_outbound_bytes_per_peer);
      REQUIRE(s.max_peer_control <= lim.max_control_bytes_per_peer);
      REQUIRE(s.open_channels <= std::max<uint32_t>(opt_.max_direct, 2));
      n.max_open = std::max(n.max_open, s.open_channels);
      if (sent_to.empty()) break;
      // After a batch: report the channels' bufferedAmount (the glue does the same).
      for (size_t to : sent_to) {
        Link& l = link(i, to);
        if (l.state == LinkState::Open) n.core->channel_buffered(nodes_[to].id, l.inflight[dir(i, to)], now_);
      }
    }
    if (n.core) n.deadline = n.core->poll_timeout();
  }

  SimOptions opt_;
  Rng rng_;
  Millis now_ = 0;
  uint64_t seq_ = 0, steps_ = 0, same_time_steps_ = 0, restarts_ = 0, inserted_ = 0;
  uint64_t hash_ = 0xcbf29ce484222325ull;
  uint64_t max_inflight_seen_ = 0;
  std::vector<Node> nodes_;
  std::map<std::pair<size_t, size_t>, Link> links_;
  std::map<std::pair<size_t, size_t>, uint32_t> blackholed_;
  std::priority_queue<Ev, std::vector<Ev>, Later> queue_;
  std::vector<std::function<void()>> scripts_;
  std::set<size_t> side_;
  std::set<size_t> unlisted_;  // alive but out of signaling (signaling_drop)
  bool partitioned_ = false;
  Frame scratch_;
};

}  // namespace room_sim
