// The room protocol core: a sans-I/O state machine (quinn-proto / str0m style).
//
// Inputs: facts from signaling (peer_joined / peer_left) and from the transport (channel_open,
// channel_closed, channel_buffered, handle_frame), local commands (local_update, send_action,
// set_presence, set_typing, leave) and the time (handle_timeout). Every input carries `now`
// (monotonic ms; time going backwards is clamped). Outputs are pulled with poll_output() until
// it returns nothing; poll_timeout() gives the one deadline at which handle_timeout() is due.
// No clock, socket, thread or unseeded randomness; nothing on the input path throws; ordered
// containers only, so a native and a WebAssembly build produce identical traces.
//
// Protocol, in short (frames in frame.h):
// - Topology: every member the core wants as a neighbour (mesh.h) is dialed with Connect; the
//   glue reports channel_open / channel_closed. Unwanted connections are pruned only above
//   max_direct_peers, so transiently different member lists do not make links flap.
// - On channel open: Hello (doc client id: a peer sharing ours, or another peer's, is refused),
//   then Sync1 (our state vector); the reply Sync2 carries exactly what we lack. Until the room
//   is synced, only one Sync1 is in flight (a late joiner gets the snapshot from ONE peer; the
//   others are asked afterwards and send only what is still missing). Periodic anti-entropy
//   Sync1 rounds repair anything lost; a sync reply that brought something new makes us offer
//   an exchange to our other neighbours at once, so the repair spreads. An update that left ops
//   held for missing parents (lost in flight) makes us ask its sender if they still are held
//   hold_grace later.
// - Updates, actions, presence, typing and bye are messages: chunked, de-duplicated by a random
//   id, relayed (hops > 0) only when the sender could not reach every member directly: along
//   the origin's BFS tree over the mesh while member lists agree and the tree's links are up,
//   else by flooding, not to the peers the message lists as having it already.
// - Membership: signaling's join makes a member; its leave ends a membership only when there is
//   no open channel (else the peer stays until bye, the channel closing, or peer_timeout), so a
//   signaling restart or reconnect does not tear working links down.
// - Synced: per peer when its sync reply is in; for the room when the first reply is in, or
//   nobody else is in the room; not synced while there are others but no open channel.
// - Backpressure: control frames go out at once; updates/sync replies, then actions, only while
//   the channel's bufferedAmount estimate is below Limits::max_inflight_bytes.
// - A frame with a bad checksum is garbage (counted, rate-limited error); a valid frame with
//   bad content, an update the document refuses, or a duplicate client id in a Hello is a
//   violation: ProtocolError + Disconnect, and the peer is ignored until it leaves and joins
//   again. A refused relayed update or a client-id collision reported by the document names
//   the origin and spares the neighbour. The document is never touched by a refused message.
// - Each input applies at most one update to the document and then emits one DocChanged.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "room/doc_port.h"
#include "room/frame.h"
#include "room/limits.h"
#include "room/mesh.h"
#include "room/rng.h"

