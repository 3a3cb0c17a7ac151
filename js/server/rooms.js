// Rooms: who is in which room (local members + presence of the whole cluster) and the
// routing of signal / broadcast / relay messages between peers.

import { encode, encodeBinaryPush, encodeRelayEnvelope } from './protocol.js';
import { PresenceTracker } from './presence.js';

class Room {
  constructor(name) {
    this.name = name;
    this.topic = `room:${name}`;
    this.tracker = new PresenceTracker();
    this.local = new Map(); // peer_id -> member
    this.ready = null; // Promise: subscribed to the bus and merged the remote snapshot
    this.pending = 0; // joins waiting for `ready`
  }
}

/**
 * A member is one joined channel: { peerId, userId, meta, conn, joinRef, topic }.
 * `conn` offers sendText(str) and sendBinary(buf).
 */
export class Rooms {
  constructor({ bus, logger, metrics }) {
    this.bus = bus;
    this.log = logger;
    this.metrics = metrics;
    this.rooms = new Map();
    bus.onMessage = (msg) => this.#onBusMessage(msg);
    bus.onNodeDown = (node) => this.#onNodeDown(node);
    bus.remoteNodes = () => {
      const s = new Set();
      for (const r of this.rooms.values()) for (const n of r.tracker.nodes()) if (n !== bus.nodeId) s.add(n);
      return s;
    };
    bus.onReannounce = () => {
      for (const r of this.rooms.values()) for (const m of r.local.values()) bus.announceJoin(r.name, m.userId, m.meta);
    };
  }

  get size() {
    return this.rooms.size;
  }

