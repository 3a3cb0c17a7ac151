// PeerTransport: moves opaque binary frames (each <= 64 KiB) between peer ids. The room core
// (C++, sans-I/O) decides whom to connect to and what to send; this file only does the I/O:
//
//  - one RTCPeerConnection per peer, perfect negotiation (the caller says who is polite), trickle
//    ICE through the signaling server's `signal` event, one ordered reliable binary data channel
//    (negotiated id 0: both sides create it, so it exists whoever's offer wins a glare);
//  - on ICE failure (or no channel within connectTimeoutMs): an ICE restart, then full re-dials
//    (a new RTCPeerConnection, numbered by a generation both sides follow) with backoff;
//  - relay fallback: until the channel is open, or when it cannot be made, frames go through the
//    signaling server's binary `relay` (split to its 64 KiB limit, small frames sent together in
//    one message up to it, up to 8 messages in flight per peer, paced below the server's rate
//    limit, retried on `rate_limit`; nothing is dropped silently);
//  - every frame carries (stream epoch, sequence number), so the receiver delivers frames in order
//    and exactly once even while they switch from the relay to the channel;
//  - media (calls, see call.js): tracks added to peerConnection(id) are negotiated by the same
//    perfect negotiation; onPeerConnection tells when a peer's connection is made or closed;
//  - optional room password (see crypto.js): signal payloads and relayed frames are sealed with
//    AES-GCM; a peer with another password is refused and reported (code 'wrong_password').
//
// What the signaling server sees on the relay path:
//  - always: both peer ids, the room name, the time and size of every relayed message (so the
//    traffic pattern), and presence metadata;
//  - without a password: the frames themselves (the room's document updates, actions, presence),
//    plus every SDP and ICE candidate (the peers' IP addresses and DTLS fingerprints);
//  - with a password: only ciphertext for SDP, candidates and frames (it cannot read, alter or
//    re-address them undetected); it can still drop, delay or replay them (a replayed frame is
//    discarded by its sequence number; dropping shows up as a 'frames_lost' error).
// Frames on the data channel never touch the server (DTLS between the peers).
//
// Wire formats (all integers big-endian):
//  - data channel message: 0x01, epoch u32, seq u32, frame bytes; or a batch of frames with
//    consecutive seqs: 0x02, epoch u32, seq u32 of the first, then per frame length u32, bytes;
//  - relay message: 0x01 (plain) or 0x02 (sealed), then [epoch u32, seq u32, part u16, parts u16,
//    bytes of that part] or whole frames with consecutive seqs [epoch u32, seq u32 of the first,
//    0 u16, 0 u16, then per frame length u32, bytes], sealed as iv || ciphertext || tag with a
//    password;
//  - signal payload: { rs1: 1, m: message } or, with a password, { rs1: 1, x: base64(sealed JSON) };
//    a greeting also carries h: 1 in clear, a refusal is { rs1: 1, nack: 'wrong_password' }.
//    Messages: hello {ack, d: 1 when the sender dials the peer, else 0}, sdp {g, d: description,
//    o: offer number | a: number of the offer answered}, ice {g, d: candidate}, bye, relay-only;
//    `g` is the connection generation (a re-dial increments it, both sides follow the higher).
//    Every message also carries s: the sender's session id (random per peer entry, the sender's
//    incarnation for this pair) and r: the receiver's session id it is addressed to (required on
//    sdp and ice, which wait until the peer's hello told it). A message from or to an earlier
//    entry of either side (a disconnect + reconnect, a re-created transport under the same peer
//    id) is dropped, whatever its generation; a greeting from a new entry restarts the link.
// The epoch is random per peer entry: a reconnected peer starts a new stream at seq 0.

import { RoomCryptoError, SEAL_OVERHEAD, deriveRoomKey, fromBase64, open, seal, toBase64 } from './crypto.js';

/** An error with a machine-readable `code` and, when it concerns one peer, its `peerId`. */
export class TransportError extends Error {
  constructor(code, message, peerId) {
    super(message);
    this.name = 'TransportError';
    this.code = code;
    if (peerId !== undefined) this.peerId = peerId;
  }
}

export const MAX_FRAME_BYTES = 64 * 1024;

const DC_FRAME = 1; // data channel message: kind u8, epoch u32, seq u32, frame bytes
const DC_BATCH = 2; // data channel message: kind u8, epoch u32, seq u32 of the first, then per frame: length u32, bytes
const DC_HEADER = 9;
const BATCH_BYTES = 64 * 1024; // a batch is sent once this full (a frame alone may be up to 64 KiB)
// The end of the current turn of the event loop (Node: after pending I/O callbacks, so frames from a
// burst of incoming messages share one send); in browsers the end of the current task.
const nextTurn = typeof setImmediate === 'function' ? setImmediate : queueMicrotask;
const RELAY_PLAIN = 1; // relay message: kind u8, then (sealed or not) epoch u32, seq u32, part u16, parts u16, bytes
const RELAY_SEALED = 2;
const RELAY_INNER_HEADER = 12;
const RELAY_WINDOW = 8; // relay messages in flight per peer: a sync reply goes without a round trip per chunk
const SIGNAL_TAG = 'rs1'; // marks our signal payloads among other users of the `signal` event

const DEFAULTS = {
  relay: 'fallback',
  iceServers: [],
  connectTimeoutMs: 15_000,
  gapTimeoutMs: 10_000,
  firstFramesWaitMs: 100, // see _dial
  relayMaxBytes: 64 * 1024,
  relayRate: { rate: 150, burst: 100 }, // the server allows 200/s, burst 400 per user by default
  highWaterMark: 4 * 1024 * 1024, // data channel bytes in flight before frames wait in our queue
  lowWaterMark: 256 * 1024, // onDrain fires when a peer's buffered amount falls to this
  maxRetryDelayMs: 30_000,
};

const sleep = (ms, timers) =>
  new Promise((resolve) => {
    const t = setTimeout(() => {
      timers.delete(t);
      resolve();
    }, ms);
    timers.add(t);
  });

function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('a frame must be bytes (Uint8Array, ArrayBuffer or another ArrayBufferView)');
}

const randomU32 = () => globalThis.crypto.getRandomValues(new Uint32Array(1))[0];

/** Offer/answer state of one RTCPeerConnection (see PeerTransport._negotiate). */
function newNegotiation(pc, gen) {
  const neg = {
    pc,
    gen,
    tail: Promise.resolve(), // the last step queued
    abandoned: null, // resolves when the connection is closed or replaced
    abandon: null,
    wantOffer: false, // an offer was asked for and not made yet
    iceRestart: false,
    offerQueued: false,
    offers: 0, // our offers so far (numbered from 1: an answer names the offer it answers)
    localOffer: 0, // the number of our offer waiting for its answer (0: none)
    holdIce: null, // outgoing candidates held while our description is being set
    deferred: false, // our first offer waits for the peer's greeting (see _offer)
  };
  neg.abandoned = new Promise((resolve) => (neg.abandon = resolve));
  return neg;
}

