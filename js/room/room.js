// joinRoom(): a room of peers that keep a roomsync document, app messages (actions) and presence
// in sync over WebRTC data channels, with the signaling server's relay as fallback.
//
//   const room = await joinRoom({ signaling: 'ws://localhost:4000/socket', room: 'notes', doc });
//   const [sendChat, onChat] = room.makeAction('chat');
//   room.presence.set({ name: 'Ada' });
//
// Glue only (docs: sans-io-examples.md, section 5). Every protocol decision (whom to dial, what
// to send, sync, chunking, backpressure, gossip, presence TTL, typing timeout) is made by the C++
// room core (cpp/room, through core.js). This file moves facts into the core and carries out what
// it asks: signaling peers -> peerJoined/peerLeft; transport routes and frames -> channelOpen/
// channelClosed/handleFrame; core outputs -> transport.send/connect/disconnect and app events.
// After every input the outputs are drained (pump; bulk data at most PUMP_BUDGET per turn of the
// event loop), then ONE timer is armed at the core's next deadline. App callbacks run from the pump; whatever they throw is reported as an
// 'error' event and never stops the pump.
import { createDoc, Doc } from '../index.js';
import { PeerTransport } from './transport.js';
import { createRoomCore } from './core.js';
import { startCall } from './call.js'; // media calls (room.call)

/** An error about the room (the transport's own errors arrive as TransportError). */
export class RoomError extends Error {
  constructor(code, message, peerId, cause) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RoomError';
    this.code = code;
    if (peerId !== undefined) this.peerId = peerId;
  }
}

const OPTIONS = ['signaling', 'room', 'doc', 'password', 'iceServers', 'token', 'meta', 'maxDirectPeers', 'relay',
  'rtcPolyfill', 'typingTimeoutMs'];
const EVENTS = ['peer-join', 'peer-leave', 'synced', 'peer-synced', 'presence', 'typing', 'rejoin', 'error', 'leave'];
// Bytes handed to the transport per turn of the event loop. Where bufferedAmount lags behind
// send() (Node's wrtc), the core's window never fills and one pump would push a whole large
// action synchronously, freezing the app (and, in one process, the receiving peers) until done.
const PUMP_BUDGET = 1 << 20;
const MAX_ACTION_NAME_BYTES = 64; // Limits::max_action_name_bytes (cpp/room/limits.h), checked early for a clear error

// Action payloads: one type byte, then the bytes. Chunking, progress and backpressure are the core's.
const TAG_BINARY = 0;
const TAG_STRING = 1;
const TAG_JSON = 2;

const SEND_ERRORS = {
  busy: 'the send queue to a peer is full: wait for earlier sends to resolve',
  too_large: 'the payload is over the room\'s message limit (32 MiB)',
  bad_name: `the action name must be 1 to ${MAX_ACTION_NAME_BYTES} UTF-8 bytes`,
  bad_metadata: 'the metadata is over 4096 bytes as JSON',
  bad_target: '`to` names a peer that is not in the room (or more than 64 peers)',
  closed: 'the room was left',
};

const now = () => Math.floor(performance.now());
const busySignalings = new WeakSet(); // a Signaling carries one room: two transports would both answer its peers
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const isObject = (v) => v !== null && typeof v === 'object';

// ---------------------------------------------------------------- options