namespace roomsync::room {

using Millis = int64_t;
using PeerId = std::string;
using Bytes = std::vector<uint8_t>;

struct Config {
  PeerId self;
  uint64_t seed = 1;
  Limits limits;
  uint32_t max_direct_peers = 6;
  Millis heartbeat = 5000;        // presence re-broadcast (liveness for peers beyond the mesh)
  Millis presence_ttl = 15000;    // presence disappears this long after the last heartbeat
  Millis ping_every = 2000;       // RTT probe and keepalive per direct peer
  Millis peer_timeout = 12000;    // silence on an open channel before it is dropped
  Millis connect_timeout = 15000; // Connect without channel_open before giving up
  Millis redial_min = 500;        // backoff after a failed or lost connection
  Millis redial_max = 8000;
  Millis sync_timeout = 15000;    // no progress on a sync reply: ask another peer
  Millis reassembly_timeout = 60000;
  Millis anti_entropy_every = 10000;
  Millis repair_delay = 1000;     // after losing a link beyond the full mesh: resync with the others
  // Ops of a remote update held for missing parents are asked for this long after the hold
  // began, if it has not resolved: reordering across paths (relays, a slower direct link)
  // resolves itself within a few hundred ms, while frames lost in flight never arrive.
  Millis hold_grace = 500;
  Millis typing_timeout = 3000;   // typing clears this long after the last keystroke
  Millis typing_refresh = 1000;
  Millis garbage_report_every = 1000;  // at most one "garbage" ProtocolError per peer per period
};

enum class OutKind : uint8_t {
  Transmit = 1,     // peer, bytes, lane (0 control, 1 data, 2 bulk)
  Connect,          // peer, flag = polite (the smaller id of the pair is polite)
  Disconnect,       // peer, code = reason
  PeerUp,           // peer
  PeerDown,         // peer, code = reason
  Synced,           // peer ("" = the room), flag = synced or not
  DocChanged,       // peer = origin: a remote update was applied to the document
  Action,           // peer = origin, name, bytes, metadata, id
  ActionProgress,   // peer (recipient if flag, else origin), id, got, total, name, metadata, flag = outgoing
  ActionAbort,      // peer (recipient), id: an outgoing action stopped (peer gone)
  Presence,         // peer, bytes = state, flag = present (false: gone)
  Typing,           // peer, flag
  Rtt,              // peer, value = ms
  ProtocolError,    // peer, code, message
};

struct Output {
  OutKind kind = OutKind::Transmit;
  PeerId peer;
  Bytes bytes;
  std::string name;
  std::string metadata;
  std::string code;
  std::string message;
  uint64_t id = 0;
  uint64_t got = 0;
  uint64_t total = 0;
  int64_t value = 0;
  bool flag = false;
  uint8_t lane = 0;
};

enum class SendCode : uint8_t { Ok, Busy, TooLarge, BadName, BadMetadata, BadTarget, Closed };
struct SendResult {
  SendCode code = SendCode::Ok;
  uint64_t id = 0;          // message id (also in ActionProgress events)
  uint32_t recipients = 0;  // direct peers it was queued for (0: nobody to send to now)
};

struct Stats {
  uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0;
  uint64_t garbage = 0, violations = 0, duplicates = 0, relayed = 0, ignored = 0;
  uint64_t dropped_for_budget = 0, evicted_partials = 0, updates_applied = 0, sync_requests_ignored = 0;
  uint64_t reassembly_bytes = 0;      // reserved for messages being reassembled, all peers
  uint64_t max_peer_reassembly = 0;   // the largest per-peer reservation now
  uint64_t max_peer_outbound = 0;     // the largest per-peer queued byte count now
  uint64_t max_peer_control = 0;      // the largest per-peer control queue now
  uint32_t open_channels = 0;
  uint32_t peers = 0;
};

class RoomCore {
 public:
  RoomCore(Config cfg, DocPort& doc, Millis now);
  ~RoomCore();
  RoomCore(const RoomCore&) = delete;
  RoomCore& operator=(const RoomCore&) = delete;

  // --- signaling and transport facts
  void peer_joined(const PeerId& peer, Millis now);
  void peer_left(const PeerId& peer, Millis now);
  // Signaling has listed everyone present at join: alone in the room means synced.
  void peers_listed(Millis now);
  void channel_open(const PeerId& peer, Millis now);
  void channel_closed(const PeerId& peer, Millis now);
  // The channel's bufferedAmount. Report it after sending a batch and on bufferedamountlow.
  void channel_buffered(const PeerId& peer, uint64_t bytes, Millis now);
  // The transport gave up waiting for frames from this peer and went on after them: what they
  // carried is asked for again (a sync exchange) at once, not at the next anti-entropy round.
  void frames_lost(const PeerId& peer, Millis now);
  void handle_frame(const PeerId& from, const uint8_t* data, size_t len, Millis now);