/** Per-peer state. */
class Peer {
  constructor(id, polite) {
    this.id = id;
    this.polite = polite;
    this.epoch = randomU32(); // our outgoing stream to this peer
    // --- session ids (see the header): which incarnation of each side a signal belongs to ---
    this.sid = randomU32(); // ours for this entry
    this.remoteSid = null; // the peer's, learnt from its hello (or its answer to ours)
    this.retiredSids = []; // the peer's earlier ones this entry replaced (see _restart)
    this.heldSignals = []; // sdp and ice waiting for remoteSid
    this.remoteDials = false; // the peer's greeting said it dials us: its offer is coming (see _offer)
    this.seq = 0;
    this.gen = 0; // RTCPeerConnection generation, shared with the peer
    this.pc = null;
    this.dc = null;
    this.dcOpen = false;
    this.neg = null; // offer/answer state of the current connection (see _negotiate)
    this.ignoreOffer = false;
    this.remoteCandidates = []; // incoming candidates waiting for a remote description
    this.failures = 0;
    this.connectTimer = null;
    this.retryTimer = null;
    this.helloTimer = null;
    this.dialTimer = null; // the connection is made soon (see _dial)
    this.dialWanted = false; // connect() asked for a connection not made yet
    this.restartPc = null; // the connection an ICE restart is running on
    this.disconnectedTimer = null;
    this.noDirect = false; // the peer is relay-only
    this.heard = false; // got a valid (decryptable) message from the peer: the relay route is usable
    this.refused = false; // password mismatch: never talk to this peer
    this.route = null;
    this.dcClosedTimer = null;
    this.dcQueue = []; // { frames: [{seq, data}], framed } waiting for the channel's buffer to drain
    this.batch = null; // frames sent during this turn of the event loop after its first (see _dcSend)
    this.batchBytes = 0;
    this.dcQueueBytes = 0;
    this.dcBufferedRead = 0; // the channel's bufferedAmount when last read (see _dcBuffered)
    this.dcSentSinceRead = 0; // bytes handed to the channel since
    this.relayQueue = []; // {seq, bytes, part, parts}
    this.relayBytes = 0;
    this.relayBusy = false;
    this.relayInflight = 0; // queued frames (from the head) that relay messages in flight carry
    this.drainTimer = null;
    this.recv = { epoch: null, next: 0, pending: new Map(), retired: [], gapTimer: null, parts: null };
    this.gone = false;
  }
}

export class PeerTransport {
  /**
   * @param {object} opts see transport.d.ts
   */
  constructor(opts = {}) {
    const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
    const sig = o.signaling;
    if (!sig || typeof sig.signal !== 'function' || typeof sig.relay !== 'function' || typeof sig.on !== 'function') {
      throw new TypeError('PeerTransport: `signaling` must be a Signaling from connectSignaling()');
    }
    if (!['fallback', 'never', 'always'].includes(o.relay)) throw new TypeError(`PeerTransport: relay must be 'fallback', 'never' or 'always', not ${o.relay}`);
    if (o.relay !== 'always' && (!o.rtc || typeof o.rtc.RTCPeerConnection !== 'function')) {
      throw new TypeError('PeerTransport: `rtc` must provide RTCPeerConnection (globalThis in browsers, or an rtcPolyfill such as @roamhq/wrtc in Node)');
    }
    if (o.password !== undefined && o.password !== null && o.password !== '' && typeof o.roomName !== 'string') {
      throw new TypeError('PeerTransport: a password needs `roomName` (the key salt)');
    }
    this.opts = o;
    this.signaling = sig;
    this._peers = new Map();
    this._departed = new Set(); // peers we disconnected: their late messages must not revive them
    // Per peer id (not per Peer entry, which a re-connection replaces): outgoing signals leave in
    // order, incoming signals and relayed frames are handled in order. So the bye of an old link
    // can never overtake the hello of the next one, in either direction.
    this._outChains = new Map();
    this._inChains = new Map();
    this._timers = new Set(); // every pending timeout, cleared by close()
    this._closed = false;
    this._bucket = { tokens: o.relayRate.burst, at: Date.now() };
    this._key = o.password ? deriveRoomKey(o.password, o.roomName, o.pbkdf2Iterations) : null;
    if (this._key) this._key.catch((err) => this._error('rtc_error', `cannot derive the room key: ${err.message}`));
    this._unsubscribe = [sig.on('signal', (m) => this._onSignal(m)), sig.on('relay', (m) => this._onRelay(m))];
  }

  get localId() {
    return this.signaling.peerId;
  }

  /** The default role: the peer with the smaller id is polite (both sides compute the same). */
  defaultPolite(peerId) {
    return String(this.localId) < String(peerId);
  }

  // ---------------------------------------------------------------- public API

  /** Starts (or keeps) a connection to `peerId`. Exactly one of the two sides must be polite. */
  connect(peerId, polite = this.defaultPolite(peerId)) {
    this._assertOpen();
    if (typeof peerId !== 'string' || !peerId) throw new TypeError('connect: peerId must be a non-empty string');
    this._departed.delete(peerId);
    let peer = this._peers.get(peerId);
    if (!peer) peer = this._addPeer(peerId, Boolean(polite));
    else peer.polite = Boolean(polite);
    if (!peer.helloSent) this._hello(peer, false);
    this._dial(peer);
  }

  /**
   * Makes the connection to a peer in a later task, once the peer answered our greeting and its
   * first relayed frames are in (at most firstFramesWaitMs after its answer): creating an
   * RTCPeerConnection blocks this thread for milliseconds (@roamhq/wrtc: 3 to 30 ms), and neither
   * the greetings nor the first exchange on the relay (a late joiner's sync request, the reply to
   * it) should wait for that. Nothing waits for the connection either: our descriptions and
   * candidates name the peer's session, so they could not go out before its greeting anyway.
   */
  _dial(peer, framesIn = false) {
    if (!this._wantsDirect(peer) || peer.pc || peer.retryTimer) return;
    peer.dialWanted = true;
    if (!peer.heard || (peer.dialTimer && !framesIn)) return;
    this._clear(peer, 'dialTimer');
    const now = framesIn || peer.recv.epoch !== null || this.opts.relay === 'never';
    peer.dialTimer = this._timer(() => {
      peer.dialTimer = null;
      if (peer.dialWanted && this._wantsDirect(peer) && !peer.pc && !peer.retryTimer) this._newPc(peer);
    }, now ? 0 : this.opts.firstFramesWaitMs);
  }

  /**
   * Closes the connection to `peerId` and tells the peer, which tears down its side too. The peer is
   * forgotten at once; the promise resolves when the connection is closed.
   */
  disconnect(peerId) {
    const peer = this._peers.get(peerId);
    return peer ? this._leave(peer) : Promise.resolve();
  }

  /** Forgets the peer now, sends bye, then closes the connection (after the bye was routed, so the
   * peer learns of a deliberate close before it sees its channel close). */
  async _leave(peer) {
    this._drop(peer, false);
    this._departed.add(peer.id);
    if (this._departed.size > 1000) this._departed.delete(this._departed.values().next().value);
    let t;
    const timeout = new Promise((r) => (t = setTimeout(r, 1000)));
    await Promise.race([this._signal(peer, { k: 'bye' }), timeout]);
    clearTimeout(t);
    this._closePc(peer);
  }

  /**
   * Sends one frame. Returns true when it was sent or queued (delivery in order, once), false when
   * no route exists now (relay 'never' and no open channel, or the peer was refused). Throws a
   * TransportError for an unknown peer, a closed transport or a frame over 64 KiB.
   */
  send(peerId, bytes) {
    this._assertOpen();
    const data = toBytes(bytes);
    if (data.length > MAX_FRAME_BYTES) {
      throw new TransportError('frame_too_large', `frame of ${data.length} bytes exceeds ${MAX_FRAME_BYTES}`, peerId);
    }
    const peer = this._peers.get(peerId);
    if (!peer) throw new TransportError('unknown_peer', `send: not connected to peer ${peerId} (call connect first)`, peerId);
    if (peer.refused) return false;
    const viaChannel = peer.dcOpen && this.opts.relay !== 'always';
    if (!viaChannel && this.opts.relay === 'never') return false;
    const seq = peer.seq;
    peer.seq = (peer.seq + 1) >>> 0;
    if (viaChannel) this._dcSend(peer, seq, data);
    else this._relayEnqueue(peer, seq, data.slice()); // copy: the caller may reuse its buffer
    return true;
  }

  /** Bytes accepted by send() for this peer and not yet handed to the network. */
  bufferedAmount(peerId) {
    const peer = this._peers.get(peerId);
    if (!peer) return 0;
    return (peer.dc && peer.dcOpen ? this._dcBuffered(peer) : 0) + peer.dcQueueBytes + peer.relayBytes;
  }

  /** How frames to this peer travel now: 'datachannel', 'relay' or null (no route yet / any more). */
  route(peerId) {
    const peer = this._peers.get(peerId);
    return peer ? this._route(peer) : null;
  }

