// One WebSocket connection speaking Phoenix Channels V2: heartbeats, joins, leaves, pushes,
// replies; application events of `room:*` channels (signal, broadcast, relay, comment).

import { randomBytes } from 'node:crypto';
import { EVENTS, ProtocolError, decodeBinary, decodeText, decodeRelayEnvelope, encode, encodeReply } from './protocol.js';

const ROOM_NAME = /^[A-Za-z0-9_.:@+-]{1,128}$/;
const PEER_ID = /^[A-Za-z0-9_-]{1,64}$/;
const RESERVED_META = new Set(['phx_ref', 'phx_ref_prev', 'peer_id', 'user_id', 'online_at', '__proto__', 'constructor', 'prototype']);
const APP_EVENTS = new Set(['signal', 'broadcast', 'relay', 'comment']);

export function newPeerId() {
  return randomBytes(8).toString('hex');
}

let connCounter = 0;

export class Connection {
  /**
   * @param {import('ws').WebSocket} ws
   * @param {{userId: string, claims: object|null, params: URLSearchParams, remote: string}} identity
   * @param {object} ctx shared server context (rooms, limiter, metrics, log, options)
   */
  constructor(ws, identity, ctx) {
    this.id = ++connCounter;
    this.ws = ws;
    this.userId = identity.userId;
    this.claims = identity.claims;
    this.params = identity.params;
    this.ctx = ctx;
    this.log = ctx.log.child({ conn: this.id, user: this.userId });
    this.channels = new Map(); // topic -> member
    this.queue = [];
    this.busy = false;
    this.closed = false;
    this.lastSeen = Date.now();
    this.awaitingPong = false;

    ws.on('pong', () => (this.awaitingPong = false));
    ws.on('message', (data, isBinary) => this.#enqueue(data, isBinary));
    ws.on('close', (code) => this.#cleanup(code));
    ws.on('error', (err) => this.log.debug('socket error', { err: err.message }));
  }

  // ---------------------------------------------------------------- sending

  sendText(text) {
    if (this.closed) return;
    if (this.ws.bufferedAmount > this.ctx.opts.maxBufferedBytes) return this.#slowConsumer();
    this.ctx.metrics.messagesOut++;
    this.ws.send(text);
  }

  sendBinary(buf) {
    if (this.closed) return;
    if (this.ws.bufferedAmount > this.ctx.opts.maxBufferedBytes) return this.#slowConsumer();
    this.ctx.metrics.messagesOut++;
    this.ws.send(buf, { binary: true });
  }

  #reply(joinRef, ref, topic, status, response) {
    this.sendText(encodeReply(joinRef, ref, topic, status, response));
  }

  #slowConsumer() {
    this.log.warn('closing slow consumer', { buffered: this.ws.bufferedAmount });
    this.close(1013, 'slow consumer');
  }

  /** Another connection of the same user took this member's peer id over: close the channel. */
  evict(member) {
    if (this.channels.get(member.topic) !== member) return;
    this.channels.delete(member.topic);
    this.sendText(encode(member.joinRef, member.joinRef, member.topic, EVENTS.close, {}));
    this.log.info('channel taken over by a resumed join', { topic: member.topic, peer: member.peerId });
  }

  /** Liveness probe below the Phoenix protocol: returns false if the previous ping went unanswered. */
  ping() {
    if (this.awaitingPong) return false;
    this.awaitingPong = true;
    try {
      this.ws.ping();
    } catch {
      /* closing */
    }
    return true;
  }

  /** Closes this connection (only this one). Presence leaves immediately. */
  close(code = 1000, reason = '') {
    if (this.closed) return;
    this.#cleanup(code);
    try {
      this.ws.close(code, reason);
    } catch {
      /* already closing */
    }
    // A peer that vanished never completes the closing handshake.
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }

  #cleanup(code) {
    if (this.closed) return;
    this.closed = true;
    for (const member of this.channels.values()) this.ctx.rooms.leave(member);
    this.channels.clear();
    this.queue.length = 0;
    this.ctx.onConnectionClosed(this, code);
  }

  // ---------------------------------------------------------------- receiving

  #enqueue(data, isBinary) {
    if (this.closed) return;
    this.lastSeen = Date.now();
    this.ctx.metrics.messagesIn++;
    if (this.busy) {
      if (this.queue.length >= this.ctx.opts.maxQueuedFrames) return this.close(1008, 'too many queued frames');
      this.queue.push([data, isBinary]);
      return;
    }
    this.#process(data, isBinary);
  }

  #process(data, isBinary) {
    let result;
    try {
      result = this.#handleRaw(data, isBinary);
    } catch (err) {
      this.#internalError(err);
      return;
    }
    if (result && typeof result.then === 'function') {
      this.busy = true;
      result
        .catch((err) => this.#internalError(err))
        .finally(() => {
          this.busy = false;
          while (!this.busy && this.queue.length && !this.closed) this.#process(...this.queue.shift());
        });
    }
  }

  #internalError(err) {
    this.ctx.metrics.internalErrors++;
    this.log.error('error handling frame', { err: err && err.stack ? err.stack : String(err) });
  }

  #handleRaw(data, isBinary) {
    let msg;
    try {
      msg = isBinary ? decodeBinary(Buffer.isBuffer(data) ? data : Buffer.concat(data)) : decodeText(data.toString('utf8'));
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.ctx.metrics.badFrames++;
      if (err.ref != null && err.topic) {
        // We know enough to answer the offending push; the connection stays open.
        this.log.info('bad payload', { reason: err.reason, topic: err.topic, event: err.event });
        return this.#reply(err.joinRef, err.ref, err.topic, 'error', { reason: err.reason });
      }
      // Undecodable: like Phoenix, end this connection (1007 = invalid frame payload data).
      this.log.warn('undecodable frame, closing connection', { reason: err.reason });
      return this.close(1007, err.reason);
    }
    return this.#handle(msg);
  }

  #handle(msg) {
    const { topic, event } = msg;
    if (topic === 'phoenix' && event === EVENTS.heartbeat) {
      return this.#reply(null, msg.ref, 'phoenix', 'ok', {});
    }
    if (event === EVENTS.join) return this.#join(msg);

    const member = this.channels.get(topic);
    if (event === EVENTS.leave) {
      if (member && msg.joinRef !== null && msg.joinRef !== member.joinRef) return; // stale
      this.#reply(msg.joinRef, msg.ref, topic, 'ok', {});
      if (member) {
        this.channels.delete(topic);
        this.ctx.rooms.leave(member);
        this.sendText(encode(member.joinRef, member.joinRef, topic, EVENTS.close, {}));
        this.log.debug('left', { topic, peer: member.peerId });
      }
      return;
    }
    if (!member) {
      return this.#reply(null, msg.ref, topic, 'error', { reason: 'unmatched topic' });
    }
    if (msg.joinRef !== null && msg.joinRef !== member.joinRef) return; // stale join_ref: drop
    return this.#appEvent(member, msg);
  }

  // ---------------------------------------------------------------- joins

  async #join(msg) {
    const { topic, ref } = msg;
    const joinRef = msg.joinRef ?? ref;
    // Phoenix semantics: a repeated join replaces the old channel whatever becomes of the new one;
    // the old join gets phx_close after the new join's reply.
    const current = this.channels.get(topic);
    if (current) {
      this.channels.delete(topic);
      this.ctx.rooms.leave(current);
    }
    const closeReplaced = () => current && this.sendText(encode(current.joinRef, current.joinRef, topic, EVENTS.close, {}));
    const fail = (reason, jr = joinRef) => {
      this.#reply(jr, ref, topic, 'error', { reason });
      closeReplaced();
    };
    if (!topic.startsWith('room:')) return fail('unmatched topic', null);
    const room = topic.slice(5);
    if (!ROOM_NAME.test(room)) return fail('invalid_room');
    if (msg.binary) return fail('invalid_payload');

    if (!current && this.channels.size >= this.ctx.opts.maxChannels) return fail('too many channels joined');
    if (!this.ctx.limiter.take(this.userId, EVENTS.join)) {
      this.ctx.metrics.rateLimited++;
      return fail('rate_limit');
    }

    const metaIn = msg.payload.meta ?? {};
    if (typeof metaIn !== 'object' || Array.isArray(metaIn) || metaIn === null) return fail('invalid_meta');
    if (Buffer.byteLength(JSON.stringify(metaIn)) > this.ctx.opts.maxMetaBytes) return fail('invalid_meta');

    if (this.ctx.authorizeRoom) {
      let allowed;
      try {
        allowed = await this.ctx.authorizeRoom({ userId: this.userId, claims: this.claims, room, params: msg.payload });
      } catch (err) {
        this.log.error('authorizeRoom threw', { room, err: err.message });
        return fail('join crashed');
      }
      if (this.closed) return;
      if (allowed !== true) {
        this.ctx.metrics.joinsRefused++;
        return fail(typeof allowed === 'string' ? allowed : 'unauthorized');
      }
    }

    const peerId = newPeerId();
    const meta = { ...stripReserved(metaIn), peer_id: peerId, user_id: this.userId, online_at: Date.now() };
    meta.phx_ref = this.ctx.newRef();
    const member = { peerId, userId: this.userId, meta, conn: this, joinRef, topic, room: null };

    const resume = typeof msg.payload.resume === 'string' && PEER_ID.test(msg.payload.resume) ? msg.payload.resume : null;
    let joined;
    try {
      joined = await this.ctx.rooms.join(room, member, resume);
    } catch (err) {
      if (this.closed) return;
      this.log.error('join failed', { room, err: err.message });
      return fail('join crashed');
    }
    if (this.closed) return this.ctx.rooms.leave(member);
    this.channels.set(topic, member);
    this.ctx.metrics.joins++;
    // The limits let clients refuse an oversized push themselves instead of losing the socket (1009).
    const { maxFrameBytes, maxRelayBytes } = this.ctx.opts;
    this.#reply(joinRef, ref, topic, 'ok', { peer_id: member.peerId, peers: joined.peers, max_frame_bytes: maxFrameBytes, max_relay_bytes: maxRelayBytes });
    closeReplaced();
    joined.after();
    this.log.debug('joined', { topic, peer: member.peerId, resumed: member.peerId === resume });
  }

  // ---------------------------------------------------------------- application events

  #appEvent(member, msg) {
    const { event, topic, ref, joinRef } = msg;
    const ok = (response = {}) => this.#reply(joinRef, ref, topic, 'ok', response);
    const fail = (reason) => this.#reply(joinRef, ref, topic, 'error', { reason });
    if (!APP_EVENTS.has(event)) return fail('unknown_event');
    if (!this.ctx.limiter.take(this.userId, event)) {
      this.ctx.metrics.rateLimited++;
      return fail('rate_limit');
    }
    const { rooms, metrics } = this.ctx;
    const p = msg.payload;

    switch (event) {
      case 'signal': {
        if (msg.binary || typeof p.to !== 'string' || !PEER_ID.test(p.to) || !('data' in p)) return fail('invalid_payload');
        if (!rooms.sendTo(member, p.to, 'signal', { from: member.peerId, data: p.data })) return fail('unknown_peer');
        metrics.signals++;
        return ok();
      }
      case 'broadcast':
      case 'comment': {
        if (msg.binary) return fail('invalid_payload');
        const out = { ...p, from: member.peerId };
        if (event === 'comment') out.user_id = this.userId;
        rooms.broadcastFrom(member, event, out);
        metrics.broadcasts++;
        return ok();
      }
      case 'relay': {
        let to;
        let data;
        if (msg.binary) {
          const env = decodeRelayEnvelope(p);
          if (!env) return fail('invalid_payload');
          ({ peer: to, data } = env);
        } else {
          if (typeof p.to !== 'string' || typeof p.data !== 'string') return fail('invalid_payload');
          to = p.to;
          data = Buffer.from(p.data, 'base64');
        }
        if (data.length > this.ctx.opts.maxRelayBytes) return fail('payload_too_large');
        if (!PEER_ID.test(to)) return fail('invalid_payload');
        if (!rooms.relayTo(member, to, data)) return fail('unknown_peer');
        metrics.relays++;
        metrics.relayBytes += data.length;
        return ok();
      }
    }
  }
}

function stripReserved(meta) {
  const out = {};
  for (const [k, v] of Object.entries(meta)) if (!RESERVED_META.has(k)) out[k] = v;
  return out;
}