  // --- local commands
  // `update` is what the local document produced for one transaction. Returns false if it is
  // larger than Limits::max_message_bytes (then it travels by sync replies instead).
  bool local_update(const uint8_t* update, size_t len, Millis now);
  // Empty `targets`: everyone. Nothing is queued unless the result is Ok.
  SendResult send_action(std::string_view name, const uint8_t* payload, size_t len,
                         const std::vector<PeerId>& targets, std::string_view metadata, Millis now);
  bool set_presence(const uint8_t* state, size_t len, Millis now);
  void set_typing(bool typing, Millis now);
  void leave(Millis now);

  // --- time and outputs
  void handle_timeout(Millis now);
  std::optional<Output> poll_output();
  std::optional<Millis> poll_timeout() const;

  // --- inspection
  Stats stats() const;
  bool synced() const { return room_synced_; }
  bool left() const { return left_; }
  const PeerId& self() const { return cfg_.self; }
  uint64_t session() const { return session_; }
  std::vector<PeerId> members() const;            // sorted
  std::vector<PeerId> open_peers() const;         // sorted
  bool peer_synced(const PeerId& peer) const;
  std::optional<Bytes> presence_of(const PeerId& peer) const;
  const char* last_timeout_reason() const { return timeout_reason_; }

 private:
  struct Payload;  // an outgoing message, shared by all the peers it is queued for
  struct OutMsg {
    std::shared_ptr<const Payload> p;
    uint64_t next_chunk = 0;
  };
  struct Partial {  // a message being reassembled
    MsgHeader header;
    uint64_t next = 1, count = 0, reserved = 0, order = 0;
    Millis started = 0;
    Bytes data;
    bool skip = false;  // already seen or over budget: swallow the remaining chunks
  };
  enum class Conn : uint8_t { Idle, Dialing, Open };
  struct Peer {
    PeerId id;
    bool member = false, banned = false, want = false;
    // In signaling's peer list. A member that left signaling while its channel is open stays a
    // member (the server restarting or its reconnect is not a departure) until bye, the channel
    // closing, or peer_timeout.
    bool listed = false;
    Conn conn = Conn::Idle;
    Millis dial_started = 0, redial_at = 0;
    uint32_t failures = 0;
    bool hello = false;
    uint64_t client_id = 0, session = 0;
    Millis last_heard = 0, next_ping = 0, ping_sent = 0;
    Millis last_sent = 0;  // our last frame to it (pings are skipped while the link is busy)
    uint64_t ping_nonce = 0;
    bool ping_outstanding = false;
    bool synced = false, sync_pending = false, sync_deferred = false, needs_resync = false;
    uint64_t sync_request = 0;
    Millis sync_progress = 0;
    std::deque<Bytes> control;
    std::deque<OutMsg> data, bulk;
    uint64_t queued = 0, buffered = 0, control_bytes = 0;
    uint32_t sync_replies = 0;  // Sync2 replies queued for this peer, not yet fully sent
    std::map<uint64_t, Partial> partials;
    uint64_t partial_bytes = 0;
    uint32_t garbage = 0;
    Millis garbage_reported = -1;
  };
  struct RemoteState {  // presence and typing of one origin (direct or beyond the mesh)
    uint64_t session = 0, seq = 0;
    Bytes state;
    Millis expires = 0;
    bool present = false;
    Millis typing_until = 0;
    bool typing = false;
  };

  bool usable(const PeerId& id) const;
  bool departed(const PeerId& id) const;
  void gc();
  Peer* find(const PeerId& id);
  Peer* ensure(const PeerId& id);
  void clamp(Millis now);
  uint64_t new_id();
  Millis jitter(Millis base);
  Output& push(OutKind kind, const PeerId& peer);  // a new output, filled in place
  void emit_error(const PeerId& peer, std::string code, std::string message);
  void violation(Peer& p, std::string code, std::string message, bool ban);
  void garbage(Peer& p, const std::string& message);
  void close(Peer& p, const char* reason, bool emit_disconnect);
  void forget(const PeerId& id, const char* reason);
  void reap_unlisted();
  void retopologize();
  void dial(Peer& p);
  bool reach_all() const;
  void open_peers_changed();
  void request_sync(Peer& p, bool want_reply);
  void maybe_request_sync(Peer& p);
  void next_deferred_sync();
  void set_room_synced(bool s);