function checkOptions(options) {
  if (!isObject(options)) throw new TypeError('joinRoom: pass an options object ({ signaling, room, ... })');
  for (const key of Object.keys(options)) {
    if (!OPTIONS.includes(key)) throw new TypeError(`joinRoom: unknown option "${key}" (known: ${OPTIONS.join(', ')})`);
  }
  const o = { ...options };
  if (typeof o.room !== 'string' || o.room.length === 0) throw new TypeError('joinRoom: `room` must be a non-empty string (the room name)');
  o.signalingKind = signalingKind(o.signaling, o.room);
  if (o.signalingKind === 'signaling' && (o.token !== undefined || o.meta !== undefined)) {
    throw new TypeError('joinRoom: `token` and `meta` apply when joinRoom connects; this Signaling has joined already');
  }
  if (o.signalingKind === 'signaling' && busySignalings.has(o.signaling)) {
    throw new TypeError('joinRoom: this Signaling carries another room already (leave it first, or connect another Signaling)');
  }
  if (o.signalingKind === 'socket' && o.token !== undefined) {
    throw new TypeError("joinRoom: `token` applies when joinRoom opens the socket; give the phoenix Socket its own params");
  }
  if (o.doc !== undefined && !(o.doc instanceof Doc)) throw new TypeError('joinRoom: `doc` must be a Doc from createDoc()');
  if (o.doc !== undefined && o.doc._h === 0) throw new TypeError('joinRoom: `doc` has been destroyed');
  if (o.password !== undefined && (typeof o.password !== 'string' || o.password === '')) {
    throw new TypeError('joinRoom: `password` must be a non-empty string');
  }
  if (o.iceServers !== undefined) {
    const ok = Array.isArray(o.iceServers) && o.iceServers.every((s) => isObject(s) && (typeof s.urls === 'string' || Array.isArray(s.urls)));
    if (!ok) throw new TypeError('joinRoom: `iceServers` must be an array of { urls, username?, credential? }');
  }
  if (o.token !== undefined && typeof o.token !== 'string' && typeof o.token !== 'function') {
    throw new TypeError('joinRoom: `token` must be a string or a function returning one');
  }
  if (o.meta !== undefined && (!isObject(o.meta) || Array.isArray(o.meta))) throw new TypeError('joinRoom: `meta` must be a plain object');
  if (o.maxDirectPeers !== undefined && !(Number.isInteger(o.maxDirectPeers) && o.maxDirectPeers >= 1 && o.maxDirectPeers <= 255)) {
    throw new TypeError(`joinRoom: \`maxDirectPeers\` must be an integer from 1 to 255, not ${o.maxDirectPeers}`);
  }
  if (o.typingTimeoutMs !== undefined && !(Number.isInteger(o.typingTimeoutMs) && o.typingTimeoutMs > 0)) {
    throw new TypeError('joinRoom: `typingTimeoutMs` must be a positive integer');
  }
  o.relay ??= 'fallback';
  if (!['fallback', 'never', 'always'].includes(o.relay)) throw new TypeError(`joinRoom: \`relay\` must be 'fallback', 'never' or 'always', not ${o.relay}`);
  if (o.rtcPolyfill !== undefined && !(isObject(o.rtcPolyfill) && typeof o.rtcPolyfill.RTCPeerConnection === 'function')) {
    throw new TypeError('joinRoom: `rtcPolyfill` must provide RTCPeerConnection (e.g. the @roamhq/wrtc module or node-datachannel/polyfill)');
  }
  o.rtc = o.rtcPolyfill ?? (typeof globalThis.RTCPeerConnection === 'function' ? globalThis : undefined);
  if (!o.rtc && o.relay !== 'always') {
    throw new TypeError("joinRoom: no WebRTC here: pass `rtcPolyfill` (in Node, e.g. the @roamhq/wrtc module) or use relay: 'always'");
  }
  return o;
}

function signalingKind(s, room) {
  if (typeof s === 'string') {
    let ok = s.startsWith('/');
    try {
      ok ||= ['ws:', 'wss:', 'http:', 'https:'].includes(new URL(s).protocol);
    } catch {
      /* not absolute */
    }
    if (!ok) throw new TypeError(`joinRoom: \`signaling\` URL must be ws(s)://, http(s):// or a path starting with "/", not "${s}"`);
    return 'url';
  }
  if (isObject(s) && typeof s.signal === 'function' && typeof s.relay === 'function' && typeof s.on === 'function') {
    if (typeof s.peerId !== 'string' || !s.peerId) throw new TypeError('joinRoom: this Signaling has no peer id (has it joined?)');
    if (typeof s.room === 'string' && s.room !== room) {
      throw new TypeError(`joinRoom: the Signaling joined room "${s.room}", not "${room}"`);
    }
    return 'signaling';
  }
  if (isObject(s) && typeof s.channel === 'function' && typeof s.connect === 'function') return 'socket';
  throw new TypeError('joinRoom: `signaling` must be a URL, a Signaling from connectSignaling(), or a phoenix Socket');
}

// ---------------------------------------------------------------- payloads

function encodePayload(data) {
  let tag;
  let body;
  if (data instanceof ArrayBuffer) [tag, body] = [TAG_BINARY, new Uint8Array(data)];
  else if (ArrayBuffer.isView(data)) [tag, body] = [TAG_BINARY, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)];
  else if (typeof data === 'string') [tag, body] = [TAG_STRING, utf8.encode(data)];
  else {
    let json;
    try {
      json = JSON.stringify(data);
    } catch (err) {
      throw new TypeError(`action data cannot be sent as JSON: ${err.message}`);
    }
    if (json === undefined) throw new TypeError(`action data must be JSON, a string or bytes, not ${typeof data}`);
    [tag, body] = [TAG_JSON, utf8.encode(json)];
  }
  const out = new Uint8Array(1 + body.length);
  out[0] = tag;
  out.set(body, 1);
  return out;
}

// Throws on bytes that are none of the above (a broken or hostile peer).
function decodePayload(bytes) {
  const body = bytes.subarray(1);
  switch (bytes[0]) {
    case TAG_BINARY:
      return body.slice(); // its own buffer, starting at 0
    case TAG_STRING:
      return fromUtf8.decode(body);
    case TAG_JSON:
      return JSON.parse(fromUtf8.decode(body));
    default:
      throw new Error(`unknown payload type ${bytes[0]}`);
  }
}