  // --- media (calls, see call.js): the current RTCPeerConnection of a peer, for its tracks ---
  /** The peer's current RTCPeerConnection, or null (none yet, relay only, or re-dialling).
   * Tracks added to it are negotiated by the transport (onnegotiationneeded); onPeerConnection
   * says when it is replaced. */
  peerConnection(peerId) {
    const peer = this._peers.get(peerId);
    return (peer && !peer.gone && peer.pc) || null;
  }

  /** Ids of the peers this transport holds state for. */
  peers() {
    return [...this._peers.keys()];
  }

  /** Round-trip time of the selected ICE candidate pair, in ms (null without an open channel). */
  async rttMs(peerId) {
    const peer = this._peers.get(peerId);
    if (!peer || !peer.pc || !peer.dcOpen) return null;
    const stats = await peer.pc.getStats();
    let rtt = null;
    stats.forEach((s) => {
      if (s.type === 'candidate-pair' && (s.nominated || s.selected) && s.state === 'succeeded' && typeof s.currentRoundTripTime === 'number') {
        rtt = s.currentRoundTripTime * 1000;
      }
    });
    return rtt;
  }

  /** Says bye to every peer, closes every connection, stops every timer. Idempotent. */
  async close() {
    if (this._closed) return;
    this._closed = true; // first: frames still queued are not reported as lost, the app asked for it
    const leaving = [...this._peers.values()].map((peer) => this._leave(peer));
    for (const off of this._unsubscribe) off();
    await Promise.all(leaving); // each bounded: a dead socket does not hang close()
    for (const timer of this._timers) clearTimeout(timer);
    this._timers.clear();
  }

  // ---------------------------------------------------------------- peers

  _assertOpen() {
    if (this._closed) throw new TransportError('closed', 'the transport was closed');
  }

  _addPeer(peerId, polite) {
    const peer = new Peer(peerId, polite);
    this._peers.set(peerId, peer);
    return peer;
  }

  /**
   * A peer that contacts us first gets an entry with the default role (if the app accepts it). A
   * peer we disconnected stays away until it greets us again (`greeting`) or we connect to it.
   */
  _incomingPeer(peerId, greeting = false) {
    let peer = this._peers.get(peerId);
    if (peer || this._closed) return peer || null;
    if (this._departed.has(peerId)) {
      if (!greeting) return null;
      this._departed.delete(peerId);
    }
    if (this.opts.acceptPeer && !this.opts.acceptPeer(peerId)) return null;
    return this._addPeer(peerId, this.defaultPolite(peerId));
  }

  _wantsDirect(peer) {
    return this.opts.relay !== 'always' && !peer.noDirect && !peer.refused && !peer.gone;
  }

  _route(peer) {
    if (peer.gone || peer.refused) return null;
    if (peer.dcOpen && this.opts.relay !== 'always') return 'datachannel';
    if (this.opts.relay !== 'never' && peer.heard) return 'relay';
    return null;
  }

  _updateRoute(peer) {
    const r = this._route(peer);
    if (r === peer.route) return;
    peer.route = r;
    if (r) this._call(this.opts.onChannelOpen, peer.id, r);
    else this._call(this.opts.onChannelClosed, peer.id);
  }

  /** Forgets a peer: stops its timers, drops its queues, closes its connection unless the caller
   * does that later (closeNow false). */
  _drop(peer, closeNow = true) {
    if (peer.gone) return;
    peer.gone = true;
    if (this._peers.get(peer.id) === peer) this._peers.delete(peer.id);
    if (closeNow) this._closePc(peer);
    for (const t of ['retryTimer', 'drainTimer', 'dcClosedTimer', 'helloTimer', 'dialTimer']) this._clear(peer, t);
    this._clear(peer.recv, 'gapTimer');
    // Frames still queued are discarded without an error: either side chose to end the
    // connection (disconnect(), close() or the peer's bye), so they have no reader any more.
    peer.relayQueue = [];
    peer.dcQueue = [];
    peer.relayBytes = peer.dcQueueBytes = 0;
    this._updateRoute(peer);
  }

  _timer(fn, ms) {
    const t = setTimeout(() => {
      this._timers.delete(t);
      fn();
    }, ms);
    this._timers.add(t);
    return t;
  }

  _clear(obj, field) {
    if (obj[field]) {
      clearTimeout(obj[field]);
      this._timers.delete(obj[field]);
      obj[field] = null;
    }
  }

  _call(fn, ...args) {
    if (typeof fn !== 'function') return;
    try {
      fn(...args);
    } catch (err) {
      if (fn !== this.opts.onError) this._error('listener_error', `a transport callback threw: ${err && err.message}`, args[0]);
      else console.error('PeerTransport onError callback threw', err);
    }
  }

  _error(code, message, peerId) {
    this._call(this.opts.onError, code instanceof Error ? code : new TransportError(code, message, peerId));
  }

  // ---------------------------------------------------------------- RTCPeerConnection

  _newPc(peer) {
    this._closePc(peer);
    const { RTCPeerConnection } = this.opts.rtc;
    const pc = new RTCPeerConnection({ ...(this.opts.rtcConfig || {}), iceServers: this.opts.iceServers });
    peer.dialWanted = false;
    const dc = pc.createDataChannel('roomsync', { negotiated: true, id: 0, ordered: true });
    dc.binaryType = 'arraybuffer';
    peer.pc = pc;
    peer.dc = dc;
    peer.dcBufferedRead = peer.dcSentSinceRead = 0;
    peer.ignoreOffer = false;
    peer.remoteCandidates = [];
    const gen = peer.gen;
    const neg = (peer.neg = newNegotiation(pc, gen));
    const current = () => peer.pc === pc && !peer.gone;

    pc.onicecandidate = (e) => {
      if (!current() || !e.candidate) return;
      const c = e.candidate;
      const init = typeof c.toJSON === 'function' ? c.toJSON() : { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex };
      if (neg.holdIce) neg.holdIce.push(init);
      else this._signal(peer, { k: 'ice', g: gen, d: init });
    };
    pc.onnegotiationneeded = () => {
      // Dispatched after the state left 'stable' (@roamhq/wrtc does that): a stale event, the
      // connection fires it again once back in 'stable' if still needed.
      if (current() && pc.signalingState === 'stable') this._offer(peer, pc, gen);
    };
    const onState = () => {
      if (!current()) return;
      const s = pc.connectionState || pc.iceConnectionState;
      // Both state events report one failure; during an ICE restart the restart timer decides.
      if (s === 'failed' || pc.iceConnectionState === 'failed') return peer.restartPc === pc ? undefined : this._failed(peer, `ICE ${s}`);
      // 'disconnected' often heals by itself; if it lasts, treat it as a failure.
      if (s === 'disconnected') {
        if (!peer.disconnectedTimer) {
          peer.disconnectedTimer = this._timer(() => {
            peer.disconnectedTimer = null;
            if (current() && (pc.connectionState || pc.iceConnectionState) === 'disconnected') this._failed(peer, 'connection lost');
          }, Math.min(5000, this.opts.connectTimeoutMs));
        }
      } else this._clear(peer, 'disconnectedTimer');
      if (s === 'connected') {
        peer.failures = 0; // an ICE restart worked
        peer.restartPc = null;
      }
    };
    pc.onconnectionstatechange = onState;
    pc.oniceconnectionstatechange = onState;

    dc.onopen = () => {
      if (!current()) return;
      peer.dcOpen = true;
      peer.failures = 0;
      this._clear(peer, 'connectTimer');
      this._updateRoute(peer);
      this._moveRelayQueueToChannel(peer);
      this._flushDc(peer);
    };
    dc.onclose = () => {
      if (!current()) return;
      peer.dcOpen = false;
      // A deliberate close by the peer comes with a bye through signaling, which can land a moment
      // after the channel closes (decryption is async): wait briefly before calling it a failure.
      peer.dcClosedTimer = this._timer(() => {
        peer.dcClosedTimer = null;
        if (!current()) return;
        this._updateRoute(peer);
        this._channelLost(peer);
        this._failed(peer, 'data channel closed', false);
      }, 300);
    };
    dc.onerror = (e) => {
      if (current()) this._error('rtc_error', `data channel to peer ${peer.id}: ${(e && e.error && e.error.message) || 'error'}`, peer.id);
    };
    dc.onmessage = (e) => {
      if (current()) this._onChannelMessage(peer, e.data);
    };

    // The clock starts once the room key exists (deriving it takes a while, on purpose).
    this._clear(peer, 'connectTimer');
    const startClock = () => {
      if (!current() || peer.dcOpen) return;
      peer.connectTimer = this._timer(() => {
        peer.connectTimer = null;
        if (current() && !peer.dcOpen) this._failed(peer, `no data channel within ${this.opts.connectTimeoutMs} ms`);
      }, this.opts.connectTimeoutMs);
    };
    if (this._key) this._key.then(startClock, () => {});
    else startClock();
    this._call(this.opts.onPeerConnection, peer.id, pc); // media: a call adds its tracks (call.js)
  }

