// room.call(): audio/video among the room's peers, peer to peer over the RTCPeerConnections the
// transport already keeps (one per directly connected peer). Media is I/O: this file only glues
// getUserMedia, RTCRtpTransceivers and the room's actions together; no CRDT or protocol logic.
//
//  - Who is in the call, muted or with the camera off travels as a small JSON action
//    (CALL_ACTION) to every room peer: { v: 1, on, muted, camera, at } ('at': when that peer
//    joined, Date.now()). A peer joining announces itself; the members answer it directly; a
//    peer whose channel opens later (peer-synced) is told then (actions go to open channels only).
//  - Local tracks go on the peer's RTCPeerConnection through its transceivers; the transport's
//    perfect negotiation (onnegotiationneeded) carries the new m-lines. Leaving only takes our
//    tracks off the senders (replaceTrack(null)): joining again reuses them (no growing SDP).
//  - Mute and camera off only disable the track (silence / black frames: no renegotiation);
//    the others learn it from the state action.
//  - Talking: remote peers from RTCRtpReceiver.getSynchronizationSources() audioLevel, this peer
//    from a WebAudio AnalyserNode on the microphone; polled every TICK_MS, held HOLD_MS.
//  - The first maxPeers members by (at, peer id) are the call; a later one is told 'call_full'
//    and leaves. Every peer ranks the same states, so they all agree.
//  - A member without an RTCPeerConnection of its own (beyond maxDirectPeers: reached by gossip;
//    or relay 'always') cannot exchange media: its media state is 'unreachable' and the call
//    reports a 'no_media_route' error once for it.
import { RoomError } from './room.js';

export const CALL_ACTION = '@roomsync/call';
const TICK_MS = 150;
const HOLD_MS = 600; // talking stays on this long after the level drops
const REMOTE_LEVEL = 0.02; // audioLevel (0..1, linear) above which a peer talks
const LOCAL_RMS = 0.02; // the same for the analyser's RMS of the microphone
const EVENTS = ['peer-joined', 'peer-left', 'track', 'state', 'error', 'leave'];

const isBool = (v) => typeof v === 'boolean';

/** Starts a call in `room`; see room.d.ts (Call). */
export async function startCall(room, options = {}) {
  if (options === null || typeof options !== 'object') throw new TypeError('room.call: pass an options object ({ audio, video, stream, maxPeers })');
  const { audio = true, video = true, stream, maxPeers = 4 } = options;
  if (!(Number.isInteger(maxPeers) && maxPeers >= 2 && maxPeers <= 8)) throw new TypeError('room.call: `maxPeers` must be an integer from 2 to 8');
  if (room.left) throw new RoomError('closed', 'room.call: the room was left');
  if (room._activeCall) throw new RoomError('busy', 'room.call: this room is in a call already (leave it first)');
  let local = stream;
  if (local !== undefined) {
    if (typeof MediaStream === 'undefined' || !(local instanceof MediaStream)) throw new TypeError('room.call: `stream` must be a MediaStream');
  } else {
    if (!audio && !video) throw new TypeError('room.call: ask for audio, video or both (or pass a `stream`)');
    const md = globalThis.navigator?.mediaDevices;
    if (!md?.getUserMedia) throw new RoomError('no_media', 'room.call: this environment has no getUserMedia (a browser page over https or localhost needed)');
    try {
      local = await md.getUserMedia({ audio, video });
    } catch (err) {
      const denied = err?.name === 'NotAllowedError' || err?.name === 'SecurityError';
      const missing = err?.name === 'NotFoundError' || err?.name === 'OverconstrainedError';
      const code = denied ? 'media_denied' : missing ? 'no_device' : 'media_failed';
      const why = denied ? 'permission to use the camera/microphone was denied' : missing ? 'no camera/microphone found' : err?.message;
      throw new RoomError(code, `room.call: ${why}`, undefined, err);
    }
  }
  if (room.left || room._activeCall) {
    if (stream === undefined) for (const t of local.getTracks()) t.stop();
    throw new RoomError(room.left ? 'closed' : 'busy', 'room.call: the room was left (or joined a call) while getting the media');
  }
  return new Call(room, local, stream === undefined, maxPeers);
}