function encodeMetadata(metadata) {
  if (metadata === undefined) return '';
  let json;
  try {
    json = JSON.stringify(metadata);
  } catch (err) {
    throw new TypeError(`action metadata cannot be sent as JSON: ${err.message}`);
  }
  if (json === undefined) throw new TypeError('action metadata must be a JSON value');
  return json;
}

const decodeMetadata = (text) => (text === '' ? undefined : JSON.parse(text));

// ---------------------------------------------------------------- joinRoom

/**
 * Joins `room` through the signaling server and keeps `doc` (created if not given) in sync with
 * the room's other peers. Resolves once signaling has joined; `synced` follows when the document
 * has caught up. See room.d.ts.
 */
export async function joinRoom(options) {
  const o = checkOptions(options);
  const doc = o.doc ?? (await createDoc());
  let signaling = o.signaling;
  const ownsSignaling = o.signalingKind !== 'signaling';
  if (ownsSignaling) {
    // Imported here: pages that only use documents need not provide the phoenix client.
    const { connectSignaling } = await import('../signaling.js');
    const where = o.signalingKind === 'url' ? { url: signaling } : { socket: signaling };
    signaling = await connectSignaling({ ...where, room: o.room, token: o.token, meta: o.meta });
  }
  try {
    if (doc._h === 0) throw new TypeError('joinRoom: `doc` was destroyed while joining');
    const core = await createRoomCore({
      self: signaling.peerId,
      doc,
      now: now(),
      ...(o.maxDirectPeers !== undefined ? { maxDirectPeers: o.maxDirectPeers } : {}),
      ...(o.typingTimeoutMs !== undefined ? { typingTimeoutMs: o.typingTimeoutMs } : {}),
    });
    return new Room({ ...o, doc, signaling, ownsSignaling, core });
  } catch (err) {
    if (ownsSignaling) await signaling.leave().catch(() => {});
    throw err;
  }
}

class Room {
  /** @internal use joinRoom() */
  constructor({ room, doc, signaling, ownsSignaling, core, relay, rtc, iceServers, password, maxDirectPeers, typingTimeoutMs }) {
    this.name = room;
    this.doc = doc;
    this.peerId = signaling.peerId;
    this.signaling = signaling;
    this._ownsSignaling = ownsSignaling;
    busySignalings.add(signaling);
    this._core = core;
    this._typingTimeoutMs = typingTimeoutMs ?? 3000;
    this._left = false;
    this._leaving = false;
    this._leftPromise = null;
    this._pumping = false;
    this._timer = null;
    this._timerAt = null;
    this._watch = new Set(); // peers whose send buffer is not empty yet (see _reportBuffered)
    this._watchTimer = null;
    this._resumeTimer = null;
    this._listeners = new Map(EVENTS.map((e) => [e, []]));
    this._members = new Set(); // every other peer of the room (the core's PeerUp/PeerDown)
    this._routes = new Map(); // peer -> 'datachannel' | 'relay': peers the core has a channel to
    this._peerSynced = new Map();
    this._rtt = new Map();
    this._synced = false;
    this._syncWaiters = [];
    this._actions = new Map(); // name -> { message: [], progress: [], api }
    this._sends = new Map(); // outgoing action id -> pending send
    this._finalStats = {}; // stats() after leave()
    this.presence = new Presence(this);
    this._pcListeners = new Set(); // media (call.js): told of every peer connection made or closed
    this._activeCall = null; // the call this room is in (call.js)

    this._transportOptions = { signaling, rtc, relay, iceServers, password, roomName: room };
    this._coreOptions = { maxDirectPeers, typingTimeoutMs };
    this._transport = this._newTransport();

    // Every change not applied by this room goes to the peers: local edits, and updates the app
    // applied from elsewhere (storage, another room).
    this._onDocUpdate = (update, origin) => {
      if (origin !== this) this._input((c, t) => c.localUpdate(update, t));
    };
    doc.on('update', this._onDocUpdate);
    core.roomListener = this._onDocUpdate;

    this._unsubscribe = [
      signaling.on('peer-join', (peer) => this._input((c, t) => c.peerJoined(peer, t))),
      // The list is complete again after a leave: alone in the room means synced.
      signaling.on('peer-leave', (peer) => this._input((c, t) => {
        c.peerLeft(peer, t);
        c.peersListed(t);
      })),
      signaling.on('reconnect', ({ peerId }) => {
        if (peerId !== this.peerId) this._rejoin(peerId).catch((err) => this._fatal(err));
      }),
    ];
    this._listPeers();
  }