  _closePc(peer) {
    for (const t of ['connectTimer', 'disconnectedTimer', 'dcClosedTimer']) this._clear(peer, t);
    const { pc, dc } = peer;
    peer.pc = null;
    peer.dc = null;
    if (peer.neg) peer.neg.abandon(); // its steps still waiting are dropped
    peer.neg = null;
    const wasOpen = peer.dcOpen;
    peer.dcOpen = false;
    if (dc) {
      dc.onopen = dc.onclose = dc.onmessage = dc.onerror = null;
      try {
        dc.close();
      } catch {
        /* already closed */
      }
    }
    if (pc) {
      pc.onicecandidate = pc.onnegotiationneeded = pc.onconnectionstatechange = pc.oniceconnectionstatechange = null;
      try {
        pc.close();
      } catch {
        /* already closed */
      }
      // media: the call's tracks to it are gone (not said for an entry a re-connection replaced)
      if (this._peers.get(peer.id) === peer || !this._peers.has(peer.id)) this._call(this.opts.onPeerConnection, peer.id, null);
    }
    if (wasOpen) {
      this._updateRoute(peer);
      this._channelLost(peer);
    }
  }

  // Perfect negotiation, one step at a time: an own offer (createOffer + setLocalDescription) and
  // the handling of a remote description (rollback, setRemoteDescription, the answer) never
  // overlap on one connection. So a remote offer always finds our offer either not begun or set
  // (glare is then plain signalingState), an answer is made for the remote offer just applied,
  // and a track added meanwhile (call.js) is offered once the exchange under way has settled.

  /** Runs `step` after the connection's earlier steps have settled; then makes an offer that was
   * asked for meanwhile. A step of a connection closed or replaced is dropped (a closed
   * RTCPeerConnection may never settle its promises: the chain must not wait for it). */
  _negotiate(peer, neg, step) {
    const run = neg.tail.then(() => (peer.neg === neg ? Promise.race([step(), neg.abandoned]) : undefined));
    neg.tail = run.catch(() => {}).then(() => {
      if (peer.neg === neg && neg.wantOffer && !neg.offerQueued && neg.pc.signalingState === 'stable') this._offer(peer, neg.pc, neg.gen);
    });
    return run;
  }

  /** Asks for an offer (negotiationneeded, ICE restart); it is made when the connection is stable.
   * @roamhq/wrtc lacks argument-less setLocalDescription(), so descriptions are created explicitly. */
  _offer(peer, pc, gen, iceRestart = false) {
    const neg = peer.neg;
    if (!neg || neg.pc !== pc) return;
    neg.gen = gen;
    neg.wantOffer = true;
    neg.iceRestart ||= iceRestart;
    if (neg.offerQueued) return;
    neg.offerQueued = true;
    this._negotiate(peer, neg, async () => {
      neg.offerQueued = false;
      // Not stable: an offer/answer is under way; _negotiate offers again once it settled.
      if (!neg.wantOffer || pc.signalingState !== 'stable') return;
      const restart = neg.iceRestart;
      neg.wantOffer = neg.iceRestart = false;
      // Glare avoidance: on a fresh link (generation 0, nothing negotiated yet) the polite side
      // waits for the peer's greeting; a peer that dials too makes the only offer (no rollback,
      // no second ICE gathering). A peer that does not dial, or an older one, gets our offer then
      // (sdp waits for its greeting anyway); a lost offer ends as usual in the connect timeout.
      neg.deferred = peer.polite && !restart && !neg.gen && !neg.offers && !pc.remoteDescription && (peer.remoteSid === null || peer.remoteDials);
      if (neg.deferred) return;
      try {
        const offer = await pc.createOffer(restart ? { iceRestart: true } : undefined);
        if (peer.neg !== neg || pc.signalingState !== 'stable') return;
        const id = neg.offers + 1;
        await this._setLocal(peer, neg, gen, offer, { o: id });
        neg.offers = neg.localOffer = id;
      } catch (err) {
        if (peer.neg === neg) this._error('rtc_error', `offer to peer ${peer.id} failed: ${err.message}`, peer.id);
      }
    });
  }

  /** setLocalDescription, then (only if it was set) the description is signalled, before any
   * candidate it produced. `extra`: the offer's number (o) or the number of the offer answered (a). */
  async _setLocal(peer, neg, gen, desc, extra) {
    const pc = neg.pc;
    let set = false;
    neg.holdIce = [];
    try {
      await pc.setLocalDescription(desc);
      set = true;
    } finally {
      const held = neg.holdIce;
      neg.holdIce = null;
      if (peer.neg === neg) {
        const local = pc.localDescription;
        if (set && local && local.type === desc.type) this._signal(peer, { k: 'sdp', g: gen, d: { type: local.type, sdp: local.sdp }, ...extra });
        for (const c of held) this._signal(peer, { k: 'ice', g: gen, d: c });
      }
    }
  }

  /** A remote offer or answer (`msg`: its signal, with the offer's number o or the answered a). */
  async _onDescription(peer, gen, desc, msg = {}) {
    if (!this._wantsDirect(peer)) {
      if (this.opts.relay === 'always') this._signal(peer, { k: 'relay-only' });
      return;
    }
    if (!desc || (desc.type !== 'offer' && desc.type !== 'answer') || typeof desc.sdp !== 'string') {
      return this._error('bad_signal', `peer ${peer.id} sent a malformed session description`, peer.id);
    }
    if (gen < peer.gen) return; // from a connection both sides have abandoned
    if (gen > peer.gen || !peer.pc) {
      // The peer re-dialled (or dials us first): follow it onto a fresh connection.
      this._clear(peer, 'retryTimer');
      peer.gen = gen;
      this._newPc(peer);
    }
    const { pc, neg } = peer;
    return this._negotiate(peer, neg, async () => {
      try {
        if (desc.type === 'answer') {
          peer.ignoreOffer = false;
          // Stale: no offer of ours is out, or the answer is for an earlier one (older peers send no a).
          if (pc.signalingState !== 'have-local-offer' || (Number.isInteger(msg.a) && msg.a !== neg.localOffer)) return;
          await pc.setRemoteDescription(desc);
          neg.localOffer = 0;
        } else {
          // Glare: the impolite side keeps its own offer and ignores the peer's (and its candidates).
          peer.ignoreOffer = !peer.polite && pc.signalingState === 'have-local-offer';
          if (peer.ignoreOffer) return;
          if (pc.signalingState !== 'stable') {
            await pc.setLocalDescription({ type: 'rollback' });
            neg.localOffer = 0;
          }
          await pc.setRemoteDescription(desc);
        }
        if (peer.neg !== neg) return;
        for (const c of peer.remoteCandidates.splice(0)) await this._addCandidate(peer, pc, c);
        if (desc.type !== 'offer') return;
        const answer = await pc.createAnswer();
        if (peer.neg === neg && pc.signalingState === 'have-remote-offer') {
          await this._setLocal(peer, neg, gen, answer, Number.isInteger(msg.o) ? { a: msg.o } : {});
        }
      } catch (err) {
        if (peer.neg === neg) this._error('rtc_error', `negotiation with peer ${peer.id} failed: ${err.message}`, peer.id);
      }
    });
  }