class Call {
  constructor(room, local, ownsStream, maxPeers) {
    this._room = room;
    this.localStream = local;
    this._ownsStream = ownsStream;
    this.maxPeers = maxPeers;
    this.joinedAt = Date.now();
    this.state = 'joined';
    const on = (kind) => this._track(kind)?.enabled === true; // a given stream may come with a track disabled
    this._self = { id: room.peerId, muted: !on('audio'), camera: on('video'), talking: false };
    this._peers = new Map(); // peer id -> CallPeer (members of the call, full or not)
    this._pcs = new Map(); // peer id -> the RTCPeerConnection we attached to (media flows on it)
    this._listeners = new Map(EVENTS.map((e) => [e, []]));
    this._reported = new Set(); // peers with a 'no_media_route' error already
    const [send, onMessage] = room.makeAction(CALL_ACTION);
    this._sendAction = send;
    room._activeCall = this;
    this._off = [
      onMessage((data, from) => this._onState(from, data)),
      room.onPeerLeave((peer) => this._removePeer(peer, 'left')),
      room.on('rejoin', () => this._announce()),
      // Actions reach the peers with an open channel only: tell a peer as soon as it has one.
      room.on('peer-synced', (peer, synced) => synced && this.state === 'joined' && this._broadcast(true, peer).catch((err) => this._error(err))),
      room.on('leave', () => this._end('left')),
      room._onPeerConnection((peer, pc) => this._onPc(peer, pc)),
    ];
    this._level = localLevel(local);
    this._tick = setInterval(() => this._measure(), TICK_MS);
    this._announce();
  }

  // ------------------------------------------------------------ public API

  get muted() {
    return this._self.muted;
  }

  get camera() {
    return this._self.camera;
  }

  get talking() {
    return this._self.talking;
  }

  /** When the call began as its members see it: the earliest join among them (ms since the epoch). */
  get startedAt() {
    let at = this.joinedAt;
    for (const p of this._admitted()) at = Math.min(at, p.at);
    return at;
  }

  /** The other members of the call (the first maxPeers - 1 by join time). */
  peers() {
    return this._admitted().map(publicPeer);
  }

  peer(peerId) {
    const p = this._peers.get(peerId);
    return p && this._admitted().includes(p) ? publicPeer(p) : undefined;
  }

  setMuted(muted) {
    const track = this._track('audio');
    if (!track && !muted) throw new RoomError('no_track', 'call.setMuted: this call has no microphone track');
    if (track) track.enabled = !muted;
    this._setSelf({ muted: Boolean(muted) });
  }

  setCamera(on) {
    const track = this._track('video');
    if (!track && on) throw new RoomError('no_track', 'call.setCamera: this call has no camera track');
    if (track) track.enabled = Boolean(on);
    this._setSelf({ camera: Boolean(on) });
  }

  on(event, cb) {
    const list = this._listeners.get(event);
    if (!list) throw new TypeError(`call.on: unknown event "${event}" (one of ${EVENTS.join(', ')})`);
    if (typeof cb !== 'function') throw new TypeError('call.on: the listener must be a function');
    list.push(cb);
    return () => {
      const i = list.indexOf(cb);
      if (i !== -1) list.splice(i, 1);
    };
  }

  /** Leaves the call: the others are told, media stops (a stream the call got itself is stopped). */
  async leave() {
    if (this.state === 'left' || this.state === 'full') return;
    if (!this._room.left) await this._broadcast(false).catch(() => {});
    this._end('left');
  }

  // ------------------------------------------------------------ members

  _track(kind) {
    return this.localStream.getTracks().find((t) => t.kind === kind && t.readyState === 'live');
  }

  _message(on) {
    return { v: 1, on, muted: this._self.muted, camera: this._self.camera, at: this.joinedAt };
  }

  _broadcast(on, to) {
    return this._sendAction(this._message(on), to ? { to } : undefined);
  }

  _announce() {
    if (this.state !== 'joined') return;
    this._self.id = this._room.peerId;
    this._broadcast(true).catch((err) => this._error(err));
  }

  _setSelf(change) {
    Object.assign(this._self, change);
    if (this.state !== 'joined') return;
    this._emit('state', this._self.id, publicPeer(this._self));
    if ('muted' in change || 'camera' in change) this._broadcast(true).catch((err) => this._error(err));
  }