  /**
   * A transport for the current peer id. It talks through a view of the signaling that is cut
   * off when the transport is replaced (see _rejoin), so that the old one's goodbyes never go out
   * under the new id; the callbacks of a replaced transport are ignored.
   */
  _newTransport() {
    const sig = this.signaling;
    let cut = false;
    const refuse = () => Promise.reject(Object.assign(new Error('the transport was replaced'), { code: 'closed' }));
    const view = {
      peerId: sig.peerId,
      on: (event, cb) => sig.on(event, cb),
      signal: (to, data) => (cut ? refuse() : sig.signal(to, data)),
      relay: (to, data) => (cut ? refuse() : sig.relay(to, data)),
    };
    this._cutTransport = () => {
      cut = true;
    };
    const transport = new PeerTransport({
      ...this._transportOptions,
      signaling: view,
      onFrame: (peer, bytes) => current() && this._input((c, t) => c.handleFrame(peer, bytes, t)),
      // The transport delivers one ordered stream per peer whatever the route: only its start
      // (no route -> a route) is a new channel for the core; relay -> datachannel is not.
      onChannelOpen: (peer, via) => {
        if (!current()) return;
        const had = this._routes.has(peer);
        this._routes.set(peer, via);
        if (!had) this._input((c, t) => c.channelOpen(peer, t));
      },
      onChannelClosed: (peer) => {
        if (current() && this._routes.delete(peer)) this._input((c, t) => c.channelClosed(peer, t));
      },
      onDrain: (peer) => current() && this._input((c, t) => c.channelBuffered(peer, transport.bufferedAmount(peer), t)),
      onError: (err) => {
        if (!current()) return;
        if (err.code === 'frames_lost' && err.peerId) this._input((c, t) => c.framesLost(err.peerId, t));
        this._error(err);
      },
      acceptPeer: () => current() && !this._left,
      onPeerConnection: (peer, pc) => current() && this._emitPc(peer, pc), // media (call.js)
    });
    const current = () => this._transport === transport;
    return transport;
  }

  /** Tells the core who is in the room (signaling's list is complete when this runs). */
  _listPeers() {
    this._input((c, t) => {
      for (const peer of this.signaling.peers()) c.peerJoined(peer, t);
      c.peersListed(t);
    });
  }

  /**
   * Signaling came back under another peer id (the server could not give the old one back): to
   * the others this peer left and a new one joined. So it is here: a fresh core and transport
   * under the new id; the document keeps everything and syncs again, presence is re-published.
   */
  async _rejoin(peerId) {
    const oldCore = this._core;
    const oldTransport = this._transport;
    if (!oldCore || this._leaving) return; // a rejoin is under way, or we are leaving
    this._core = null;
    this._transport = null;
    clearTimeout(this._timer);
    clearTimeout(this._watchTimer);
    clearTimeout(this._resumeTimer);
    this._timer = this._timerAt = this._watchTimer = this._resumeTimer = null;
    oldCore.destroy();
    this._cutTransport();
    oldTransport.close().catch(() => {});
    const previous = this.peerId;
    for (const [, s] of this._sends) s.reject(new RoomError('aborted', `send "${s.name}": this peer rejoined under a new id before the action was sent`));
    this._sends.clear();
    for (const peer of [...this._members]) {
      this._members.delete(peer);
      this.presence._typingChanged(peer, false);
      this.presence._remote(peer, false);
      this._emit('peer-leave', peer, 'rejoin');
    }
    this._routes.clear();
    this._peerSynced.clear();
    this._rtt.clear();
    this._watch.clear();
    this._setSynced(false);
    this.peerId = peerId;
    const core = await createRoomCore({ self: peerId, doc: this.doc, now: now(), ...this._coreOptions });
    if (this._leaving || this.doc._h === 0) {
      core.destroy();
      return this.leave(); // (already leaving, or the document is gone)
    }
    this._core = core;
    core.roomListener = this._onDocUpdate;
    this._transport = this._newTransport();
    this._emit('rejoin', peerId, previous);
    const state = this.presence._self;
    if (state !== undefined) this._input((c, t) => c.setPresence(utf8.encode(JSON.stringify(state)), t));
    this._listPeers();
    // Yet another id meanwhile: go again.
    if (this.signaling.peerId !== peerId) await this._rejoin(this.signaling.peerId);
  }

  // ---------------------------------------------------------------- public API

  /** Ids of every other peer in the room. */
  getPeers() {
    return [...this._members];
  }

  /** How we reach `peerId` now, or undefined for a peer not in the room. */
  peerInfo(peerId) {
    const via = this._routes.get(peerId);
    if (!via && !this._members.has(peerId)) return undefined;
    return {
      direct: via !== undefined,
      via: via ?? 'gossip',
      rttMs: via !== undefined ? this._rtt.get(peerId) ?? null : null,
      synced: via !== undefined ? this._peerSynced.get(peerId) === true : this._synced,
    };
  }

  /** Whether the document has caught up with the room (also true alone in the room). */
  get synced() {
    return this._synced;
  }

