// Client side of roomsync signaling: room semantics on top of the official `phoenix` client.
//
//   const sig = await connectSignaling({ url: 'ws://localhost:4000/socket', room: 'notes' });
//   sig.onPeerJoin((id) => ...); sig.onSignal(({ from, data }) => ...);
//   await sig.signal(peerId, { type: 'offer', sdp });
//
// The protocol (heartbeats, refs, rejoin, presence merge) is entirely phoenix.js; this module only
// maps the `room:<name>` channel contract (docs/signaling.md) to peers, events and typed errors.

import { Socket, Presence } from 'phoenix';

/** An error with a machine-readable `code`: the server's reason or a client-side condition. */
export class SignalingError extends Error {
  constructor(code, message = code, details = undefined) {
    super(message);
    this.name = 'SignalingError';
    this.code = code;
    if (details !== undefined) this.details = details;
  }
}

const EVENTS = ['peer-join', 'peer-leave', 'signal', 'broadcast', 'comment', 'relay', 'error', 'reconnect', 'disconnect', 'sync'];

async function defaultTransport() {
  if (typeof globalThis.WebSocket === 'function') return globalThis.WebSocket;
  // Node < 22 has no global WebSocket: use `ws`. The specifier is a variable so that browser
  // bundlers do not try to include it; the browser bundle drops the block (--drop-labels=nodeOnly).
  nodeOnly: {
    const name = 'ws';
    const mod = await import(/* @vite-ignore */ name);
    return mod.WebSocket || mod.default;
  }
  throw new Error('no WebSocket in this environment');
}

// The server closes the whole socket (1009) on a frame over its limit, which phoenix.js only
// notices as a timeout before reconnecting; so pushes are measured here first. The server
// announces its limits in the join reply; this is the default for servers that do not.
const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
// phoenix.js refs are decimal counters: count the longest one, so a frame we let through is never
// over the limit (at worst 15 bytes too strict).
const LONGEST_REF = String(Number.MAX_SAFE_INTEGER);

/** UTF-8 length of a string without encoding it. */
function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Bytes of the WebSocket frame phoenix.js's V2 serializer makes for this push. Throws if JSON cannot encode it. */
function frameBytes(channel, event, payload) {
  const joinRef = channel.joinRef() ?? null;
  if (payload && payload.constructor === ArrayBuffer) {
    // binary push: kind + 4 field sizes, then join_ref, ref, topic, event, the bytes
    return 5 + utf8Length(joinRef || '') + LONGEST_REF.length + utf8Length(channel.topic) + utf8Length(event) + payload.byteLength;
  }
  return utf8Length(JSON.stringify([joinRef, LONGEST_REF, channel.topic, event, payload]));
}

const tooLarge = (what, size, limit) =>
  new SignalingError('payload_too_large', `${what} is ${size} bytes; the server accepts at most ${limit}`, { size, limit });

function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data === 'string') return new TextEncoder().encode(data);
  throw new TypeError('relay data must be bytes (Uint8Array, ArrayBuffer, typed array) or a string');
}

/** Maps a socket error to a SignalingError. Browsers hide the HTTP status; Node's `ws` tells it. */
function connectError(err, url) {
  const text = String((err && (err.message || (err.error && err.error.message))) || '');
  const code = /\b(401|403)\b/.test(text) ? 'unauthorized' : 'connect_failed';
  return new SignalingError(code, `cannot connect to ${url || 'the socket'}: ${text || 'connection error'}`, err);
}

/** A joined room. Create it with connectSignaling(). */
export class Signaling {
  /** @internal */
  constructor({ socket, channel, presence, ownsSocket, room, timeout, maxFrameBytes }) {
    this.socket = socket;
    this.channel = channel;
    this.room = room;
    this.topic = channel.topic;
    this.timeout = timeout;
    this.peerId = null;
    this._ownIds = new Set(); // every peer id this session had (an old one may linger after a rejoin)
    this._presence = presence;
    this._ownsSocket = ownsSocket;
    this._peers = new Map(); // peer id -> meta (other peers only)
    this._listeners = new Map(EVENTS.map((e) => [e, new Set()]));
    this._socketRefs = [];
    this._left = false;
    this._defaultMaxFrameBytes = maxFrameBytes;
    this._limits = { frame: maxFrameBytes, relay: Infinity };
  }

  /** @internal a join was acknowledged: our peer id and the server's size limits. */
  _joined(resp) {
    this.peerId = resp.peer_id;
    this._ownIds.add(resp.peer_id);
    const limit = (v, fallback) => (Number.isSafeInteger(v) && v > 0 ? v : fallback);
    this._limits = { frame: limit(resp.max_frame_bytes, this._defaultMaxFrameBytes), relay: limit(resp.max_relay_bytes, Infinity) };
  }