  async _onCandidate(peer, gen, cand) {
    if (!this._wantsDirect(peer) || gen < peer.gen || !cand || typeof cand.candidate !== 'string') return;
    if (gen > peer.gen || !peer.pc) {
      // Candidates of a new generation can overtake nothing (signals are ordered), but a peer may
      // start trickling before we ever saw it: set up the connection it is dialling.
      this._clear(peer, 'retryTimer');
      peer.gen = gen;
      this._newPc(peer);
    }
    const { pc, neg } = peer;
    // After the descriptions signalled before it (see _onSignalMessage).
    return this._negotiate(peer, neg, async () => {
      if (!pc.remoteDescription) peer.remoteCandidates.push(cand);
      else await this._addCandidate(peer, pc, cand);
    });
  }

  async _addCandidate(peer, pc, cand) {
    try {
      await pc.addIceCandidate(cand);
    } catch (err) {
      // Candidates for an offer we ignored (glare) or for a superseded ICE generation are expected to fail.
      if (!peer.ignoreOffer && peer.pc === pc) this._error('rtc_error', `ICE candidate from peer ${peer.id} rejected: ${err.message}`, peer.id);
    }
  }

  /** Connection attempt failed: ICE restart first, then full re-dials with growing delays. */
  _failed(peer, why, restartable = true) {
    if (peer.gone || peer.retryTimer) return;
    peer.failures++;
    const n = peer.failures;
    const relayNote = this.opts.relay === 'never' ? 'relay disabled, no route' : 'frames go through the signaling relay meanwhile';
    if (n === 1 && restartable && peer.pc && peer.pc.remoteDescription) {
      this._error('connect_failed', `no direct connection to peer ${peer.id} (${why}); restarting ICE (${relayNote})`, peer.id);
      const pc = peer.pc;
      peer.restartPc = pc;
      this._clear(peer, 'connectTimer');
      peer.connectTimer = this._timer(() => {
        peer.connectTimer = null;
        const ice = pc.iceConnectionState;
        if (peer.pc === pc && !(peer.dcOpen && (ice === 'connected' || ice === 'completed'))) this._failed(peer, 'ICE restart did not help', false);
      }, this.opts.connectTimeoutMs);
      if (typeof pc.restartIce === 'function') pc.restartIce();
      else this._offer(peer, pc, peer.gen, true);
      return;
    }
    const delay = n <= 2 ? 0 : Math.min(this.opts.maxRetryDelayMs, 1000 * 2 ** (n - 3));
    this._error('connect_failed', `no direct connection to peer ${peer.id} (${why}); re-dialling${delay ? ` in ${delay} ms` : ''} (${relayNote})`, peer.id);
    // The old connection's late signals become stale at once; the peer follows the new generation.
    this._closePc(peer);
    peer.gen++;
    peer.retryTimer = this._timer(() => {
      peer.retryTimer = null;
      if (!this._wantsDirect(peer) || peer.pc) return;
      try {
        this._newPc(peer);
      } catch (err) {
        this._error('rtc_error', `cannot create a peer connection to peer ${peer.id}: ${err.message}`, peer.id);
      }
    }, delay);
  }

  // ---------------------------------------------------------------- data channel

  /** One data channel message: a frame (DC_FRAME), or several with consecutive seqs (DC_BATCH). */
  _frame(peer, frames) {
    if (frames.length === 1) {
      const { seq, data } = frames[0];
      const out = new Uint8Array(DC_HEADER + data.length);
      const v = new DataView(out.buffer);
      v.setUint8(0, DC_FRAME);
      v.setUint32(1, peer.epoch);
      v.setUint32(5, seq);
      out.set(data, DC_HEADER);
      return out;
    }
    const out = new Uint8Array(DC_HEADER + frames.reduce((n, f) => n + 4 + f.data.length, 0));
    const v = new DataView(out.buffer);
    v.setUint8(0, DC_BATCH);
    v.setUint32(1, peer.epoch);
    v.setUint32(5, frames[0].seq);
    let o = DC_HEADER;
    for (const { data } of frames) {
      v.setUint32(o, data.length);
      out.set(data, o + 4);
      o += 4 + data.length;
    }
    return out;
  }

  /**
   * The first frame of a burst goes out at once (no added latency); the ones that follow within
   * the same turn of the event loop travel together in one message at the end of it: a channel
   * send is a synchronous call into the WebRTC thread, the main cost of a busy room.
   */
  _dcSend(peer, seq, bytes) {
    const frame = { seq, data: bytes.slice() }; // our copy, should the frame have to move to the relay
    if (peer.batch) {
      peer.batch.push(frame);
      peer.batchBytes += frame.data.length;
      if (peer.batchBytes >= BATCH_BYTES) this._flushBatch(peer);
      return;
    }
    peer.batch = [];
    peer.batchBytes = 0;
    nextTurn(() => this._flushBatch(peer, true));
    this._dcWrite(peer, [frame]);
  }

  _flushBatch(peer, last = false) {
    const frames = peer.batch;
    if (!frames) return;
    peer.batch = last ? null : [];
    peer.batchBytes = 0;
    if (frames.length === 0 || peer.gone) return;
    if (peer.dcOpen) return this._dcWrite(peer, frames);
    // The channel went away within the turn: these frames take the next route, like queued ones.
    const framed = this._frame(peer, frames);
    peer.dcQueue.push({ frames, framed });
    peer.dcQueueBytes += framed.length;
    this._channelLost(peer);
  }

  _dcWrite(peer, frames) {
    const framed = this._frame(peer, frames);
    if (peer.dcQueue.length === 0 && this._dcBuffered(peer) < this.opts.highWaterMark) {
      try {
        peer.dc.send(framed);
        peer.dcSentSinceRead += framed.length;
      } catch (err) {
        // The channel is closing under us: keep the frames for the next route. That is no error
        // (its close event follows and moves them: the peer left or the link is re-made).
        peer.dcQueue.push({ frames, framed });
        peer.dcQueueBytes += framed.length;
        if (peer.dc.readyState === 'open') this._error('rtc_error', `send to peer ${peer.id} failed: ${err.message}`, peer.id);
      }
    } else {
      peer.dcQueue.push({ frames, framed });
      peer.dcQueueBytes += framed.length;
    }
    this._watchDrain(peer);
  }

  _flushDc(peer) {
    while (peer.dcOpen && peer.dcQueue.length && this._dcBuffered(peer) < this.opts.highWaterMark) {
      try {
        peer.dc.send(peer.dcQueue[0].framed);
        peer.dcSentSinceRead += peer.dcQueue[0].framed.length;
      } catch {
        return; // closing: the frames stay queued and move to the relay (see _channelLost)
      }
      peer.dcQueueBytes -= peer.dcQueue.shift().framed.length;
    }
  }

  /**
   * The channel's bufferedAmount, or an upper bound of it: reading it is a synchronous call into
   * the WebRTC thread (in @roamhq/wrtc as costly as a send), so while what we sent since the last
   * read stays below the low-water mark the last reading plus those bytes is enough.
   */
  _dcBuffered(peer) {
    const estimate = peer.dcBufferedRead + peer.dcSentSinceRead;
    if (estimate <= this.opts.lowWaterMark) return estimate;
    peer.dcBufferedRead = peer.dc.bufferedAmount;
    peer.dcSentSinceRead = 0;
    return peer.dcBufferedRead;
  }