  /** Resolves once the document has caught up (at once if it has). */
  whenSynced() {
    if (this._synced) return Promise.resolve();
    if (this._left) return Promise.reject(new RoomError('closed', 'the room was left'));
    return new Promise((resolve, reject) => this._syncWaiters.push({ resolve, reject }));
  }

  get left() {
    return this._left;
  }

  /** The room core's counters (frames and bytes in and out, relayed, duplicates...), for monitoring. */
  stats() {
    return this._core ? this._core.stats() : { ...this._finalStats };
  }

  /** Subscribes to an event; returns an unsubscribe function. */
  on(event, cb) {
    const list = this._listeners.get(event);
    if (!list) throw new TypeError(`room.on: unknown event "${event}" (one of ${EVENTS.join(', ')})`);
    if (typeof cb !== 'function') throw new TypeError('room.on: the listener must be a function');
    list.push(cb);
    return () => this.off(event, cb);
  }

  off(event, cb) {
    const list = this._listeners.get(event);
    const i = list ? list.indexOf(cb) : -1;
    if (i !== -1) list.splice(i, 1);
  }

  /** cb(peerId) for every peer in the room now, then for every peer that joins. */
  onPeerJoin(cb) {
    const off = this.on('peer-join', cb);
    for (const peer of this._members) this._call(cb, peer);
    return off;
  }

  /** cb(peerId) for every peer that leaves (or is dropped). */
  onPeerLeave(cb) {
    return this.on('peer-leave', cb);
  }

  /**
   * Trystero-style typed messages: [send, onMessage, onProgress]. One action per name (calling
   * again returns the same triple).
   */
  makeAction(name) {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('makeAction: the name must be a non-empty string');
    if (utf8.encode(name).length > MAX_ACTION_NAME_BYTES) throw new TypeError(`makeAction: "${name}" is over ${MAX_ACTION_NAME_BYTES} UTF-8 bytes`);
    const existing = this._actions.get(name);
    if (existing) return existing.api;
    const action = { message: [], progress: [] };
    const listen = (list, what) => (cb) => {
      if (typeof cb !== 'function') throw new TypeError(`${what}: the callback must be a function`);
      list.push(cb);
      return () => {
        const i = list.indexOf(cb);
        if (i !== -1) list.splice(i, 1);
      };
    };
    action.api = [
      (data, opts) => this._send(name, data, opts),
      listen(action.message, 'onMessage'),
      listen(action.progress, 'onProgress'),
    ];
    this._actions.set(name, action);
    return action.api;
  }

  // ---------------------------------------------------------------- calls (media, see call.js)

  /** Starts an audio/video call with the room's other peers in it; see room.d.ts (Call). */
  call(options) {
    return startCall(this, options);
  }

  /** @internal the current RTCPeerConnection to a peer, or null. */
  _peerConnection(peerId) {
    return this._transport?.peerConnection(peerId) ?? null;
  }

  /** @internal cb(peerId, pc | null) whenever the transport makes or closes a peer connection. */
  _onPeerConnection(cb) {
    this._pcListeners.add(cb);
    return () => this._pcListeners.delete(cb);
  }

  _emitPc(peer, pc) {
    for (const cb of [...this._pcListeners]) this._call(cb, peer, pc);
  }

  /**
   * Leaves the room: says bye to every peer, closes the connections and (if joinRoom opened it)
   * the signaling connection. The document stays usable. Idempotent.
   */
  leave() {
    if (!this._leaving) {
      this._leaving = true; // first: inputs arriving while we leave are ignored
      this._leftPromise = this._leave();
    }
    return this._leftPromise;
  }

