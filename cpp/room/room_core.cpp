#include "room/room_core.h"

#include <algorithm>
#include <utility>

#include "room/mesh.h"

namespace roomsync::room {

struct RoomCore::Payload {
  uint64_t id = 0;
  MsgHeader header;
  Bytes data;
  uint64_t count = 1;       // chunks
  bool own_action = false;  // report sender-side progress
};

namespace {

bool small_kind(MsgKind k) { return k == MsgKind::Presence || k == MsgKind::Typing || k == MsgKind::Bye; }

bool for_me(const MsgHeader& h, const PeerId& self) {
  return h.targets.empty() || std::find(h.targets.begin(), h.targets.end(), self) != h.targets.end();
}

// The largest chunk header a peer may send, so chunk_bytes leaves room for it in a frame.
uint64_t max_header_bytes(const Limits& l) {
  uint64_t id = uint64_t{l.max_peer_id_bytes} + 10;
  return 64 + id + (l.max_action_name_bytes + 10) + (l.max_metadata_bytes + 10) + uint64_t{l.max_targets} * id;
}

}  // namespace

RoomCore::RoomCore(Config cfg, DocPort& doc, Millis now)
    : cfg_(std::move(cfg)), doc_(doc), rng_(cfg_.seed ^ fnv1a64(cfg_.self)), now_(now) {
  Limits& l = cfg_.limits;
  if (cfg_.max_direct_peers < 2) cfg_.max_direct_peers = 2;
  if (l.max_frame_bytes < 1024) l.max_frame_bytes = 1024;
  // Every frame must fit max_frame_bytes, header included.
  uint64_t room = l.max_frame_bytes > max_header_bytes(l) + 64 ? l.max_frame_bytes - max_header_bytes(l) - 64 : 256;
  if (l.chunk_bytes == 0 || l.chunk_bytes > room) l.chunk_bytes = static_cast<uint32_t>(std::max<uint64_t>(256, room));
  if (l.max_reassembly_bytes_per_peer < l.max_message_bytes) l.max_reassembly_bytes_per_peer = l.max_message_bytes;
  if (l.max_partials_per_peer < 2) l.max_partials_per_peer = 2;
  session_ = new_id();
  next_heartbeat_ = now_ + jitter(cfg_.heartbeat);
  next_anti_entropy_ = now_ + jitter(cfg_.anti_entropy_every);
}

RoomCore::~RoomCore() = default;

// --- small helpers ----------------------------------------------------------------------------

void RoomCore::clamp(Millis now) {
  // No input for over a ping period: we were not running (a busy or starved process), so the
  // silence of links over that time says nothing about the peers (see tree_targets).
  if (now > now_ + cfg_.ping_every) woke_ = now;
  now_ = std::max(now_, now);
}

uint64_t RoomCore::new_id() {
  uint64_t v = 0;
  while (v == 0) v = rng_.next() & kMaxId;
  return v;
}

Millis RoomCore::jitter(Millis base) {  // base ± 10%
  if (base <= 10) return std::max<Millis>(base, 1);
  return base - base / 10 + static_cast<Millis>(rng_.below(static_cast<uint64_t>(base / 5) + 1));
}

Output& RoomCore::push(OutKind kind, const PeerId& peer) {
  Output& o = out_.emplace_back();
  o.kind = kind;
  o.peer = peer;
  return o;
}

void RoomCore::emit_error(const PeerId& peer, std::string code, std::string message) {
  Output& o = push(OutKind::ProtocolError, peer);
  o.code = std::move(code);
  o.message = std::move(message);
}

RoomCore::Peer* RoomCore::find(const PeerId& id) {
  auto it = peers_.find(id);
  return it == peers_.end() ? nullptr : &it->second;
}

RoomCore::Peer* RoomCore::ensure(const PeerId& id) {
  Peer& p = peers_[id];
  p.id = id;
  return &p;
}

bool RoomCore::usable(const PeerId& id) const {
  return !id.empty() && id.size() <= cfg_.limits.max_peer_id_bytes && id != cfg_.self;
}

void RoomCore::remember(uint64_t id) {
  if (cfg_.limits.dedup_entries == 0 || !dedup_set_.emplace(id, false).second) return;
  dedup_order_.push_back(id);
  while (dedup_order_.size() > cfg_.limits.dedup_entries) {
    dedup_set_.erase(dedup_order_.front());
    dedup_order_.pop_front();
  }
}

// Peers that left, were dropped or closed are erased only at the end of a public call, so
// references held further up the stack stay valid while a frame is being handled.
void RoomCore::gc() {
  reap_unlisted();
  for (auto it = peers_.begin(); it != peers_.end();) {
    const Peer& p = it->second;
    if (!p.member && !p.banned && p.conn == Conn::Idle && p.partials.empty()) it = peers_.erase(it);
    else ++it;
  }
}

// --- peers and connections ----------------------------------------------------------------------

void RoomCore::violation(Peer& p, std::string code, std::string message, bool ban) {
  ++stats_.violations;
  emit_error(p.id, code, std::move(message));
  if (ban) p.banned = true;
  close(p, code.c_str(), true);
}

void RoomCore::garbage(Peer& p, const std::string& message) {
  ++stats_.garbage;
  if (++p.garbage > cfg_.limits.max_garbage_frames) {
    violation(p, "garbage", std::to_string(p.garbage) + " undecodable frames in a row (" + message + ")", false);
    return;
  }
  if (p.garbage_reported < 0 || now_ - p.garbage_reported >= cfg_.garbage_report_every) {
    p.garbage_reported = now_;
    emit_error(p.id, "garbage", message);
  }
}

void RoomCore::close(Peer& p, const char* reason, bool emit_disconnect) {
  if (p.conn == Conn::Idle) return;
  const bool was_open = p.conn == Conn::Open;
  p.conn = Conn::Idle;
  if (emit_disconnect) {
    Output& o = push(OutKind::Disconnect, p.id);
    o.code = reason;
  }
  for (const OutMsg& m : p.bulk) {
    if (!m.p->own_action) continue;
    Output& o = push(OutKind::ActionAbort, p.id);
    o.id = m.p->id;
  }
  p.control.clear();
  p.data.clear();
  p.bulk.clear();
  p.queued = p.buffered = p.control_bytes = 0;
  p.sync_replies = 0;
  reassembly_total_ -= p.partial_bytes;
  p.partials.clear();
  p.partial_bytes = 0;
  if (p.synced) {
    p.synced = false;
    push(OutKind::Synced, p.id);
  }
  p.sync_pending = p.sync_deferred = p.needs_resync = p.hello = p.ping_outstanding = false;
  p.garbage = 0;
  ++p.failures;
  Millis delay = cfg_.redial_max;
  if (p.failures < 16) delay = std::min<Millis>(cfg_.redial_max, cfg_.redial_min << (p.failures - 1));
  p.redial_at = now_ + delay + static_cast<Millis>(rng_.below(static_cast<uint64_t>(delay / 4) + 1));
  if (sync_inflight_ == p.id) {
    sync_inflight_.clear();
    next_deferred_sync();
  }
  if (was_open) open_peers_changed();
}

void RoomCore::open_peers_changed() {
  bool any_open = false, any_member = false;
  for (const auto& [id, p] : peers_) {
    any_open |= p.conn == Conn::Open;
    any_member |= p.member && !p.banned && p.listed;  // unlisted without a channel: about to go
  }
  // Offline with others in the room: what we have may be stale until a peer answers a Sync1.
  if (!any_open && any_member) set_room_synced(false);
}

void RoomCore::forget(const PeerId& id, const char* reason) {
  if (Peer* p = find(id)) {
    // Membership ends before the channel closes: losing the last peer is being alone (synced),
    // not going offline, so no Synced(false) flickers out in between.
    const bool was_member = p->member;
    p->member = p->listed = p->banned = false;
    close(*p, reason, true);
    if (was_member) {
      Output& o = push(OutKind::PeerDown, id);
      o.code = reason;
    }
  }
  auto r = remote_.find(id);
  if (r != remote_.end()) {
    expire_remote(id, r->second);
    remote_.erase(r);
  }
  departed_.push_back(id);
  while (departed_.size() > cfg_.limits.departed_entries) departed_.pop_front();
  bool any_member = false;
  for (const auto& [pid, q] : peers_) any_member |= q.member && !q.banned;
  if (!any_member) set_room_synced(true);  // alone again: nothing to catch up with
  retopologize();
}

// Members that left signaling stay while their channel is open; once it is gone, so are they.
void RoomCore::reap_unlisted() {
  for (bool again = true; again && !left_;) {
    again = false;
    for (auto& [id, p] : peers_) {
      if (p.member && !p.listed && p.conn != Conn::Open) {
        forget(PeerId(id), "left");  // may close others (topology): look again
        again = true;
        break;
      }
    }
  }
}

bool RoomCore::departed(const PeerId& id) const {
  auto it = peers_.find(id);
  if (it != peers_.end() && it->second.banned) return true;
  return std::find(departed_.begin(), departed_.end(), id) != departed_.end();
}

void RoomCore::dial(Peer& p) {
  p.conn = Conn::Dialing;
  p.dial_started = now_;
  // Perfect negotiation roles agree on both sides: the smaller id is polite (as PeerTransport's
  // defaultPolite in js/room/transport.js).
  push(OutKind::Connect, p.id).flag = cfg_.self < p.id;
}

void RoomCore::retopologize() {
  if (left_) return;
  std::vector<PeerId> members;
  for (const auto& [id, p] : peers_)
    if (p.member && !p.banned) members.push_back(id);
  std::vector<PeerId> want = choose_neighbors(cfg_.self, members, cfg_.max_direct_peers);
  uint32_t open = 0;
  for (auto& [id, p] : peers_) {
    p.want = std::binary_search(want.begin(), want.end(), id);
    if (p.want && p.conn == Conn::Idle && !p.banned && now_ >= p.redial_at) dial(p);
    if (!p.want && p.conn == Conn::Dialing) close(p, "topology", true);
    if (p.conn == Conn::Open) ++open;
  }
  // Unwanted links are cut only above the cap: member lists may briefly differ between peers.
  for (auto it = peers_.rbegin(); it != peers_.rend() && open > cfg_.max_direct_peers; ++it) {
    Peer& p = it->second;
    if (p.conn == Conn::Open && !p.want) {
      schedule_repair();  // frames in flight on it are lost
      close(p, "topology", true);
      --open;
    }
  }
}

bool RoomCore::reach_all() const {
  for (const auto& [id, p] : peers_)
    if (p.member && !p.banned && p.conn != Conn::Open) return false;
  return true;
}

void RoomCore::peer_joined(const PeerId& peer, Millis now) {
  clamp(now);
  if (left_) return;
  if (!usable(peer)) {
    emit_error(peer.substr(0, cfg_.limits.max_peer_id_bytes), "bad-peer-id", "unusable peer id from signaling");
    return;
  }
  Peer* p = find(peer);
  if (p && p->member) {
    p->listed = true;  // back in signaling (it reconnected, or the server restarted)
    return;
  }
  if (!p) {
    if (peers_.size() >= cfg_.limits.max_peers) {
      emit_error(peer, "too-many-peers", "peer table full (" + std::to_string(cfg_.limits.max_peers) + ")");
      return;
    }
    p = ensure(peer);
  }
  p->member = p->listed = true;
  p->banned = false;
  departed_.erase(std::remove(departed_.begin(), departed_.end(), peer), departed_.end());
  push(OutKind::PeerUp, peer);
  retopologize();
  gc();
}

void RoomCore::peer_left(const PeerId& peer, Millis now) {
  clamp(now);
  if (left_) return;
  Peer* p = find(peer);
  if (p && p->member && p->conn == Conn::Open) {
    // Gone from signaling only (a server restart, its reconnect): the channel still works, so
    // the peer stays until bye, the channel closing, or peer_timeout.
    p->listed = false;
  } else if (p || remote_.count(peer)) {
    forget(peer, "left");
  }
  gc();
}

void RoomCore::peers_listed(Millis now) {
  clamp(now);
  if (left_) return;
  bool any_member = false;
  for (const auto& [id, p] : peers_) any_member |= p.member && !p.banned;
  if (!any_member) set_room_synced(true);
}

void RoomCore::channel_open(const PeerId& peer, Millis now) {
  clamp(now);
  auto refuse = [&](const char* why) {
    Output& o = push(OutKind::Disconnect, peer);
    o.code = why;
  };
  if (left_) return refuse("left");
  if (!usable(peer)) return refuse("bad-peer-id");
  Peer* p = find(peer);
  if (!p) {
    if (peers_.size() >= cfg_.limits.max_peers) return refuse("too-many-peers");
    p = ensure(peer);
  }
  if (p->banned) return refuse("banned");
  // A new channel replaces an old one (the peer restarted or renegotiated): start afresh.
  if (p->conn == Conn::Open) close(*p, "replaced", false);
  p->conn = Conn::Open;
  p->failures = 0;
  p->last_heard = now_;
  p->next_ping = now_ + jitter(cfg_.ping_every);
  p->buffered = 0;
  p->garbage = 0;
  enqueue_control(*p, encode_hello(doc_.client_id(), session_));
  // Tell the new neighbour who we are right away (presence, typing) instead of at the next
  // heartbeat; hops 0: it is for this peer only.
  {
    MsgHeader h;
    h.kind = MsgKind::Presence;
    h.session = session_;
    h.seq = presence_seq_;
    h.total_len = presence_.size();
    uint64_t id = new_id();
    remember(id);
    enqueue_msg(*p, make_msg(id, std::move(h), presence_, false), false);
  }
  if (typing_sent_until_ > now_) {
    MsgHeader h;
    h.kind = MsgKind::Typing;
    h.session = session_;
    h.ttl = static_cast<uint64_t>(typing_sent_until_ - now_);
    uint64_t id = new_id();
    remember(id);
    enqueue_msg(*p, make_msg(id, std::move(h), {}, false), false);
  }
  maybe_request_sync(*p);
  retopologize();
  gc();
}

void RoomCore::channel_closed(const PeerId& peer, Millis now) {
  clamp(now);
  if (left_) return;
  if (Peer* p = find(peer)) {
    if (p->conn == Conn::Open) schedule_repair();
    close(*p, "closed", false);
  }
  retopologize();
  gc();
}

void RoomCore::channel_buffered(const PeerId& peer, uint64_t bytes, Millis now) {
  clamp(now);
  Peer* p = find(peer);
  if (!p || p->conn != Conn::Open) return;
  p->buffered = bytes;
  if (p->needs_resync && p->queued <= cfg_.limits.max_outbound_bytes_per_peer / 2) {
    p->needs_resync = false;
    request_sync(*p, true);
  }
}

void RoomCore::frames_lost(const PeerId& peer, Millis now) {
  clamp(now);
  Peer* p = find(peer);
  if (left_ || !p || p->conn != Conn::Open || !p->hello) return;
  if (!(p->sync_pending && now_ - p->sync_progress < cfg_.sync_timeout)) request_sync(*p, true);
}

// --- sync -----------------------------------------------------------------------------------------

void RoomCore::set_room_synced(bool s) {
  if (s == room_synced_) return;
  room_synced_ = s;
  Output& o = push(OutKind::Synced, {});
  o.flag = s;
  if (!s) return;
  // Caught up from one peer: now ask the others, who send only what is still missing.
  for (auto& [id, p] : peers_)
    if (p.conn == Conn::Open && p.sync_deferred) request_sync(p, false);
}

void RoomCore::request_sync(Peer& p, bool want_reply) {
  uint64_t request = new_id();
  Bytes frame = encode_sync1(request, want_reply, doc_.state_vector());
  if (frame.size() > cfg_.limits.max_frame_bytes) {
    emit_error(p.id, "sync-too-large", "our state vector does not fit in a frame");
    return;
  }
  p.sync_request = request;
  p.sync_pending = true;
  p.sync_deferred = false;
  p.sync_progress = now_;
  if (!room_synced_ && sync_inflight_.empty()) sync_inflight_ = p.id;
  enqueue_control(p, std::move(frame));
}

void RoomCore::maybe_request_sync(Peer& p) {
  if (room_synced_ || sync_inflight_.empty()) request_sync(p, false);
  else p.sync_deferred = true;
}

void RoomCore::next_deferred_sync() {
  if (room_synced_ || !sync_inflight_.empty()) return;
  for (auto& [id, p] : peers_) {
    if (p.conn == Conn::Open && p.sync_deferred) {
      request_sync(p, false);
      return;
    }
  }
}

// --- sending ---------------------------------------------------------------------------------------

void RoomCore::enqueue_control(Peer& p, Bytes frame) {
  // Drained at every poll, so this only fills up when one input makes a flood (e.g. pings).
  if (!fits(p.control_bytes, frame.size(), cfg_.limits.max_control_bytes_per_peer)) {
    ++stats_.dropped_for_budget;
    return;
  }
  p.control_bytes += frame.size();
  p.control.push_back(std::move(frame));
}

std::shared_ptr<const RoomCore::Payload> RoomCore::make_msg(uint64_t id, MsgHeader h, Bytes data, bool own_action) {
  auto m = std::make_shared<Payload>();
  m->id = id;
  h.total_len = data.size();
  m->header = std::move(h);
  m->data = std::move(data);
  uint64_t cb = cfg_.limits.chunk_bytes;
  m->count = m->data.empty() ? 1 : (m->data.size() + cb - 1) / cb;
  m->own_action = own_action;
  return m;
}

bool RoomCore::enqueue_msg(Peer& p, const std::shared_ptr<const Payload>& msg, bool bulk) {
  if (small_kind(msg->header.kind)) {  // one small chunk: goes out at once, ahead of bulk data
    enqueue_control(p, encode_chunk(msg->id, 0, 1, msg->header, msg->data.data(), msg->data.size()));
    return true;
  }
  if (!fits(p.queued, msg->data.size(), cfg_.limits.max_outbound_bytes_per_peer)) {
    ++stats_.dropped_for_budget;
    return false;
  }
  (bulk ? p.bulk : p.data).push_back(OutMsg{msg, 0});
  p.queued += msg->data.size();
  return true;
}

std::vector<RoomCore::Peer*> RoomCore::open_list() {
  std::vector<Peer*> v;
  for (auto& [id, p] : peers_)
    if (p.conn == Conn::Open) v.push_back(&p);
  return v;
}

// A message that may be relayed lists who has it already: us and the peers we send it to.
void RoomCore::cover(MsgHeader& h, const std::vector<Peer*>& to) const {
  if (h.hops == 0 || h.view != 0) return;  // a tree needs no list: each member gets it once
  auto add = [&](uint32_t v) {
    if (h.covered.size() < kMaxCovered && std::find(h.covered.begin(), h.covered.end(), v) == h.covered.end())
      h.covered.push_back(v);
  };
  add(short_id(cfg_.self));
  for (const Peer* q : to) add(short_id(q->id));
}

void RoomCore::broadcast_small(MsgHeader h, const Bytes& data) {
  h.hops = reach_all() ? 0 : static_cast<uint8_t>(cfg_.limits.max_hops);
  std::vector<Peer*> to = first_hop(h);
  uint64_t id = new_id();
  remember(id);
  auto msg = make_msg(id, std::move(h), data, false);
  for (Peer* p : to) enqueue_msg(*p, msg, false);
}

void RoomCore::pump(Peer& p, bool control_only) {
  auto transmit = [&](Bytes frame, uint8_t lane) {
    ++stats_.frames_out;
    stats_.bytes_out += frame.size();
    p.last_sent = now_;
    p.buffered += frame.size();
    Output& o = push(OutKind::Transmit, p.id);
    o.lane = lane;
    o.bytes = std::move(frame);
  };
  while (!p.control.empty()) {
    p.control_bytes -= p.control.front().size();
    transmit(std::move(p.control.front()), 0);
    p.control.pop_front();
  }
  if (control_only) return;
  const uint64_t cb = cfg_.limits.chunk_bytes;
  while (p.buffered < cfg_.limits.max_inflight_bytes) {
    std::deque<OutMsg>* q = !p.data.empty() ? &p.data : !p.bulk.empty() ? &p.bulk : nullptr;
    if (!q) break;
    OutMsg& m = q->front();
    const Payload& pl = *m.p;
    uint64_t off = m.next_chunk * cb;
    uint64_t n = std::min<uint64_t>(cb, pl.data.size() - off);
    Bytes frame = encode_chunk(pl.id, m.next_chunk, pl.count, pl.header, pl.data.data() + off, n);
    ++m.next_chunk;
    p.queued -= n;
    transmit(std::move(frame), q == &p.data ? 1 : 2);
    if (pl.own_action) {
      Output& o = push(OutKind::ActionProgress, p.id);
      o.id = pl.id;
      o.got = off + n;
      o.total = pl.data.size();
      o.name = pl.header.name;
      o.metadata = pl.header.metadata;
      o.flag = true;
    }
    if (m.next_chunk >= pl.count) {
      if (pl.header.kind == MsgKind::Sync2 && p.sync_replies > 0) --p.sync_replies;
      q->pop_front();
    }
  }
}

void RoomCore::pump_all() {
  for (auto& [id, p] : peers_)
    if (p.conn == Conn::Open) pump(p, false);
}

bool RoomCore::local_update(const uint8_t* update, size_t len, Millis now) {
  clamp(now);
  if (len > cfg_.limits.max_message_bytes) return false;
  if (left_) return true;  // the document keeps it; a later session syncs it
  MsgHeader h;
  h.kind = MsgKind::Update;
  h.hops = reach_all() ? 0 : static_cast<uint8_t>(cfg_.limits.max_hops);
  std::vector<Peer*> to = first_hop(h);
  uint64_t id = new_id();
  remember(id);
  auto msg = make_msg(id, std::move(h), Bytes(update, update + len), false);
  for (Peer* p : to)
    if (!enqueue_msg(*p, msg, false)) p->needs_resync = true;  // it catches up by sync later
  return true;
}

SendResult RoomCore::send_action(std::string_view name, const uint8_t* payload, size_t len,
                                 const std::vector<PeerId>& targets, std::string_view metadata, Millis now) {
  clamp(now);
  const Limits& l = cfg_.limits;
  SendResult r;
  if (left_) return {SendCode::Closed, 0, 0};
  if (name.empty() || name.size() > l.max_action_name_bytes) return {SendCode::BadName, 0, 0};
  if (metadata.size() > l.max_metadata_bytes) return {SendCode::BadMetadata, 0, 0};
  if (len > l.max_message_bytes) return {SendCode::TooLarge, 0, 0};
  if (targets.size() > l.max_targets) return {SendCode::BadTarget, 0, 0};
  std::vector<PeerId> to = targets;
  std::sort(to.begin(), to.end());
  to.erase(std::unique(to.begin(), to.end()), to.end());
  bool direct = !to.empty();
  for (const auto& t : to) {
    if (!usable(t)) return {SendCode::BadTarget, 0, 0};
    const Peer* p = find(t);
    if (!p || p->conn != Conn::Open) direct = false;
  }
  const bool all = reach_all();
  if (!to.empty() && !direct && all) return {SendCode::BadTarget, 0, 0};  // not in the room
  MsgHeader h;
  h.kind = MsgKind::Action;
  h.hops = direct || all ? 0 : static_cast<uint8_t>(l.max_hops);
  std::vector<Peer*> rec;
  if (h.hops > 0) rec = first_hop(h);
  for (auto& [id, p] : peers_)
    if (h.hops == 0 && p.conn == Conn::Open && (!direct || std::binary_search(to.begin(), to.end(), id))) rec.push_back(&p);
  for (Peer* p : rec)
    if (!fits(p->queued, len, l.max_outbound_bytes_per_peer)) return {SendCode::Busy, 0, 0};
  h.name.assign(name.data(), name.size());
  h.metadata.assign(metadata.data(), metadata.size());
  h.targets = to;
  r.id = new_id();
  remember(r.id);
  auto msg = make_msg(r.id, std::move(h), Bytes(payload, payload + len), true);
  for (Peer* p : rec) enqueue_msg(*p, msg, true);
  r.recipients = static_cast<uint32_t>(rec.size());
  return r;
}

bool RoomCore::set_presence(const uint8_t* state, size_t len, Millis now) {
  clamp(now);
  if (left_ || len > cfg_.limits.max_presence_bytes) return false;
  presence_.assign(state, state + len);
  ++presence_seq_;
  MsgHeader h;
  h.kind = MsgKind::Presence;
  h.session = session_;
  h.seq = presence_seq_;
  broadcast_small(std::move(h), presence_);
  return true;
}

void RoomCore::send_typing() {
  MsgHeader h;
  h.kind = MsgKind::Typing;
  h.session = session_;
  h.ttl = typing_until_ > now_ ? static_cast<uint64_t>(typing_until_ - now_) : 0;
  broadcast_small(std::move(h), {});
  typing_sent_at_ = now_;
  typing_sent_until_ = typing_until_;
}

void RoomCore::set_typing(bool typing, Millis now) {
  clamp(now);
  if (left_) return;
  if (typing) {
    typing_until_ = now_ + cfg_.typing_timeout;
    // Receivers clear at the time we send; later keystrokes extend it at the next refresh.
    if (typing_sent_until_ <= now_ || now_ - typing_sent_at_ >= cfg_.typing_refresh) send_typing();
  } else {
    typing_until_ = now_;
    if (typing_sent_until_ > now_) send_typing();
    typing_sent_until_ = 0;
  }
}

void RoomCore::leave(Millis now) {
  clamp(now);
  if (left_) return;
  MsgHeader h;
  h.kind = MsgKind::Bye;
  h.session = session_;
  broadcast_small(std::move(h), {});
  for (auto& [id, p] : peers_)
    if (p.conn == Conn::Open) pump(p, true);  // the bye goes out before the Disconnects
  for (auto& [id, p] : peers_) close(p, "leave", true);
  left_ = true;
}

// --- receiving ---------------------------------------------------------------------------------------

void RoomCore::handle_frame(const PeerId& from, const uint8_t* data, size_t len, Millis now) {
  clamp(now);
  if (left_) return;
  Peer* p = find(from);
  if (!p || p->conn != Conn::Open || p->banned) {
    ++stats_.ignored;  // a late frame from a closed or dropped channel
    return;
  }
  ++stats_.frames_in;
  stats_.bytes_in += len;
  p->last_heard = now_;
  Frame f;
  DecodeResult r = decode_frame(data, len, cfg_.limits, &f);
  switch (r.error) {
    case DecodeError::None: on_frame(*p, f); break;
    case DecodeError::Garbage: garbage(*p, r.message); break;
    case DecodeError::Version: violation(*p, "version", r.message, true); break;
    case DecodeError::Malformed: violation(*p, "malformed", r.message, true); break;
  }
  gc();
}

void RoomCore::on_frame(Peer& p, const Frame& f) {
  p.garbage = 0;
  switch (f.type) {
    case FrameType::Hello: {
      if (p.hello) {
        if (f.a != p.client_id || f.b != p.session) violation(p, "hello-changed", "second hello with other ids", true);
        return;
      }
      if (f.a == doc_.client_id()) {
        violation(p, "duplicate-client-id", "peer uses our document client id " + std::to_string(f.a), true);
        return;
      }
      for (auto& [id, q] : peers_) {
        if (&q != &p && q.conn == Conn::Open && q.hello && q.client_id == f.a) {
          if (q.member && !q.listed) {
            // q left signaling and this peer brings its document: the same replica back under
            // a new peer id. The old link is stale (it goes with it at gc).
            close(q, "replaced", true);
            continue;
          }
          violation(p, "duplicate-client-id", "client id " + std::to_string(f.a) + " already used by " + id, true);
          return;
        }
      }
      p.hello = true;
      p.client_id = f.a;
      p.session = f.b;
      return;
    }
    case FrameType::Sync1: {
      // One reply at a time per peer: a reply still queued already carries what it lacked
      // (later changes follow as updates), and a peer repeating Sync1 cannot make us encode
      // snapshot after snapshot.
      if (p.sync_replies > 0) {
        ++stats_.sync_requests_ignored;
        if ((f.b & 1) && !p.sync_pending) request_sync(p, false);
        return;
      }
      Bytes diff;
      Status s = doc_.encode_state_since(reinterpret_cast<const uint8_t*>(f.bytes.data()), f.bytes.size(), &diff);
      if (!s) {
        violation(p, "bad-state-vector", s.message, true);
        return;
      }
      if (diff.size() > cfg_.limits.max_message_bytes) {
        emit_error(p.id, "sync-too-large", "sync reply of " + std::to_string(diff.size()) + " bytes above limit");
      } else {
        MsgHeader h;
        h.kind = MsgKind::Sync2;
        h.request = f.a;
        if (enqueue_msg(p, make_msg(new_id(), std::move(h), std::move(diff), false), false)) ++p.sync_replies;
        else p.needs_resync = true;
      }
      if ((f.b & 1) && !p.sync_pending) request_sync(p, false);
      return;
    }
    case FrameType::Ping: enqueue_control(p, encode_ping(true, f.a, f.b)); return;
    case FrameType::Pong:
      if (p.ping_outstanding && f.a == p.ping_nonce) {
        p.ping_outstanding = false;
        Output& o = push(OutKind::Rtt, p.id);
        o.value = now_ - p.ping_sent;
      }
      return;
    case FrameType::Chunk: on_chunk(p, f); return;
  }
}

void RoomCore::drop_partial(Peer& p, std::map<uint64_t, Partial>::iterator it) {
  p.partial_bytes -= it->second.reserved;
  reassembly_total_ -= it->second.reserved;
  p.partials.erase(it);
}

void RoomCore::incoming_progress(const Peer& p, uint64_t id, const MsgHeader& h, uint64_t got) {
  // (seen: a flood of an action we had along its tree, passed on without a second report)
  if (h.kind != MsgKind::Action || !for_me(h, cfg_.self) || seen(id)) return;
  PeerId origin = h.origin.empty() ? p.id : h.origin;
  if (departed(origin)) return;
  Output& o = push(OutKind::ActionProgress, origin);
  o.id = id;
  o.got = got;
  o.total = h.total_len;
  o.name = h.name;
  o.metadata = h.metadata;
}

void RoomCore::on_chunk(Peer& p, const Frame& f) {
  const Limits& l = cfg_.limits;
  const uint64_t id = f.a;
  const auto* bytes = reinterpret_cast<const uint8_t*>(f.bytes.data());
  if (f.has_header) {
    const MsgHeader& h = f.header;
    if (p.partials.count(id)) return;  // a repeated first chunk
    // A flood of a message we had along its tree only is not a duplicate: it is passed on once
    // more (see on_message), so a flood started to get around a broken tree reaches everyone.
    auto d = dedup_set_.find(id);
    const bool dup = h.kind != MsgKind::Sync2 && d != dedup_set_.end() && !(d->second && h.hops > 0 && h.view == 0);
    if (f.count == 1) {
      if (f.bytes.size() != h.total_len) {
        violation(p, "chunk-size", "single chunk of " + std::to_string(f.bytes.size()) + " bytes for a message of " +
                                       std::to_string(h.total_len), true);
        return;
      }
      if (dup) {
        ++stats_.duplicates;
        return;
      }
      incoming_progress(p, id, h, h.total_len);
      on_message(p, id, h, Bytes(bytes, bytes + f.bytes.size()));
      return;
    }
    Partial part;
    part.header = h;
    part.count = f.count;
    part.order = ++partial_order_;
    part.started = now_;
    part.skip = dup;
    if (dup) ++stats_.duplicates;
    if (!dup) {
      const uint64_t need = h.total_len;
      // Make room in this peer's budget by dropping its oldest partial messages.
      while (!p.partials.empty() &&
             (p.partials.size() >= l.max_partials_per_peer || !fits(p.partial_bytes, need, l.max_reassembly_bytes_per_peer))) {
        auto oldest = p.partials.begin();
        for (auto it = p.partials.begin(); it != p.partials.end(); ++it)
          if (it->second.order < oldest->second.order) oldest = it;
        drop_partial(p, oldest);
        ++stats_.evicted_partials;
      }
      if (!fits(reassembly_total_, need, l.max_reassembly_bytes_total) ||
          !fits(p.partial_bytes, need, l.max_reassembly_bytes_per_peer)) {
        part.skip = true;
        ++stats_.dropped_for_budget;
        emit_error(p.id, "reassembly-budget", "no room to reassemble a message of " + std::to_string(need) + " bytes");
      } else {
        part.reserved = need;
        p.partial_bytes += need;
        reassembly_total_ += need;
        part.data.reserve(need);  // the budget holds it already; the chunks then never reallocate
        part.data.assign(bytes, bytes + f.bytes.size());
      }
    }
    if (h.kind == MsgKind::Sync2 && p.sync_pending && h.request == p.sync_request) p.sync_progress = now_;
    if (!part.skip) incoming_progress(p, id, h, part.data.size());
    p.partials.emplace(id, std::move(part));
    return;
  }
  auto it = p.partials.find(id);
  if (it == p.partials.end()) {
    ++stats_.ignored;  // the rest of a message whose start was dropped
    return;
  }
  Partial& part = it->second;
  if (f.count != part.count) {
    violation(p, "chunk-count", "chunk count changed within a message", true);
    return;
  }
  if (f.b < part.next) return;  // repeated chunk
  if (f.b > part.next) {        // a gap (only on lossy links): the message is lost
    drop_partial(p, it);
    ++stats_.ignored;
    return;
  }
  ++part.next;
  if (!part.skip) {
    if (!fits(part.data.size(), f.bytes.size(), part.header.total_len)) {
      violation(p, "chunk-size", "chunks exceed the declared message length", true);
      return;
    }
    part.data.insert(part.data.end(), bytes, bytes + f.bytes.size());
    if (part.header.kind == MsgKind::Sync2 && p.sync_pending && part.header.request == p.sync_request)
      p.sync_progress = now_;
    incoming_progress(p, id, part.header, part.data.size());
  }
  if (part.next < part.count) return;
  MsgHeader h = std::move(part.header);
  Bytes data = std::move(part.data);
  const bool skip = part.skip;
  drop_partial(p, it);
  if (skip) return;
  if (data.size() != h.total_len) {
    violation(p, "chunk-size", "message shorter than declared", true);
    return;
  }
  on_message(p, id, h, std::move(data));
}

void RoomCore::on_message(Peer& p, uint64_t id, const MsgHeader& h, Bytes data) {
  if (h.kind == MsgKind::Sync2) {
    const Bytes sv_before = doc_.state_vector();
    Status s = doc_.apply_update(data.data(), data.size());
    if (!s) {
      refused(p, p.id, s);
      return;
    }
    ++stats_.updates_applied;
    push(OutKind::DocChanged, p.id);
    note_hold(p);
    const bool learned = doc_.state_vector() != sv_before;
    // Any reply completes a pending request: one to an older request (when the peer had a
    // reply queued already, it answers only once) carries what we lacked a little earlier,
    // and what came later arrives as updates.
    if (p.sync_pending) {
      p.sync_pending = false;
      if (!p.synced) {
        p.synced = true;
        Output& e = push(OutKind::Synced, p.id);
        e.flag = true;
      }
      if (sync_inflight_ == p.id) sync_inflight_.clear();
      set_room_synced(true);
    }
    // What a sync reply brought was missed by gossip (a partition, a lost channel): our other
    // neighbours may lack it too. Offer them an exchange now, so the repair spreads at network
    // speed instead of one hop per anti-entropy round.
    if (learned && room_synced_) {
      for (auto& [qid, q] : peers_) {
        const bool waiting = q.sync_pending && now_ - q.sync_progress < cfg_.sync_timeout;
        if (&q != &p && q.conn == Conn::Open && q.hello && !waiting) request_sync(q, true);
      }
    }
    return;
  }
  const PeerId origin = h.origin.empty() ? p.id : h.origin;
  if (origin == cfg_.self) {  // our own message, back through the mesh
    ++stats_.duplicates;
    return;
  }
  if (auto d = dedup_set_.find(id); d != dedup_set_.end()) {
    // Had already. Along its tree only (and this is a flood)? Then pass the flood on too.
    if (!d->second || h.hops == 0 || h.view != 0) {
      ++stats_.duplicates;
      return;
    }
    d->second = false;
    relay(p, id, origin, h, data);
    return;
  }
  remember(id);
  if (h.kind != MsgKind::Update && departed(origin)) {
    ++stats_.ignored;  // actions, presence... from a peer that left or was dropped
    return;
  }
  switch (h.kind) {
    case MsgKind::Update: {
      Status s = doc_.apply_update(data.data(), data.size());
      if (!s) {
        refused(p, origin, s);
        return;
      }
      ++stats_.updates_applied;
      push(OutKind::DocChanged, origin);
      note_hold(p);
      break;
    }
    case MsgKind::Action:
      if (for_me(h, cfg_.self)) {
        Output& o = push(OutKind::Action, origin);
        o.id = id;
        o.name = h.name;
        o.metadata = h.metadata;
        if (h.hops > 0) o.bytes = data;  // relayed below
        else o.bytes = std::move(data);  // a large action is not copied once more
      }
      break;
    case MsgKind::Presence: on_presence(origin, h, data); break;
    case MsgKind::Typing: on_typing(origin, h); break;
    case MsgKind::Bye: on_bye(origin, h.session); break;
    case MsgKind::Sync2: break;
  }
  if (h.hops > 0) relay(p, id, origin, h, data);
}

// The document refused an update that came over p's channel (made by `origin`).
void RoomCore::refused(Peer& p, const PeerId& origin, const Status& s) {
  if (s.code == Status::kClientIdCollision) {
    // Ops of our own client id that we never made: some peer shares our client id. The
    // neighbour that passed them on (a relay, or a sync reply holding them) is not at fault.
    emit_error(origin, "duplicate-client-id", s.message + " (via " + p.id + ")");
    ++stats_.garbage;
  } else if (origin == p.id) {
    violation(p, "bad-update", s.message, true);
  } else {  // relayed: the neighbour may be innocent; name the origin, count it on the link
    emit_error(origin, "bad-update", s.message + " (relayed by " + p.id + ")");
    garbage(p, "relayed update refused");
  }
}

void RoomCore::relay(Peer& from, uint64_t id, const PeerId& origin, const MsgHeader& h, const Bytes& data) {
  MsgHeader r = h;
  r.origin = origin;
  r.hops = static_cast<uint8_t>(h.hops - 1);
  std::vector<Peer*> to;
  if (h.view != 0 && h.view == view_fp() && tree_targets(origin, &from, &to)) {
    // A flood of it, should one come, goes on from here too.
    if (auto d = dedup_set_.find(id); d != dedup_set_.end()) d->second = true;
  } else {
    // Flooding: only to neighbours nobody upstream has sent it to (the covered list), so a
    // flood does not cross every link of the mesh twice.
    r.view = 0;
    for (auto& [pid, q] : peers_) {
      if (q.conn != Conn::Open || &q == &from || pid == origin) continue;
      if (std::find(r.covered.begin(), r.covered.end(), short_id(pid)) != r.covered.end()) continue;
      to.push_back(&q);
    }
  }
  if (to.empty()) return;
  cover(r, to);
  auto msg = make_msg(id, std::move(r), data, false);
  for (Peer* q : to) {
    if (enqueue_msg(*q, msg, h.kind == MsgKind::Action)) ++stats_.relayed;
    else if (h.kind == MsgKind::Update) q->needs_resync = true;
  }
}

// --- spanning-tree gossip ------------------------------------------------------------------------

uint32_t RoomCore::view_fp() {
  uint64_t sum = fnv1a64(cfg_.self);
  for (const auto& [id, p] : peers_)
    if (p.member && !p.banned) sum += fnv1a64(id);
  if (sum != view_sum_ || view_ids_.empty()) {
    view_sum_ = sum;
    view_ids_ = {cfg_.self};
    for (const auto& [id, p] : peers_)
      if (p.member && !p.banned) view_ids_.push_back(id);
    std::sort(view_ids_.begin(), view_ids_.end());
    view_graph_ = mesh_graph(view_ids_, cfg_.max_direct_peers);
  }
  const uint32_t fp = static_cast<uint32_t>(sum ^ (sum >> 32));
  return fp ? fp : 1;  // 0 means flooding on the wire
}

// Our children in origin's tree over the mesh of our member list, plus open channels to peers
// not in that list yet (as leaves). False when a child's link is not open, or has gone silent
// while we were running and signaling lost the peer too (a peer that left, not connected yet,
// or dead): the caller floods.
bool RoomCore::tree_targets(const PeerId& origin, const Peer* from, std::vector<Peer*>* to) {
  auto index = [&](const PeerId& id) {
    auto it = std::lower_bound(view_ids_.begin(), view_ids_.end(), id);
    return it != view_ids_.end() && *it == id ? static_cast<uint32_t>(it - view_ids_.begin()) : UINT32_MAX;
  };
  const uint32_t o = index(origin), me = index(cfg_.self);
  if (o == UINT32_MAX || me == UINT32_MAX) return false;
  std::vector<Peer*> v;
  for (uint32_t c : tree_children(view_graph_, o, me)) {
    Peer* q = find(view_ids_[c]);
    if (!q || q->conn != Conn::Open) return false;
    // Silence alone is no death: a starved or busy process (seconds on a loaded machine) gets
    // what we sent once it runs again. A dead one is also gone from signaling (listed false).
    if (!q->listed && now_ - std::max(q->last_heard, woke_) >= 3 * cfg_.ping_every) return false;
    v.push_back(q);
  }
  for (auto& [id, q] : peers_)
    if (q.conn == Conn::Open && (!q.member || q.banned) && &q != from) v.push_back(&q);
  *to = std::move(v);
  return true;
}

// A neighbour's link went down: what it was passing on along trees (frames in flight, or sent
// into a dead link) may have missed us or those below it. Beyond the full mesh, exchange state
// vectors with our other neighbours once the gossip in flight has settled (what that brings
// spreads further, see on_message), rather than at the next anti-entropy round.
void RoomCore::schedule_repair() {
  uint32_t members = 0;
  for (const auto& [id, q] : peers_) members += q.member && !q.banned;
  if (members > cfg_.max_direct_peers) repair_at_ = std::max(repair_at_, now_ + cfg_.repair_delay);
}

// The document holds ops whose parents are missing: reordering across paths, or frames lost in
// flight (a link that went down, a route that was switched) while later updates got through.
// Nothing else would ask for the missing part before the next anti-entropy round (~10 s), so a
// hold that grew is asked for once hold_grace has passed without it resolving (repair_hold).
void RoomCore::note_hold(const Peer& from) {
  const size_t held = doc_.held_ops();
  if (held == 0) {
    hold_at_ = 0;
  } else if (held > held_ && hold_at_ == 0) {
    hold_at_ = now_ + cfg_.hold_grace;
    hold_from_ = from.id;
  }
  held_ = held;
}

// Asks the peer that sent the held ops (it had their parents, or gets them from its own
// neighbours), else any neighbour, for a sync exchange: at most one request per peer pending.
void RoomCore::repair_hold() {
  hold_at_ = 0;
  if (doc_.held_ops() == 0) return;
  Peer* p = find(hold_from_);
  if (!p || p->conn != Conn::Open || !p->hello) {
    p = nullptr;
    for (auto& [id, q] : peers_) {
      if (q.conn == Conn::Open && q.hello) {
        p = &q;
        break;
      }
    }
  }
  const bool waiting = p && p->sync_pending && now_ - p->sync_progress < cfg_.sync_timeout;
  // Catching up (one snapshot at a time), offline, or a reply pending: what that brings may
  // resolve the hold; if it leaves ops held, the hold starts afresh.
  if (!room_synced_ || !p || waiting) held_ = 0;
  else request_sync(*p, true);
}

std::vector<RoomCore::Peer*> RoomCore::first_hop(MsgHeader& h) {
  std::vector<Peer*> to;
  if (h.hops > 0 && (h.view = view_fp()) && tree_targets(cfg_.self, nullptr, &to)) return to;
  h.view = 0;
  to = open_list();
  cover(h, to);
  return to;
}

RoomCore::RemoteState* RoomCore::remote(const PeerId& origin) {
  auto it = remote_.find(origin);
  if (it != remote_.end()) return &it->second;
  if (remote_.size() >= cfg_.limits.max_peers) return nullptr;
  return &remote_[origin];
}

void RoomCore::on_presence(const PeerId& origin, const MsgHeader& h, const Bytes& state) {
  RemoteState* r = remote(origin);
  if (!r) return;
  const bool same_session = r->present && r->session == h.session;
  if (same_session && h.seq < r->seq) return;  // an older state, overtaken on another path
  if (!same_session || h.seq > r->seq) {
    r->session = h.session;
    r->seq = h.seq;
    r->state = state;
    r->present = true;
    Output& o = push(OutKind::Presence, origin);
    o.bytes = state;
    o.flag = true;
  }
  r->expires = now_ + cfg_.presence_ttl;
}

void RoomCore::on_typing(const PeerId& origin, const MsgHeader& h) {
  RemoteState* r = remote(origin);
  if (!r) return;
  if (h.ttl == 0) {
    r->typing_until = 0;
    if (r->typing) {
      r->typing = false;
      push(OutKind::Typing, origin);
    }
    return;
  }
  r->typing_until = now_ + static_cast<Millis>(h.ttl);
  if (!r->typing) {
    r->typing = true;
    Output& o = push(OutKind::Typing, origin);
    o.flag = true;
  }
}

void RoomCore::on_bye(const PeerId& origin, uint64_t session) {
  // A bye from an older session of a peer that is back already changes nothing.
  if (const Peer* p = find(origin); p && p->hello && p->session != session) return;
  auto r = remote_.find(origin);
  if (r != remote_.end() && r->second.present && r->second.session != session) return;
  forget(origin, "bye");
}

void RoomCore::expire_remote(const PeerId& origin, RemoteState& r) {
  if (r.typing) {
    r.typing = false;
    push(OutKind::Typing, origin);
  }
  if (r.present) {
    r.present = false;
    r.state.clear();
    push(OutKind::Presence, origin);
  }
}

// --- time ----------------------------------------------------------------------------------------------

void RoomCore::handle_timeout(Millis now) {
  clamp(now);
  if (left_) return;
  for (auto& [id, p] : peers_) {
    if (p.conn == Conn::Dialing && now_ - p.dial_started >= cfg_.connect_timeout) {
      close(p, "connect-timeout", true);
      continue;
    }
    if (p.conn != Conn::Open) continue;
    if (now_ - p.last_heard >= cfg_.peer_timeout) {
      schedule_repair();
      close(p, "timeout", true);
      continue;
    }
    // A link that carried our frames within half a period keeps the other side's peer_timeout
    // fed already (and its pings keep ours): then a ping is only due as an RTT probe, now and then.
    const bool busy = now_ - p.last_sent < cfg_.ping_every / 2 && now_ - p.ping_sent < 5 * cfg_.ping_every;
    if (now_ >= p.next_ping && (!busy || p.ping_nonce == 0)) {
      p.ping_nonce = new_id();
      p.ping_sent = now_;
      p.ping_outstanding = true;
      enqueue_control(p, encode_ping(false, p.ping_nonce, static_cast<uint64_t>(std::max<Millis>(now_, 0))));
    }
    if (now_ >= p.next_ping) p.next_ping = now_ + jitter(cfg_.ping_every);
    for (auto it = p.partials.begin(); it != p.partials.end();) {
      auto cur = it++;
      if (now_ - cur->second.started >= cfg_.reassembly_timeout) drop_partial(p, cur);
    }
    if (p.needs_resync && p.queued <= cfg_.limits.max_outbound_bytes_per_peer / 2) {
      p.needs_resync = false;
      request_sync(p, true);
    }
  }
  if (!sync_inflight_.empty()) {
    Peer* p = find(sync_inflight_);
    if (!p || now_ - p->sync_progress >= cfg_.sync_timeout) {
      sync_inflight_.clear();  // a late reply still counts; meanwhile ask someone else
      next_deferred_sync();
    }
  }
  for (auto it = remote_.begin(); it != remote_.end();) {
    RemoteState& r = it->second;
    if (r.typing && now_ >= r.typing_until) {
      r.typing = false;
      push(OutKind::Typing, it->first);
    }
    if (r.present && now_ >= r.expires) expire_remote(it->first, r);
    if (!r.present && !r.typing) it = remote_.erase(it);
    else ++it;
  }
  bool any_open = false;
  for (const auto& [id, p] : peers_) any_open |= p.conn == Conn::Open;
  if (now_ >= next_heartbeat_) {
    if (any_open) {
      MsgHeader h;
      h.kind = MsgKind::Presence;
      h.session = session_;
      h.seq = presence_seq_;
      broadcast_small(std::move(h), presence_);
    }
    next_heartbeat_ = now_ + jitter(cfg_.heartbeat);
  }
  if (hold_at_ && now_ >= hold_at_) repair_hold();
  if (repair_at_ && now_ >= repair_at_) {
    repair_at_ = 0;
    for (auto& [id, p] : peers_) {
      const bool waiting = p.sync_pending && now_ - p.sync_progress < cfg_.sync_timeout;
      if (p.conn == Conn::Open && p.hello && !waiting) request_sync(p, true);
    }
  }
  if (now_ >= next_anti_entropy_) {
    // Round robin over open peers: ask one for what we lack, and offer what it lacks.
    Peer* pick = nullptr;
    for (auto& [id, p] : peers_) {
      const bool waiting = p.sync_pending && now_ - p.sync_progress < cfg_.sync_timeout;
      if (p.conn != Conn::Open || !p.hello || waiting) continue;
      if (!pick) pick = &p;  // wrap around
      if (id > anti_entropy_cursor_) {
        pick = &p;
        break;
      }
    }
    if (pick) {
      anti_entropy_cursor_ = pick->id;
      request_sync(*pick, true);
    }
    next_anti_entropy_ = now_ + jitter(cfg_.anti_entropy_every);
  }
  if (typing_until_ > typing_sent_until_ && typing_until_ > now_ && now_ - typing_sent_at_ >= cfg_.typing_refresh)
    send_typing();
  retopologize();
  gc();
}

std::optional<Millis> RoomCore::poll_timeout() const {
  if (left_) return std::nullopt;
  Millis t = std::min(next_heartbeat_, next_anti_entropy_);
  const char* why = t == next_heartbeat_ ? "heartbeat" : "anti-entropy";
  auto consider = [&](Millis at, const char* reason) {
    if (at < t) {
      t = at;
      why = reason;
    }
  };
  for (const auto& [id, p] : peers_) {
    switch (p.conn) {
      case Conn::Dialing: consider(p.dial_started + cfg_.connect_timeout, "connect-timeout"); break;
      case Conn::Idle:
        if (p.want && !p.banned) consider(p.redial_at, "redial");
        break;
      case Conn::Open:
        consider(p.last_heard + cfg_.peer_timeout, "peer-timeout");
        consider(p.next_ping, "ping");
        for (const auto& [mid, part] : p.partials) consider(part.started + cfg_.reassembly_timeout, "reassembly");
        break;
    }
  }
  if (!sync_inflight_.empty()) {
    auto it = peers_.find(sync_inflight_);
    consider(it == peers_.end() ? now_ : it->second.sync_progress + cfg_.sync_timeout, "sync-timeout");
  }
  for (const auto& [id, r] : remote_) {
    if (r.present) consider(r.expires, "presence-ttl");
    if (r.typing) consider(r.typing_until, "typing");
  }
  if (typing_until_ > typing_sent_until_ && typing_until_ > now_)
    consider(typing_sent_at_ + cfg_.typing_refresh, "typing-refresh");
  if (repair_at_) consider(repair_at_, "repair");
  if (hold_at_) consider(hold_at_, "held-ops");
  timeout_reason_ = why;
  return std::max(t, now_);
}

std::optional<Output> RoomCore::poll_output() {
  if (out_.empty()) pump_all();
  if (out_.empty()) return std::nullopt;
  Output o = std::move(out_.front());
  out_.pop_front();
  return o;
}

// --- inspection ------------------------------------------------------------------------------------------

Stats RoomCore::stats() const {
  Stats s = stats_;
  s.reassembly_bytes = reassembly_total_;
  for (const auto& [id, p] : peers_) {
    s.max_peer_reassembly = std::max(s.max_peer_reassembly, p.partial_bytes);
    s.max_peer_outbound = std::max(s.max_peer_outbound, p.queued);
    s.max_peer_control = std::max(s.max_peer_control, p.control_bytes);
    if (p.conn == Conn::Open) ++s.open_channels;
  }
  s.peers = static_cast<uint32_t>(peers_.size());
  return s;
}

std::vector<PeerId> RoomCore::members() const {
  std::vector<PeerId> out;
  for (const auto& [id, p] : peers_)
    if (p.member) out.push_back(id);
  return out;
}

std::vector<PeerId> RoomCore::open_peers() const {
  std::vector<PeerId> out;
  for (const auto& [id, p] : peers_)
    if (p.conn == Conn::Open) out.push_back(id);
  return out;
}

bool RoomCore::peer_synced(const PeerId& peer) const {
  auto it = peers_.find(peer);
  return it != peers_.end() && it->second.synced;
}

std::optional<Bytes> RoomCore::presence_of(const PeerId& peer) const {
  auto it = remote_.find(peer);
  if (it == remote_.end() || !it->second.present) return std::nullopt;
  return it->second.state;
}

}  // namespace roomsync::room