  /**
   * Polls the buffered amount (@roamhq/wrtc has no bufferedamountlow event) until it is low again,
   * every millisecond: polled every 5 ms the channel ran dry between polls (a 16 MiB action went
   * at ~half the raw channel's rate).
   */
  _watchDrain(peer) {
    if (peer.drainTimer || this.bufferedAmount(peer.id) <= this.opts.lowWaterMark) return;
    const tick = () => {
      peer.drainTimer = null;
      if (peer.gone) return;
      if (peer.dcOpen) this._flushDc(peer);
      if (this.bufferedAmount(peer.id) <= this.opts.lowWaterMark) return this._call(this.opts.onDrain, peer.id);
      peer.drainTimer = this._timer(tick, 1);
    };
    peer.drainTimer = this._timer(tick, 1);
  }

  /** Channel lost: frames still waiting for it go to the relay when allowed. */
  _channelLost(peer) {
    if (peer.gone || !peer.dcQueue.length || this.opts.relay === 'never') return;
    for (const item of peer.dcQueue.splice(0)) for (const f of item.frames) this._relayEnqueue(peer, f.seq, f.data);
    peer.dcQueueBytes = 0;
  }

  /** Channel open: frames not yet handed to the relay take the channel instead. */
  _moveRelayQueueToChannel(peer) {
    if (this.opts.relay === 'always') return;
    const keep = peer.relayBusy ? Math.min(peer.relayInflight, peer.relayQueue.length) : 0; // those in flight finish on the relay
    for (const item of peer.relayQueue.splice(keep)) {
      peer.relayBytes -= item.bytes.length;
      this._dcSend(peer, item.seq, item.bytes);
    }
  }

  _onChannelMessage(peer, data) {
    if (!(data instanceof ArrayBuffer)) {
      if (ArrayBuffer.isView(data)) data = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
      else return this._error('bad_frame', `peer ${peer.id} sent a non-binary data channel message`, peer.id);
    }
    if (data.byteLength < DC_HEADER) return this._error('bad_frame', `peer ${peer.id} sent a ${data.byteLength}-byte message`, peer.id);
    const v = new DataView(data);
    const kind = v.getUint8(0);
    const epoch = v.getUint32(1);
    const seq = v.getUint32(5);
    if (kind === DC_FRAME) return this._deliver(peer, epoch, seq, new Uint8Array(data, DC_HEADER));
    if (kind !== DC_BATCH) return this._error('bad_frame', `peer ${peer.id} sent an unknown message kind ${kind}`, peer.id);
    this._deliverBatch(peer, epoch, seq, new Uint8Array(data, DC_HEADER));
  }

  /** A batch (per frame: length u32, bytes; seqs from `seq` on) from the channel or the relay,
   * delivered in order; a malformed one is refused whole. */
  _deliverBatch(peer, epoch, seq, bytes) {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const frames = [];
    for (let o = 0; o < bytes.length;) {
      const len = o + 4 <= bytes.length ? v.getUint32(o) : -1;
      if (len < 0 || len > MAX_FRAME_BYTES || o + 4 + len > bytes.length) {
        return this._error('bad_frame', `peer ${peer.id} sent a malformed batch of frames`, peer.id);
      }
      frames.push(bytes.subarray(o + 4, o + 4 + len));
      o += 4 + len;
    }
    for (let i = 0; i < frames.length; i++) this._deliver(peer, epoch, (seq + i) >>> 0, frames[i]);
  }

  // ---------------------------------------------------------------- ordering

  /** Delivers frames of the peer's current stream in sequence order, each once. */
  _deliver(peer, epoch, seq, bytes) {
    const r = peer.recv;
    if (epoch !== r.epoch) {
      if (r.retired.includes(epoch)) return; // a straggler of a stream the peer replaced
      if (r.epoch !== null) r.retired = [r.epoch, ...r.retired].slice(0, 8);
      r.epoch = epoch;
      r.next = 0;
      r.pending.clear();
      this._clear(r, 'gapTimer');
    }
    if (((seq - r.next) | 0) < 0 || r.pending.has(seq)) return; // duplicate (e.g. a replay)
    r.pending.set(seq, bytes);
    this._flushRecv(peer);
  }

  _flushRecv(peer) {
    const r = peer.recv;
    while (r.pending.has(r.next) && !peer.gone) {
      const bytes = r.pending.get(r.next);
      r.pending.delete(r.next);
      r.next = (r.next + 1) >>> 0;
      this._call(this.opts.onFrame, peer.id, bytes);
    }
    if (r.pending.size === 0) return this._clear(r, 'gapTimer');
    if (r.gapTimer) return;
    // A missing frame normally arrives soon (it took the slower route); give up after a while.
    r.gapTimer = this._timer(() => {
      r.gapTimer = null;
      if (peer.gone || r.pending.size === 0) return;
      let min = null;
      for (const s of r.pending.keys()) if (min === null || ((s - min) | 0) < 0) min = s;
      const lost = (min - r.next) >>> 0;
      this._error('frames_lost', `${lost} frame(s) from peer ${peer.id} never arrived; continuing after them`, peer.id);
      r.next = min;
      this._flushRecv(peer);
    }, this.opts.gapTimeoutMs);
  }

  // ---------------------------------------------------------------- relay

  _relayPartBytes() {
    return this.opts.relayMaxBytes - 1 - RELAY_INNER_HEADER - (this._key ? SEAL_OVERHEAD : 0);
  }

  _relayEnqueue(peer, seq, bytes) {
    const parts = Math.max(1, Math.ceil(bytes.length / this._relayPartBytes()));
    peer.relayQueue.push({ seq, bytes, part: 0, parts });
    peer.relayBytes += bytes.length;
    this._pumpRelay(peer);
  }