  _onState(from, data) {
    if (this.state !== 'joined' || from === this._room.peerId) return;
    const ok = data && data.v === 1 && isBool(data.on) && isBool(data.muted) && isBool(data.camera) && Number.isFinite(data.at);
    if (!ok) return this._error(new RoomError('bad_call_state', `peer ${from} sent a malformed call state`, from));
    if (!data.on) return this._removePeer(from, 'bye');
    let p = this._peers.get(from);
    const isNew = !p;
    if (isNew) {
      p = { id: from, muted: data.muted, camera: data.camera, talking: false, at: data.at, media: 'connecting', stream: new MediaStream(), heldUntil: 0 };
      this._peers.set(from, p);
      this._broadcast(true, from).catch((err) => this._error(err)); // so the newcomer knows us
    } else {
      p.at = data.at;
    }
    const changed = !isNew && (p.muted !== data.muted || p.camera !== data.camera);
    p.muted = data.muted;
    p.camera = data.camera;
    this._rank();
    if (changed && p.admitted) this._emit('state', from, publicPeer(p));
  }

  /** Admits the first maxPeers members (this peer included) by join time; the others get no media. */
  _rank() {
    const all = [...this._peers.values(), { id: this._room.peerId, at: this.joinedAt, self: true }];
    all.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const inside = new Set(all.slice(0, this.maxPeers));
    if (!all.slice(0, this.maxPeers).some((m) => m.self)) {
      this._error(new RoomError('call_full', `the call is full: ${this.maxPeers} people are in it already`));
      this._broadcast(false).catch(() => {});
      return this._end('full');
    }
    for (const p of this._peers.values()) {
      const admit = inside.has(p);
      if (admit === Boolean(p.admitted)) continue;
      p.admitted = admit;
      if (admit) {
        this._emit('peer-joined', publicPeer(p));
        this._onPc(p.id, this._room._peerConnection(p.id));
      } else {
        this._detach(p.id);
        this._emit('peer-left', p.id, 'full');
      }
    }
  }

  _admitted() {
    return [...this._peers.values()].filter((p) => p.admitted);
  }

  _removePeer(peerId, reason) {
    const p = this._peers.get(peerId);
    if (!p) return;
    this._peers.delete(peerId);
    this._reported.delete(peerId);
    this._detach(peerId);
    for (const t of p.stream.getTracks()) p.stream.removeTrack(t);
    if (p.admitted) this._emit('peer-left', peerId, reason);
    this._rank(); // someone waiting beyond maxPeers may get in
  }

  // ------------------------------------------------------------ media

  /** The transport made (or dropped: pc null) the connection to a peer: media follows it. */
  _onPc(peerId, pc) {
    const p = this._peers.get(peerId);
    if (this.state !== 'joined' || !p?.admitted) return;
    pc ||= this._room._peerConnection(peerId); // (a closed connection may have a successor already)
    if (this._pcs.get(peerId) === pc && pc) return;
    this._detach(peerId);
    for (const t of p.stream.getTracks()) p.stream.removeTrack(t); // the old connection's tracks are gone
    if (!pc) return this._setMedia(p, this._reachable(peerId) ? 'connecting' : 'unreachable');
    this._pcs.set(peerId, pc);
    const onTrack = (e) => this._remoteTrack(p, e.track);
    pc.addEventListener('track', onTrack);
    p.unlisten = () => pc.removeEventListener('track', onTrack);
    // Tracks this connection already receives (the peer joined the call first).
    for (const t of pc.getTransceivers()) {
      if (t.currentDirection === 'sendrecv' || t.currentDirection === 'recvonly') this._remoteTrack(p, t.receiver.track);
    }
    for (const track of this.localStream.getTracks()) {
      // An unused transceiver of this kind (from an earlier call, or the peer's offer) first.
      const free = pc.getTransceivers().find((t) => !t.stopped && t.currentDirection !== 'stopped' && !t.sender.track && t.receiver.track.kind === track.kind);
      if (free) {
        free.sender.replaceTrack(track).catch((err) => this._error(err));
        if (free.direction === 'recvonly' || free.direction === 'inactive') free.direction = 'sendrecv';
      } else pc.addTrack(track, this.localStream);
    }
    if (p.media === 'unreachable') this._setMedia(p, 'connecting');
  }