  async _leave() {
    // Called from an app callback inside the pump: let the pump finish its batch first.
    if (this._pumping) await Promise.resolve();
    const core = this._core;
    const transport = this._transport; // both null while a rejoin creates the next ones
    try {
      if (core) {
        core.leave(now()); // bye to every peer (its Disconnects are left to transport.close())
        this._pump();
      }
    } catch (err) {
      this._error(new RoomError('internal', `the room core failed while leaving: ${err && err.message}`, undefined, err));
    }
    this._left = true;
    // Give the byes a moment to leave (on the relay they wait in the transport's queue).
    const routed = [...this._routes.keys()];
    const deadline = now() + 1000;
    while (transport && routed.some((p) => transport.bufferedAmount(p) > 0) && now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    clearTimeout(this._timer);
    clearTimeout(this._watchTimer);
    clearTimeout(this._resumeTimer);
    this._timer = this._watchTimer = this._resumeTimer = null;
    if (this.doc._h !== 0) this.doc.off('update', this._onDocUpdate);
    for (const off of this._unsubscribe) off();
    for (const [, s] of this._sends) s.reject(new RoomError('closed', `send "${s.name}": the room was left before the action was sent`));
    this._sends.clear();
    for (const w of this._syncWaiters.splice(0)) w.reject(new RoomError('closed', 'the room was left'));
    this._finalStats = core ? core.stats() : {};
    core?.destroy();
    this._core = null;
    await transport?.close();
    busySignalings.delete(this.signaling);
    if (this._ownsSignaling) await this.signaling.leave();
    this._emit('leave');
  }

  // ---------------------------------------------------------------- sending

  _send(name, data, opts = {}) {
    if (!isObject(opts)) throw new TypeError('send: options must be an object ({ to?, metadata?, onProgress? })');
    const { to, metadata, onProgress } = opts;
    let targets = [];
    if (to !== undefined && to !== null) {
      targets = Array.isArray(to) ? to : [to];
      if (!targets.every((id) => typeof id === 'string' && id)) throw new TypeError('send: `to` must be a peer id or an array of peer ids');
      if (targets.length === 0) return Promise.resolve(); // to nobody
    }
    if (onProgress !== undefined && typeof onProgress !== 'function') throw new TypeError('send: `onProgress` must be a function');
    const payload = encodePayload(data);
    const meta = encodeMetadata(metadata);
    // The pending send is registered before the pump runs: its first progress comes out at once.
    const sent = this._input((c, t) => {
      const r = c.sendAction(name, payload, { to: targets, metadata: meta }, t);
      if (r.code !== 'ok') return Promise.reject(new RoomError(r.code, `send "${name}": ${SEND_ERRORS[r.code] || r.code}`));
      if (r.recipients === 0) return Promise.resolve(); // nobody to send to now
      return new Promise((resolve, reject) => {
        this._sends.set(r.id, { left: r.recipients, delivered: 0, resolve, reject, onProgress, metadata, name });
      });
    });
    return sent ?? Promise.reject(new RoomError('closed', `send "${name}": ${SEND_ERRORS.closed}`));
  }

  _outgoingProgress(out) {
    const s = this._sends.get(out.id);
    if (!s) return;
    if (s.onProgress) this._call(s.onProgress, out.got / out.total, out.peer, s.metadata);
    if (out.got === out.total) this._sendDone(out.id, s, true);
  }

  _sendDone(id, s, delivered) {
    if (delivered) s.delivered++;
    if (--s.left > 0) return;
    this._sends.delete(id);
    if (s.delivered > 0) s.resolve();
    else s.reject(new RoomError('aborted', `send "${s.name}": every recipient left before the action was sent`));
  }

  // ---------------------------------------------------------------- the pump

  /** Feeds one input to the core (fn(core, now)), then drains its outputs; returns fn's result. */
  _input(fn) {
    if (this._left || this._leaving || !this._core) return undefined; // !core: rejoining
    if (this.doc._h === 0) {
      // The core works on the document's memory: it must not run once that is freed.
      this._error(new RoomError('doc_destroyed', 'the room\'s document was destroyed: leaving the room'));
      this.leave().catch((e) => this._error(e));
      return undefined;
    }
    let result;
    try {
      result = fn(this._core, now());
    } catch (err) {
      this._fatal(err);
      return undefined;
    }
    this._pump();
    return result;
  }

  _pump() {
    if (this._pumping || this._left || !this._core) return; // pumping: the loop below drains the input
    this._pumping = true;
    const sent = { bytes: 0 };
    try {
      for (;;) {
        if (sent.bytes >= PUMP_BUDGET) {
          this._resumeSoon(); // the rest after other events had their turn
          break;
        }
        const batch = this._core.drain();
        if (batch.length === 0) break;
        // A docChanged must reach the Doc before any app callback of this batch can edit it
        // (the change's events sit in the document's result buffers until then).
        for (const out of batch) if (out.kind === 'docChanged') this._docChanged(out);
        const sentTo = new Set();
        for (const out of batch) {
          try {
            this._dispatch(out, sentTo, sent);
          } catch (err) {
            this._error(new RoomError('internal', `handling a "${out.kind}" output failed: ${err && err.message}`, out.peer || undefined, err));
          }
        }
        for (const peer of sentTo) this._reportBuffered(peer);
        if (this._left) return;
      }
    } catch (err) {
      this._fatal(err);
      return;
    } finally {
      this._pumping = false;
    }
    this._arm();
  }

  _resumeSoon() {
    this._resumeTimer ??= setTimeout(() => {
      this._resumeTimer = null;
      this._input(() => {}); // nothing new: just drain what the core has queued
    }, 0);
  }

  /** The core failed (a wasm abort): report it and leave; the document stays usable. */
  _fatal(err) {
    this._error(new RoomError('internal', `the room core failed: ${err && err.message}; leaving the room`, undefined, err));
    if (!this._leaving) this.leave().catch((e) => this._error(e));
  }

  _arm() {
    const at = this._core.pollTimeout();
    if (at === this._timerAt) return;
    clearTimeout(this._timer);
    this._timer = null;
    this._timerAt = at;
    if (at === null) return;
    this._timer = setTimeout(() => {
      this._timer = this._timerAt = null;
      this._input((c, t) => c.handleTimeout(t));
    }, Math.max(0, at - now()));
  }

  /**
   * Tells the core how much is still buffered for `peer`: its backpressure window. Buffers that
   * are not empty are re-read every 20 ms until they are (the relay path reports no drain).
   */
  _reportBuffered(peer) {
    const bytes = this._transport.bufferedAmount(peer);
    this._core.channelBuffered(peer, bytes, now());
    if (bytes > 0) this._watch.add(peer);
    else this._watch.delete(peer);
    if (this._watch.size > 0 && !this._watchTimer) {
      this._watchTimer = setTimeout(() => {
        this._watchTimer = null;
        this._input(() => {
          for (const p of [...this._watch]) this._reportBuffered(p);
        });
      }, 20);
    }
  }

  _docChanged(out) {
    try {
      this._core.emitDocChange(out, this);
    } catch (err) {
      this._error(new RoomError('listener_error', `a document observer or 'update' listener threw on a change from peer ${out.peer}: ${err.message}`, out.peer, err));
    }
  }

  _dispatch(out, sentTo, sent) {
    const peer = out.peer;
    switch (out.kind) {
      case 'transmit': {
        let ok = false;
        try {
          ok = this._transport.send(peer, out.bytes);
        } catch (err) {
          this._error(err);
        }
        sent.bytes += out.bytes.length;
        if (ok) sentTo.add(peer);
        else if (this._routes.delete(peer)) this._core.channelClosed(peer, now()); // no route: the core must know
        return;
      }
      case 'connect':
        // Perfect-negotiation roles: the transport's rule (defaultPolite), which it also applies
        // to peers that dial us first; the core's flag follows the mirror rule, and one rule must
        // hold for both cases.
        this._transport.connect(peer);
        // Already routed (the peer dialled first, or a route outlived the core's channel): say so.
        if (this._transport.route(peer) && !this._routes.has(peer)) {
          this._routes.set(peer, this._transport.route(peer));
          this._core.channelOpen(peer, now());
        }
        return;
      case 'disconnect':
        if (this._leaving) return; // leave() closes the transport once the byes are out
        this._routes.delete(peer);
        this._watch.delete(peer);
        this._transport.disconnect(peer).catch((err) => this._error(err));
        return;
      case 'peerUp':
        this._members.add(peer);
        return this._emit('peer-join', peer);
      case 'peerDown':
        this._members.delete(peer);
        this._peerSynced.delete(peer);
        this._rtt.delete(peer);
        return this._emit('peer-leave', peer, out.reason);
      case 'synced':
        if (peer === '') return this._setSynced(out.synced);
        this._peerSynced.set(peer, out.synced);
        return this._emit('peer-synced', peer, out.synced);
      case 'docChanged':
        return; // done first (above)
      case 'action':
        return this._incomingAction(out);
      case 'actionProgress':
        if (out.outgoing) return this._outgoingProgress(out);
        return this._incomingProgress(out);
      case 'actionAbort': {
        const s = this._sends.get(out.id);
        if (s) this._sendDone(out.id, s, false);
        return;
      }
      case 'presence':
        return this.presence._remote(peer, out.present, out.state);
      case 'typing':
        return this.presence._typingChanged(peer, out.typing);
      case 'rtt':
        this._rtt.set(peer, out.ms);
        return;
      case 'protocolError':
        return this._error(protocolError(out));
      default:
        return this._error(new RoomError('internal', `unknown room core output "${out.kind}"`));
    }
  }

  _setSynced(synced) {
    if (synced === this._synced) return;
    this._synced = synced;
    if (synced) for (const w of this._syncWaiters.splice(0)) w.resolve();
    this._emit('synced', synced);
  }

  _incomingAction(out) {
    const action = this._actions.get(out.name);
    if (!action || action.message.length === 0) return; // no such action here: ignored (Trystero does the same)
    let data;
    let metadata;
    try {
      data = decodePayload(out.bytes);
      metadata = decodeMetadata(out.metadata);
    } catch (err) {
      return this._error(new RoomError('bad_action', `peer ${out.peer} sent an unreadable "${out.name}" action: ${err.message}`, out.peer));
    }
    for (const cb of action.message.slice()) this._call(cb, data, out.peer, metadata);
  }

  _incomingProgress(out) {
    const action = this._actions.get(out.name);
    if (!action || action.progress.length === 0) return;
    let metadata;
    try {
      metadata = decodeMetadata(out.metadata);
    } catch {
      return; // reported with the message itself
    }
    for (const cb of action.progress.slice()) this._call(cb, out.got / out.total, out.peer, metadata);
  }

  // ---------------------------------------------------------------- events

  _emit(event, ...args) {
    for (const cb of this._listeners.get(event).slice()) this._call(cb, ...args);
  }

  /** Calls an app callback; what it throws becomes an 'error' event and stops nothing. */
  _call(cb, ...args) {
    try {
      cb(...args);
    } catch (err) {
      if (this._listeners.get('error').includes(cb)) console.error('roomsync: a room "error" listener threw', err);
      else this._error(new RoomError('listener_error', `a room callback threw: ${err && err.message}`, undefined, err));
    }
  }

  /** An 'error' event; without a listener a warning (a refused peer must not go unnoticed). */
  _error(err) {
    if (this._listeners.get('error').length > 0) return this._emit('error', err);
    if (err.code !== 'connect_failed') console.warn(`roomsync: room "${this.name}": ${err.message}`); // (connect_failed: the relay carries on)
  }
}

function protocolError(out) {
  let message = `peer ${out.peer || '?'}: ${out.message} (${out.code})`;
  if (out.code === 'duplicate-client-id') {
    message = `peer ${out.peer} refused: ${out.message}. Every replica needs its own document clientId ` +
      '(createDoc() draws a random one; never give two live documents the same clientId)';
  }
  return new RoomError(out.code, message, out.peer || undefined);
}

// ---------------------------------------------------------------- presence

/** Per-peer presence state (JSON) and typing indicators; TTL and timeouts are the core's. */
class Presence {
  constructor(room) {
    this._room = room;
    this._self = undefined;
    this._states = new Map(); // peer -> state
    this._typers = new Set();
    this._listeners = [];
    this._typingUntil = 0;
  }