  /** @internal whether the room's presence lists `peerId`. */
  _inPresence(peerId) {
    let found = false;
    this._presence.list((userId, { metas }) => {
      if (metas.some((m) => m.peer_id === peerId)) found = true;
    });
    return found;
  }

  /** Ids of the other peers currently in the room. */
  peers() {
    return [...this._peers.keys()];
  }

  /** Presence meta of a peer ({ peer_id, user_id, online_at, phx_ref, ...join meta }). */
  peerMeta(peerId) {
    return this._peers.get(peerId);
  }

  /** The room's presence grouped by user: [{ userId, metas: [...] }] (includes this peer from the start). */
  presence() {
    return this._presence.list((userId, { metas }) => ({ userId, metas }));
  }

  /** Size limits in bytes (from the join reply; Infinity when the server does not say): checked before sending. */
  get limits() {
    return { maxFrameBytes: this._limits.frame, maxRelayBytes: this._limits.relay };
  }

  get connected() {
    return this.socket.isConnected() && this.channel.state === 'joined';
  }

  /** Subscribes to an event; returns an unsubscribe function. */
  on(event, cb) {
    const set = this._listeners.get(event);
    if (!set) throw new TypeError(`unknown event "${event}" (one of ${EVENTS.join(', ')})`);
    set.add(cb);
    return () => set.delete(cb);
  }

  onPeerJoin(cb) {
    return this.on('peer-join', cb);
  }

  onPeerLeave(cb) {
    return this.on('peer-leave', cb);
  }

  onSignal(cb) {
    return this.on('signal', cb);
  }

  /** @internal */
  _emit(event, ...args) {
    for (const cb of this._listeners.get(event)) {
      try {
        cb(...args);
      } catch (err) {
        // A listener must not break the others or the socket loop.
        if (event !== 'error') this._emit('error', new SignalingError('listener_error', String(err && err.message), err));
      }
    }
  }

  /**
   * Pushes an event; resolves the ok response, rejects with a SignalingError. A payload over the
   * server's frame limit is refused here (`payload_too_large`) and never sent.
   */
  push(event, payload, timeout = this.timeout) {
    if (this._left) return Promise.reject(new SignalingError('closed', 'the room was left'));
    let size;
    try {
      size = frameBytes(this.channel, event, payload);
    } catch (err) {
      return Promise.reject(new SignalingError('invalid_payload', `${event} payload cannot be sent as JSON: ${err && err.message}`, err));
    }
    if (size > this._limits.frame) return Promise.reject(tooLarge(`the ${event} frame`, size, this._limits.frame));
    return new Promise((resolve, reject) => {
      this.channel
        .push(event, payload, timeout)
        .receive('ok', resolve)
        .receive('error', (resp) => {
          const code = (resp && resp.reason) || 'error';
          reject(new SignalingError(code, `${event} failed: ${code}`, resp));
        })
        .receive('timeout', () => reject(new SignalingError('timeout', `${event} got no reply within ${timeout} ms`)));
    });
  }

  /** Sends `data` (any JSON value) to one peer. Rejects with code unknown_peer, rate_limit, timeout... */
  signal(to, data) {
    return this.push('signal', { to, data }).then(() => undefined);
  }

  /** Sends `payload` (an object) to every other peer as a `broadcast` event (with `from`). */
  broadcast(payload) {
    return this.push('broadcast', payload).then(() => undefined);
  }

  /** Sends opaque bytes to one peer through the server (when WebRTC cannot connect). */
  relay(to, data) {
    const bytes = toBytes(data);
    if (bytes.length > this._limits.relay) return Promise.reject(tooLarge('the relay data', bytes.length, this._limits.relay));
    const id = new TextEncoder().encode(String(to));
    if (id.length === 0 || id.length > 255) return Promise.reject(new SignalingError('invalid_payload', 'bad peer id'));
    const buf = new ArrayBuffer(1 + id.length + bytes.length);
    const view = new Uint8Array(buf);
    view[0] = id.length;
    view.set(id, 1);
    view.set(bytes, 1 + id.length);
    return this.push('relay', buf).then(() => undefined);
  }

  /** Leaves the room; disconnects the socket if connectSignaling created it. */
  async leave() {
    if (this._left) return;
    this._left = true;
    this.socket.off(this._socketRefs);
    await new Promise((resolve) => {
      this.channel.leave(this.timeout).receive('ok', resolve).receive('timeout', resolve).receive('error', resolve);
    });
    if (this._ownsSocket) await new Promise((resolve) => this.socket.disconnect(resolve, 1000, 'left'));
  }

  /** @internal recompute the peer list from presence and emit joins/leaves. */
  _sync() {
    const now = new Map();
    this._presence.list((userId, { metas }) => {
      for (const meta of metas) if (meta.peer_id && !this._ownIds.has(meta.peer_id)) now.set(meta.peer_id, meta);
    });
    const before = this._peers;
    this._peers = now;
    for (const [id, meta] of before) if (!now.has(id)) this._emit('peer-leave', id, meta);
    for (const [id, meta] of now) if (!before.has(id)) this._emit('peer-join', id, meta);
    this._emit('sync', this.peers());
  }
}