  /** Waits for a token of the client-side bucket, which keeps us under the server's rate limit. */
  async _relayToken() {
    const { rate, burst } = this.opts.relayRate;
    for (;;) {
      const now = Date.now();
      const b = this._bucket;
      b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = now;
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - b.tokens) / rate) * 1000), this._timers);
    }
  }

  /** One pump per peer: order is kept, and a failed message (`rate_limit`...) goes again. */
  _pumpRelay(peer) {
    if (peer.relayBusy || !peer.heard || peer.gone) return;
    this._pumpRelayLoop(peer).catch((err) => {
      peer.relayBusy = false;
      this._error('relay_failed', `relaying to peer ${peer.id} failed: ${err && err.message}`, peer.id);
    });
  }

  async _pumpRelayLoop(peer) {
    peer.relayBusy = true;
    let failures = 0;
    let failingSince = 0;
    // Messages sent and not acknowledged yet: [{ items, part, reply }]. The server answers a
    // peer's pushes in order, so the acknowledged frames are a prefix of the queue.
    const window = [];
    try {
      await null; // the frames sent in this same task go together (a late joiner's hello, presence and sync request)
      while (!peer.gone && !this._closed) {
        const q = peer.relayQueue;
        const item = q[peer.relayInflight];
        // (the parts of a frame go one at a time: they must arrive in order)
        if (item && window.length < RELAY_WINDOW && !(window.length && (item.parts > 1 || window[0].items[0].parts > 1))) {
          const part = item.part;
          const size = this._relayPartBytes();
          // Whole frames with consecutive seqs (frames moved back from a closing channel may not
          // follow on) travel together, as many as fit.
          let n = 1;
          let bytes = 4 + item.bytes.length;
          for (let next; item.parts === 1 && (next = q[peer.relayInflight + n]) && next.parts === 1 &&
            next.seq === ((item.seq + n) >>> 0) && bytes + 4 + next.bytes.length <= size; n++) bytes += 4 + next.bytes.length;
          const items = q.slice(peer.relayInflight, peer.relayInflight + n);
          peer.relayInflight += n;
          const chunk = n === 1 ? item.bytes.subarray(part * size, (part + 1) * size) : null;
          const inner = new Uint8Array(RELAY_INNER_HEADER + (chunk ? chunk.length : bytes));
          const v = new DataView(inner.buffer);
          v.setUint32(0, peer.epoch);
          v.setUint32(4, item.seq);
          if (chunk) {
            v.setUint16(8, part);
            v.setUint16(10, item.parts);
            inner.set(chunk, RELAY_INNER_HEADER);
          } else {
            // part 0 of 0 marks a batch: per frame, its length u32 and its bytes
            let o = RELAY_INNER_HEADER;
            for (const it of items) {
              v.setUint32(o, it.bytes.length);
              inner.set(it.bytes, o + 4);
              o += 4 + it.bytes.length;
            }
          }
          const body = this._key ? await seal(await this._key, 'relay', this.localId, peer.id, inner) : inner;
          const msg = new Uint8Array(1 + body.length);
          msg[0] = this._key ? RELAY_SEALED : RELAY_PLAIN;
          msg.set(body, 1);
          await this._relayToken();
          if (peer.gone || this._closed) return;
          window.push({ items, part, reply: this.signaling.relay(peer.id, msg).then(() => null, (err) => err || new Error('relay failed')) });
          continue;
        }
        if (window.length === 0) break;
        const sent = window.shift();
        const err = await sent.reply;
        if (!err) {
          failures = 0;
          failingSince = 0;
          peer.relayInflight = Math.max(0, peer.relayInflight - sent.items.length);
          for (const it of sent.items) {
            // (the frames of a batch are whole: part 0 of 1)
            if ((it.part = sent.part + 1) === it.parts && peer.relayQueue[0] === it) {
              peer.relayQueue.shift();
              peer.relayBytes -= it.bytes.length;
            }
          }
          continue;
        }
        // A failed message: those sent after it may have gone through, but they go again from
        // here (the receiver drops the frames it has by their sequence numbers).
        await Promise.all(window.splice(0).map((w) => w.reply));
        peer.relayInflight = 0;
        const code = err.code;
        if (code === 'closed') return;
        failures++;
        failingSince ||= Date.now();
        // unknown_peer: the peer may be rejoining signaling; give it a little while.
        const fatal = code === 'payload_too_large' || code === 'invalid_payload' || (code === 'unknown_peer' && Date.now() - failingSince > 10_000);
        if (fatal) {
          const lost = peer.relayQueue.length;
          peer.relayQueue = [];
          peer.relayBytes = 0;
          this._error('relay_failed', `${lost} frame(s) to peer ${peer.id} could not be relayed: ${code || err.message}`, peer.id);
          return;
        }
        await sleep(Math.min(5000, 50 * 2 ** Math.min(failures, 7)), this._timers);
      }
    } finally {
      peer.relayBusy = false;
      peer.relayInflight = 0;
    }
    if (peer.relayQueue.length && peer.heard && !peer.gone && !this._closed) this._pumpRelay(peer);
  }

  _onRelay({ from, data }) {
    if (this._closed || !(data instanceof Uint8Array) || data.length < 1) return;
    const kind = data[0];
    if (kind !== RELAY_PLAIN && kind !== RELAY_SEALED) return; // not ours
    this._inOrder(from, false, (peer) => this._onRelayMessage(peer, kind, data.subarray(1)));
  }

  async _onRelayMessage(peer, kind, body) {
    if (peer.gone) return;
    let inner = body;
    if (this._key || kind === RELAY_SEALED) {
      inner = await this._open(peer, kind === RELAY_SEALED ? body : null, 'relay');
      if (!inner) return;
    }
    if (inner.length < RELAY_INNER_HEADER) return this._error('bad_frame', `peer ${peer.id} relayed a ${inner.length}-byte message`, peer.id);
    this._heard(peer);
    // Its first frames: the connection is made right after they are handled (see _dial).
    if (peer.dialWanted && peer.recv.epoch === null) this._dial(peer, true);
    const v = new DataView(inner.buffer, inner.byteOffset, inner.byteLength);
    const epoch = v.getUint32(0);
    const seq = v.getUint32(4);
    const part = v.getUint16(8);
    const parts = v.getUint16(10);
    const chunk = inner.subarray(RELAY_INNER_HEADER);
    if (parts === 0 && part === 0) return this._deliverBatch(peer, epoch, seq, chunk);
    if (parts === 0 || part >= parts) return this._error('bad_frame', `peer ${peer.id} relayed part ${part} of ${parts}`, peer.id);
    if (parts === 1) return this._deliver(peer, epoch, seq, chunk);
    // Parts of one frame arrive in order (sent one at a time, see _pumpRelayLoop).
    let p = peer.recv.parts;
    if (part === 0) p = peer.recv.parts = { epoch, seq, parts, chunks: [] };
    if (!p || p.epoch !== epoch || p.seq !== seq || p.parts !== parts || p.chunks.length !== part) {
      peer.recv.parts = null;
      return; // an incomplete frame: the ordering gap timer reports it
    }
    p.chunks.push(chunk.slice());
    if (p.chunks.length < parts) return;
    peer.recv.parts = null;
    const total = p.chunks.reduce((n, c) => n + c.length, 0);
    if (total > MAX_FRAME_BYTES) return this._error('bad_frame', `peer ${peer.id} relayed a ${total}-byte frame`, peer.id);
    const whole = new Uint8Array(total);
    let o = 0;
    for (const c of p.chunks) {
      whole.set(c, o);
      o += c.length;
    }
    this._deliver(peer, epoch, seq, whole);
  }

  // ---------------------------------------------------------------- signals

  _hello(peer, ack) {
    peer.helloSent = true;
    // d: we dial the peer (a connection exists, or connect() makes one right after its greeting).
    this._signal(peer, { k: 'hello', ack, d: peer.pc || peer.dialWanted || (!ack && this._wantsDirect(peer)) ? 1 : 0 });
    if (!ack) this._greetUntilHeard(peer, this.opts.connectTimeoutMs);
  }

  /** A greeting can reach a peer before its transport exists: repeat it (slower each time) until
   * the peer answers, or the relay route would never open. */
  _greetUntilHeard(peer, delay) {
    this._clear(peer, 'helloTimer');
    peer.helloTimer = this._timer(() => {
      peer.helloTimer = null;
      if (peer.heard || peer.gone || peer.refused) return;
      this._signal(peer, { k: 'hello', ack: false, d: peer.pc || peer.dialWanted ? 1 : 0 });
      this._greetUntilHeard(peer, Math.min(this.opts.maxRetryDelayMs, delay * 2));
    }, delay);
  }

  /** A valid message proves the peer runs a transport (with our password): the relay route opens. */
  _heard(peer) {
    if (peer.heard || peer.gone) return;
    peer.heard = true;
    this._clear(peer, 'helloTimer');
    this._updateRoute(peer);
    this._pumpRelay(peer);
    if (peer.dialWanted) this._dial(peer);
  }

  /** Queues a signal to the peer (sealed with the room key if any); resolves once it was routed. */
  _signal(peer, msg) {
    // sdp and ice must name the peer's session: they wait for its hello (see _session).
    if (peer.remoteSid === null && (msg.k === 'sdp' || msg.k === 'ice')) return void peer.heldSignals.push(msg);
    msg = { ...msg, s: peer.sid, ...(peer.remoteSid === null ? {} : { r: peer.remoteSid }) };
    const run = async () => {
      let payload;
      if (this._key) {
        const plain = new TextEncoder().encode(JSON.stringify(msg));
        payload = { [SIGNAL_TAG]: 1, x: toBase64(await seal(await this._key, 'signal', this.localId, peer.id, plain)) };
      } else payload = { [SIGNAL_TAG]: 1, m: msg };
      if (msg.k === 'hello' && !msg.ack) payload.h = 1; // in clear: lets a peer we left greet us again
      await this._pushSignal(peer, payload);
    };
    return this._chain(this._outChains, peer.id, run).catch((err) => this._error('signal_failed', `signal to peer ${peer.id} failed: ${err && err.message}`, peer.id));
  }

  /** Runs fn after everything chained before for this peer id has settled. */
  _chain(chains, peerId, fn) {
    const done = (chains.get(peerId) || Promise.resolve()).then(fn);
    const tail = done.catch(() => {});
    chains.set(peerId, tail);
    tail.then(() => { if (chains.get(peerId) === tail) chains.delete(peerId); });
    return done;
  }

  /** Pushes one signal, retrying what is worth retrying (rate limit, timeout). */
  async _pushSignal(peer, payload) {
    let unknownSince = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.signaling.signal(peer.id, payload);
      } catch (err) {
        const code = err && err.code;
        if (code === 'closed' || this._closed) return;
        if ((code === 'rate_limit' || code === 'timeout') && attempt < 8) {
          await sleep(Math.min(5000, 100 * 2 ** attempt), this._timers);
          continue;
        }
        // unknown_peer while the peer is still ours: it may have left signaling a moment ago (its
        // leave not heard yet; the app then disconnects it, e.g. a room on a peer's rejoin under
        // a new id) or be reconnecting under the same id. Retry a while; once the peer is gone
        // the signal has no reader and is dropped silently. Still unknown later: an error.
        unknownSince ||= Date.now();
        if (code === 'unknown_peer' && !peer.gone && Date.now() - unknownSince < Math.min(10_000, this.opts.connectTimeoutMs)) {
          await sleep(Math.min(1000, 25 * 2 ** Math.min(attempt, 6)), this._timers);
          if (peer.gone || this._closed) return;
          continue;
        }
        if (code !== 'unknown_peer' || !peer.gone) {
          this._error('signal_failed', `signal to peer ${peer.id} failed: ${code || err.message}`, peer.id);
        }
        return;
      }
    }
  }

  _onSignal({ from, data }) {
    if (this._closed || !data || typeof data !== 'object' || data[SIGNAL_TAG] !== 1) return; // not ours
    if (data.nack !== undefined) return this._onNack(from, data.nack);
    this._inOrder(from, data.h === 1, (peer) => this._onSignalMessage(peer, data));
  }

  /**
   * Incoming messages of one peer id are handled one at a time, in arrival order (decryption is
   * async); its entry is looked up when the message's turn comes, after a bye before it was handled.
   */
  _inOrder(from, greeting, fn) {
    this._chain(this._inChains, from, () => {
      const peer = this._incomingPeer(from, greeting);
      if (peer && !peer.refused) return fn(peer);
    }).catch((err) => this._error('rtc_error', `handling a message from peer ${from}: ${err && err.message}`, from));
  }

  async _onSignalMessage(peer, data) {
    if (peer.gone) return;
    let msg = data.m;
    if (this._key || typeof data.x === 'string') {
      let sealed = null;
      if (typeof data.x === 'string') {
        try {
          sealed = fromBase64(data.x);
        } catch {
          sealed = new Uint8Array(0);
        }
      }
      const plain = await this._open(peer, sealed, 'signal');
      if (!plain) return;
      try {
        msg = JSON.parse(new TextDecoder().decode(plain));
      } catch {
        return this._error('bad_signal', `peer ${peer.id} sent an unreadable signal`, peer.id);
      }
    }
    if (!msg || typeof msg !== 'object') return this._error('bad_signal', `peer ${peer.id} sent a malformed signal`, peer.id);
    const current = this._session(peer, msg);
    if (!current) {
      // An entry made for this message alone (nothing sent, nothing heard) goes with it.
      if (!peer.helloSent && peer.remoteSid === null) this._drop(peer);
      return;
    }
    peer = current;
    this._heard(peer);
    const gen = Number.isInteger(msg.g) && msg.g >= 0 ? msg.g : 0;
    switch (msg.k) {
      case 'hello':
        peer.remoteDials = msg.d === 1;
        if (!msg.ack) this._hello(peer, true);
        // Our first offer waited for this greeting: make it unless the peer's offer is coming.
        if (peer.neg?.deferred && !peer.remoteDials) this._offer(peer, peer.neg.pc, peer.neg.gen);
        // Our descriptions and candidates made before we knew its session go out now (after the ack).
        for (const held of peer.heldSignals.splice(0)) this._signal(peer, held);
        // A peer that greets us wants a connection; follow it unless it is ours to dial already.
        return;
      // Not awaited: descriptions and candidates keep their order in the connection's own queue
      // (_negotiate), and the peer's next messages (relayed frames: a sync reply) need not wait
      // for WebRTC to apply them.
      case 'sdp':
      case 'ice':
        (msg.k === 'sdp' ? this._onDescription(peer, gen, msg.d, msg) : this._onCandidate(peer, gen, msg.d))
          .catch((err) => this._error('rtc_error', `handling a message from peer ${peer.id}: ${err && err.message}`, peer.id));
        return;
      case 'relay-only':
        peer.noDirect = true;
        this._closePc(peer);
        this._clear(peer, 'retryTimer');
        return;
      case 'bye':
        return this._drop(peer);
      default:
        return; // a newer version's message: ignore
    }
  }

  // --- session ids (see the header) ---
  /**
   * The entry a signal belongs to, or null when it belongs to an earlier incarnation of either
   * side: sent to an earlier entry of ours (r), or by one of the peer's other than the one this
   * entry talks to (s). A late offer, answer or candidate of a connection both sides have replaced
   * would otherwise match the new connection's generation (both restart at 0) and be applied to it.
   */
  _session(peer, msg) {
    const { s, r } = msg;
    if (!Number.isInteger(s) || (r !== undefined && r !== peer.sid)) return null;
    if (s === peer.remoteSid) return (msg.k === 'sdp' || msg.k === 'ice') && r === undefined ? null : peer;
    if (msg.k !== 'hello') return null;
    if (peer.remoteSid === null) {
      peer.remoteSid = s;
      return peer;
    }
    // A greeting from a new incarnation: the peer started over without its bye reaching us (it
    // was lost while its signaling reconnected, say). An answer to a greeting is no such sign.
    return msg.ack || peer.retiredSids.includes(s) ? null : this._restart(peer, s);
  }

  /** Replaces the entry of a peer that started over: a fresh link (connection, streams, queues)
   * under our same session id, which the peer may know already. The new entry is in place before
   * the old one's close is reported, so an app that reconnects from that callback finds it. */
  _restart(old, remoteSid) {
    const peer = this._addPeer(old.id, old.polite);
    peer.sid = old.sid;
    peer.remoteSid = remoteSid;
    peer.retiredSids = [old.remoteSid, ...old.retiredSids].slice(0, 4);
    this._drop(old);
    return peer;
  }

  /**
   * Decrypts a sealed payload (null = the peer sent plaintext). On any password mismatch the peer
   * is refused for good, the app gets one 'wrong_password' error and the peer one nack.
   */
  async _open(peer, sealed, kind) {
    let why;
    if (!this._key) why = `peer ${peer.id} encrypts with a room password and this transport has none`;
    else if (!sealed) why = `peer ${peer.id} has no room password and this transport has one`;
    else {
      try {
        return await open(await this._key, kind, peer.id, this.localId, sealed);
      } catch (err) {
        if (!(err instanceof RoomCryptoError)) throw err;
        why = err.message;
      }
    }
    this._refuse(peer, why);
    this.signaling.signal(peer.id, { [SIGNAL_TAG]: 1, nack: 'wrong_password' }).catch(() => {});
    return null;
  }

  _onNack(from, reason) {
    const peer = this._peers.get(from);
    if (!peer || peer.refused || reason !== 'wrong_password') return;
    this._refuse(peer, `peer ${from} cannot decrypt our messages: it uses another room password`);
  }

  _refuse(peer, why) {
    if (peer.refused) return;
    peer.refused = true;
    this._closePc(peer);
    this._clear(peer, 'retryTimer');
    this._clear(peer, 'helloTimer');
    const lost = peer.relayQueue.length + peer.dcQueue.length;
    peer.relayQueue = [];
    peer.dcQueue = [];
    peer.relayBytes = peer.dcQueueBytes = 0;
    this._updateRoute(peer);
    this._error('wrong_password', `${why}; not connecting${lost ? ` (${lost} queued frame(s) dropped)` : ''}`, peer.id);
  }
}