  /** Publishes this peer's state (a JSON object, at most 4096 bytes as JSON) to the room. */
  set(state) {
    if (!isObject(state) || Array.isArray(state)) throw new TypeError('presence.set: the state must be a plain object');
    let json;
    try {
      json = JSON.stringify(state);
    } catch (err) {
      throw new TypeError(`presence.set: the state cannot be sent as JSON: ${err.message}`);
    }
    const bytes = utf8.encode(json);
    const room = this._room;
    if (room._left || room._leaving) throw new RoomError('closed', 'presence.set: the room was left');
    const ok = room._input((c, t) => c.setPresence(bytes, t));
    if (ok === false) throw new RangeError(`presence.set: the state is ${bytes.length} bytes as JSON; at most 4096 are allowed`);
    this._self = JSON.parse(json);
  }

  /** A peer's state (this peer's own with room.peerId), or undefined. */
  get(peerId) {
    return peerId === this._room.peerId ? this._self : this._states.get(peerId);
  }

  /** Every other peer's state, by peer id. */
  getAll() {
    return Object.fromEntries(this._states);
  }

  /**
   * cb(peerId, state | undefined, { typing }) whenever a peer's state or typing changes (state
   * undefined: the peer is gone or its state expired). Returns an unsubscribe function.
   */
  onChange(cb) {
    if (typeof cb !== 'function') throw new TypeError('presence.onChange: the callback must be a function');
    this._listeners.push(cb);
    return () => {
      const i = this._listeners.indexOf(cb);
      if (i !== -1) this._listeners.splice(i, 1);
    };
  }