  #room(name) {
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(name);
      this.rooms.set(name, room);
      room.ready = this.bus.subscribeRoom(name).then(({ entries, flush }) => {
        for (const e of entries) {
          // The snapshot arrives before any local member joined, so no diff needs pushing.
          room.tracker.add(e.key, e.meta, e.node);
        }
        flush();
      });
      room.ready.catch((err) => {
        this.log.error('room subscribe failed', { room: name, err: err.message });
        if (this.rooms.get(name) === room) this.rooms.delete(name);
      });
    }
    return room;
  }

  /**
   * Adds a member; resolves { peers } (the other peer ids) once its presence is tracked.
   * `resume` asks to keep a previous peer id: granted when no peer of the room (on any process)
   * has it, or when it belongs to a local member of the same user — a connection the server has
   * not yet noticed is dead — which is then replaced (its channel gets phx_close) in one diff.
   */
  async join(roomName, member, resume = null) {
    const room = this.#room(roomName);
    room.pending++;
    try {
      await room.ready;
    } finally {
      room.pending--;
    }
    if (this.rooms.get(roomName) !== room) throw new Error('room went away during join');
    if (member.conn.closed) {
      this.#maybeDrop(room);
      throw new Error('connection closed during join');
    }
    let replaced = null;
    if (resume && resume !== member.peerId) {
      const entry = room.tracker.get(resume);
      const old = room.local.get(resume);
      if (!entry || (old && old.userId === member.userId && old.conn !== member.conn)) {
        member.peerId = resume;
        member.meta.peer_id = resume;
        if (old) {
          replaced = old;
          room.local.delete(old.peerId);
          old.room = null;
          room.tracker.remove(old.peerId);
          this.bus.announceLeave(room.name, old.userId, old.meta);
          old.conn.evict(old);
        }
      }
    }
    const peers = room.tracker.peerIds();
    room.local.set(member.peerId, member);
    member.room = room;
    let diff = room.tracker.add(member.userId, member.meta, this.bus.nodeId);
    if (diff && replaced) diff.leaves = { [replaced.userId]: { metas: [replaced.meta] } };
    this.bus.announceJoin(room.name, member.userId, member.meta);
    // Phoenix order: the join reply first (sent by the caller), then presence_state, then the diff.
    return {
      peers,
      after: () => {
        member.conn.sendText(encode(member.joinRef, null, room.topic, 'presence_state', room.tracker.state()));
        if (diff) this.#fanOut(room, encode(null, null, room.topic, 'presence_diff', diff));
      },
    };
  }

  /** Removes a member (leave, replaced join, or connection end). Idempotent. */
  leave(member) {
    const room = member.room;
    if (!room || room.local.get(member.peerId) !== member) return;
    room.local.delete(member.peerId);
    member.room = null;
    const diff = room.tracker.remove(member.peerId);
    this.bus.announceLeave(room.name, member.userId, member.meta);
    if (diff) this.#fanOut(room, encode(null, null, room.topic, 'presence_diff', diff));
    this.#maybeDrop(room);
  }

  #maybeDrop(room) {
    if (room.local.size > 0 || room.pending > 0 || this.rooms.get(room.name) !== room) return;
    this.rooms.delete(room.name);
    this.bus.unsubscribeRoom(room.name).catch((err) => this.log.warn('unsubscribe failed', { room: room.name, err: err.message }));
  }

  #fanOut(room, text, exceptPeerId) {
    for (const m of room.local.values()) {
      if (m.peerId !== exceptPeerId) m.conn.sendText(text);
    }
  }

  /** Routes `event` with JSON payload to one peer. Returns true if the peer is in the room. */
  sendTo(member, to, event, payload) {
    const room = member.room;
    const target = room && to !== member.peerId && room.tracker.get(to);
    if (!target) return false;
    const local = room.local.get(to);
    if (local) local.conn.sendText(encode(local.joinRef, null, room.topic, event, payload));
    else this.bus.sendToNode(target.node, { t: 'direct', room: room.name, to, event, payload });
    return true;
  }

  /** Routes opaque bytes to one peer as a binary `relay` push. Returns true if the peer is in the room. */
  relayTo(member, to, data) {
    const room = member.room;
    const target = room && to !== member.peerId && room.tracker.get(to);
    if (!target) return false;
    const local = room.local.get(to);
    if (local) local.conn.sendBinary(encodeBinaryPush(local.joinRef, room.topic, 'relay', encodeRelayEnvelope(member.peerId, data)));
    else this.bus.sendToNode(target.node, { t: 'relay', room: room.name, to, from: member.peerId, data: data.toString('base64') });
    return true;
  }

  /** Sends `event` to every other member of the room (all processes). */
  broadcastFrom(member, event, payload) {
    const room = member.room;
    if (!room) return;
    this.#fanOut(room, encode(null, null, room.topic, event, payload), member.peerId);
    if (this.bus.distributed) this.bus.publishRoom(room.name, { t: 'bcast', event, payload, from: member.peerId });
  }

  #onBusMessage(msg) {
    const room = this.rooms.get(msg.room);
    if (!room) return;
    this.metrics.busIn++;
    switch (msg.t) {
      case 'join': {
        const diff = room.tracker.add(msg.key, msg.meta, msg.node);
        if (diff) this.#fanOut(room, encode(null, null, room.topic, 'presence_diff', diff));
        break;
      }
      case 'leave': {
        const entry = room.tracker.get(msg.peer);
        if (!entry || entry.node !== msg.node) break;
        const diff = room.tracker.remove(msg.peer);
        if (diff) this.#fanOut(room, encode(null, null, room.topic, 'presence_diff', diff));
        break;
      }
      case 'bcast':
        this.#fanOut(room, encode(null, null, room.topic, msg.event, msg.payload), msg.from);
        break;
      case 'direct': {
        const m = room.local.get(msg.to);
        if (m) m.conn.sendText(encode(m.joinRef, null, room.topic, msg.event, msg.payload));
        break;
      }
      case 'relay': {
        const m = room.local.get(msg.to);
        if (m) m.conn.sendBinary(encodeBinaryPush(m.joinRef, room.topic, 'relay', encodeRelayEnvelope(msg.from, Buffer.from(msg.data, 'base64'))));
        break;
      }
      default:
        this.log.warn('unknown bus message', { t: msg.t });
    }
  }

  #onNodeDown(node) {
    this.log.warn('node down: dropping its peers', { node });
    for (const room of this.rooms.values()) {
      const refs = [];
      for (const e of room.tracker.byPeer.values()) if (e.node === node) refs.push(e.ref);
      const diff = room.tracker.removeNode(node);
      if (diff) {
        this.#fanOut(room, encode(null, null, room.topic, 'presence_diff', diff));
        this.bus.forgetDead(room.name, refs);
      }
    }
  }

  stats() {
    let members = 0;
    let peers = 0;
    for (const r of this.rooms.values()) {
      members += r.local.size;
      peers += r.tracker.size;
    }
    return { rooms: this.rooms.size, localMembers: members, trackedPeers: peers };
  }
}