  /** Stops sending to a peer: no track on our senders, so nothing is sent (no renegotiation; the
   * transceivers stay for a later call: Chromium leaves a receiver track muted for good once its
   * transceiver went 'inactive' and came back). */
  _detach(peerId) {
    const pc = this._pcs.get(peerId);
    const p = this._peers.get(peerId);
    p?.unlisten?.();
    if (!pc) return;
    this._pcs.delete(peerId);
    if (pc.signalingState === 'closed') return;
    const mine = new Set(this.localStream.getTracks());
    for (const t of pc.getTransceivers()) {
      if (!t.stopped && mine.has(t.sender.track)) t.sender.replaceTrack(null).catch(() => {});
    }
  }

  _remoteTrack(p, track) {
    if (!this._peers.has(p.id) || track.readyState === 'ended' || p.stream.getTracks().includes(track)) return;
    for (const old of p.stream.getTracks()) if (old.kind === track.kind) p.stream.removeTrack(old);
    p.stream.addTrack(track);
    this._setMedia(p, 'live');
    this._emit('track', p.id, p.stream, track);
  }

  /** Whether the transport will (re)make a connection to the peer: not beyond the mesh, not relay-only. */
  _reachable(peerId) {
    return this._room._transportOptions.relay !== 'always' && this._room.peerInfo(peerId)?.direct === true;
  }

  _setMedia(p, media) {
    if (p.media === media) return;
    p.media = media;
    if (media === 'unreachable' && !this._reported.has(p.id)) {
      this._reported.add(p.id);
      const why = this._room.peerInfo(p.id)?.direct ? 'the room relays everything through the server' : 'it is beyond maxDirectPeers, reached through other peers';
      this._error(new RoomError('no_media_route', `peer ${p.id} is in the call but has no WebRTC connection to this peer (${why}): no audio/video with it`, p.id));
    }
    this._emit('state', p.id, publicPeer(p));
  }

  /** Who talks now: audio levels, each held HOLD_MS. Also notices members without a connection. */
  _measure() {
    const now = performance.now();
    const self = this._self;
    const level = this._level.read();
    if (!self.muted && level > LOCAL_RMS) self.heldUntil = now + HOLD_MS;
    const selfTalking = !self.muted && now < (self.heldUntil || 0);
    if (selfTalking !== self.talking) this._setSelf({ talking: selfTalking });
    for (const p of this._admitted()) {
      const pc = this._pcs.get(p.id);
      let loud = false;
      for (const r of pc ? pc.getReceivers() : []) {
        if (r.track.kind !== 'audio' || !p.stream.getTracks().includes(r.track)) continue;
        for (const s of r.getSynchronizationSources?.() || []) if (s.audioLevel > REMOTE_LEVEL) loud = true;
      }
      if (loud) p.heldUntil = now + HOLD_MS;
      const talking = !p.muted && now < p.heldUntil;
      if (talking !== p.talking) {
        p.talking = talking;
        this._emit('state', p.id, publicPeer(p));
      }
    }
  }

  // ------------------------------------------------------------ end, events

  _end(state) {
    if (this.state !== 'joined') return;
    this.state = state;
    clearInterval(this._tick);
    for (const off of this._off) off();
    for (const id of [...this._pcs.keys()]) this._detach(id);
    this._level.close();
    if (this._ownsStream) for (const t of this.localStream.getTracks()) t.stop();
    if (this._room._activeCall === this) this._room._activeCall = null;
    this._emit('leave', state);
  }

  _emit(event, ...args) {
    for (const cb of this._listeners.get(event).slice()) {
      try {
        cb(...args);
      } catch (err) {
        if (event !== 'error') this._error(new RoomError('listener_error', `a call callback threw: ${err?.message}`, undefined, err));
      }
    }
  }

  _error(err) {
    if (this._listeners.get('error').length > 0) this._emit('error', err);
    else console.warn(`roomsync: call in room "${this._room.name}": ${err.message}`);
  }
}

function publicPeer(p) {
  const out = { id: p.id, muted: p.muted, camera: p.camera, talking: p.talking };
  if (p.stream) Object.assign(out, { stream: p.stream, media: p.media });
  return out;
}

/** RMS of the microphone through an AnalyserNode (0 without audio or WebAudio). */
function localLevel(stream) {
  const AC = globalThis.AudioContext || globalThis.webkitAudioContext;
  if (!AC || stream.getAudioTracks().length === 0) return { read: () => 0, close() {} };
  const ctx = new AC();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  return {
    read() {
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const x of buf) sum += x * x;
      return Math.sqrt(sum / buf.length);
    },
    close: () => ctx.close().catch(() => {}),
  };
}