  /** A keystroke: this peer shows as typing until `typingTimeoutMs` (3 s) after the last call. */
  typing() {
    this.setTyping(true);
  }

  setTyping(typing) {
    const room = this._room;
    if (room._left) return;
    this._typingUntil = typing ? now() + room._typingTimeoutMs : 0;
    room._input((c, t) => c.setTyping(Boolean(typing), t));
  }

  /** Whether a peer (or this peer, with room.peerId) is typing. */
  isTyping(peerId) {
    return peerId === this._room.peerId ? now() < this._typingUntil : this._typers.has(peerId);
  }

  /** The other peers typing now. */
  typingPeers() {
    return [...this._typers];
  }

  _remote(peer, present, stateBytes) {
    if (present) {
      let state;
      try {
        state = stateBytes.length === 0 ? {} : JSON.parse(fromUtf8.decode(stateBytes));
      } catch (err) {
        return this._room._error(new RoomError('bad_presence', `peer ${peer} sent presence that is not JSON: ${err.message}`, peer));
      }
      this._states.set(peer, state);
    } else if (!this._states.delete(peer)) return;
    this._changed(peer);
    this._room._emit('presence', peer, this._states.get(peer));
  }

  _typingChanged(peer, typing) {
    if (typing) this._typers.add(peer);
    else if (!this._typers.delete(peer)) return;
    this._changed(peer);
    this._room._emit('typing', peer, typing);
  }

  _changed(peer) {
    const info = { typing: this._typers.has(peer) };
    for (const cb of this._listeners.slice()) this._room._call(cb, peer, this._states.get(peer), info);
  }
}