  void enqueue_control(Peer& p, Bytes frame);
  bool enqueue_msg(Peer& p, const std::shared_ptr<const Payload>& msg, bool bulk);
  std::shared_ptr<const Payload> make_msg(uint64_t id, MsgHeader h, Bytes data, bool own_action);
  std::vector<Peer*> open_list();
  void cover(MsgHeader& h, const std::vector<Peer*>& to) const;
  void broadcast_small(MsgHeader h, const Bytes& data);
  void send_typing();
  void pump(Peer& p, bool control_only);
  void pump_all();

  // --- spanning-tree gossip: beyond the full mesh, a message follows the breadth-first tree of
  // the mesh rooted at its origin while the member lists agree (same view) and every tree link
  // is up; otherwise it floods.
  uint32_t view_fp();  // fingerprint of our member list (self included); rebuilds the graph
  bool tree_targets(const PeerId& origin, const Peer* from, std::vector<Peer*>* to);
  std::vector<Peer*> first_hop(MsgHeader& h);  // where a message of ours goes (sets view, covered)
  void schedule_repair();
  void note_hold(const Peer& from);  // after applying a remote update
  void repair_hold();

  void on_frame(Peer& p, const Frame& f);
  void on_chunk(Peer& p, const Frame& f);
  void on_message(Peer& p, uint64_t id, const MsgHeader& h, Bytes data);
  void refused(Peer& p, const PeerId& origin, const Status& s);
  void relay(Peer& from, uint64_t id, const PeerId& origin, const MsgHeader& h, const Bytes& data);
  void incoming_progress(const Peer& p, uint64_t id, const MsgHeader& h, uint64_t got);
  void on_presence(const PeerId& origin, const MsgHeader& h, const Bytes& state);
  void on_typing(const PeerId& origin, const MsgHeader& h);
  void on_bye(const PeerId& origin, uint64_t session);
  void drop_partial(Peer& p, std::map<uint64_t, Partial>::iterator it);
  void remember(uint64_t id);
  bool seen(uint64_t id) const { return dedup_set_.count(id) != 0; }
  void expire_remote(const PeerId& origin, RemoteState& r);
  RemoteState* remote(const PeerId& origin);

  Config cfg_;
  DocPort& doc_;
  Rng rng_;
  Millis now_;
  uint64_t session_;
  bool left_ = false;
  bool room_synced_ = false;
  PeerId sync_inflight_;  // the peer answering our catch-up Sync1 (empty: none)
  std::map<PeerId, Peer> peers_;
  std::map<PeerId, RemoteState> remote_;
  std::deque<PeerId> departed_;  // recently gone peers (their actions and presence are ignored)
  std::map<uint64_t, bool> dedup_set_;  // message id -> we passed it on along its tree only
  std::deque<uint64_t> dedup_order_;
  std::deque<Output> out_;
  uint64_t partial_order_ = 0;
  uint64_t reassembly_total_ = 0;
  Bytes presence_;
  uint64_t presence_seq_ = 0;
  Millis next_heartbeat_ = 0;
  Millis next_anti_entropy_ = 0;
  PeerId anti_entropy_cursor_;
  Millis typing_until_ = 0, typing_sent_at_ = 0, typing_sent_until_ = 0;
  Stats stats_;
  uint64_t view_sum_ = 0;          // sum of the members' fnv1a64, self included
  std::vector<PeerId> view_ids_;   // the members, self included, sorted
  MeshGraph view_graph_;           // their mesh (indices into view_ids_)
  Millis repair_at_ = 0;           // 0: no repair due (schedule_repair)
  Millis woke_ = 0;                // the first input after a gap of over a ping period
  Millis hold_at_ = 0;             // 0: no held ops to ask for (note_hold)
  size_t held_ = 0;                // ops the document held after the last remote update
  PeerId hold_from_;               // the peer that sent the update that left ops held
  mutable const char* timeout_reason_ = "";
};

}  // namespace roomsync::room