/**
 * Joins `room:<room>` and resolves a Signaling once the join is acknowledged.
 * @param {object} opts see js/signaling.d.ts
 */
export async function connectSignaling(opts = {}) {
  const { url, room, token, params = {}, meta, tokenTransport = 'params', timeout = 10000, socketOptions = {}, keepPeerId = true, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES } = opts;
  if (typeof room !== 'string' || room.length === 0) throw new TypeError('connectSignaling: `room` is required');
  if (!opts.socket && !url) throw new TypeError('connectSignaling: pass `url` or an existing phoenix `socket`');
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes <= 0) throw new TypeError('connectSignaling: `maxFrameBytes` must be a positive integer');

  let socket = opts.socket;
  const ownsSocket = !socket;
  if (!socket) {
    const SocketClass = opts.Socket || Socket;
    const transport = opts.transport || socketOptions.transport || (await defaultTransport());
    const tokenValue = () => (typeof token === 'function' ? token() : token);
    const socketParams = () => {
      const base = typeof params === 'function' ? params() : params;
      return token && tokenTransport === 'params' ? { ...base, token: tokenValue() } : base;
    };
    socket = new SocketClass(url, {
      timeout,
      ...socketOptions,
      transport,
      params: socketParams,
      ...(token && tokenTransport === 'header' ? { authToken: tokenValue } : {}),
    });
  }

  // Join params are re-evaluated at every rejoin: ask to keep our peer id (the server grants it
  // unless another peer holds it), so a signaling blip does not look like a new peer to the room.
  let sig = null;
  const channel = socket.channel(`room:${room}`, () => ({
    ...(meta ? { meta } : {}),
    ...(keepPeerId && sig && sig.peerId ? { resume: sig.peerId } : {}),
  }));
  // Presence must exist before the join so the first presence_state is not missed.
  const presence = new Presence(channel);
  sig = new Signaling({ socket, channel, presence, ownsSocket, room, timeout, maxFrameBytes });
  let whenSelfPresent = null; // set while connectSignaling waits for this peer's own presence
  presence.onSync(() => {
    sig._sync();
    if (whenSelfPresent && sig._inPresence(sig.peerId)) whenSelfPresent();
  });

  channel.on('signal', (p) => sig._emit('signal', { from: p.from, data: p.data }));
  channel.on('broadcast', (p) => sig._emit('broadcast', p));
  channel.on('comment', (p) => sig._emit('comment', p));
  channel.on('relay', (buf) => {
    if (!(buf instanceof ArrayBuffer) || buf.byteLength < 1) return;
    const bytes = new Uint8Array(buf);
    const n = bytes[0];
    if (1 + n > bytes.length) return;
    const from = new TextDecoder().decode(bytes.subarray(1, 1 + n));
    sig._emit('relay', { from, data: bytes.slice(1 + n) });
  });

  await new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn, arg) => {
      if (settled) return;
      settled = true;
      whenSelfPresent = null;
      clearTimeout(timer);
      socket.off([errorRef]);
      fn(arg);
    };
    const giveUp = (err) => {
      channel.leave(0);
      if (ownsSocket) socket.disconnect();
      settle(reject, err);
    };
    const timer = setTimeout(() => {
      const what = sig.peerId ? "joined, but the server did not report this peer's presence" : 'no join reply';
      giveUp(new SignalingError('timeout', `${what} within ${timeout} ms`));
    }, timeout);
    const errorRef = socket.onError((err) => giveUp(connectError(err, url)));

    channel
      .join(timeout)
      .receive('ok', (resp) => {
        const previous = sig.peerId;
        sig._joined(resp);
        if (!settled) {
          // Resolve once presence lists this peer (presence_state, or a later diff from servers
          // that track after replying), so presence() and peers() are complete from the start.
          if (sig._inPresence(sig.peerId)) return settle(resolve);
          whenSelfPresent = () => settle(resolve);
          return;
        }
        sig._emit('reconnect', { peerId: sig.peerId, previousPeerId: previous });
      })
      .receive('error', (resp) => {
        const code = (resp && resp.reason) || 'join_failed';
        const err = new SignalingError(code, `cannot join room "${room}": ${code}`, resp);
        if (!settled) return giveUp(err);
        sig._emit('error', err);
      });
    socket.connect();
  });

  sig._socketRefs.push(
    socket.onClose((event) => sig._emit('disconnect', { code: event && event.code, reason: event && event.reason })),
    // phoenix.js keeps reconnecting by itself; we only report why it fails (e.g. an expired token).
    socket.onError((err) => sig._emit('error', connectError(err, url))),
  );
  return sig;
}
