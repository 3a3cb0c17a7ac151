// Thin JS wrapper over the C++ room core (cpp/room/room_core.h, bound in wasm/room_bindings.cpp).
// No protocol logic lives here: inputs go in with the current time, outputs come back as one
// array per drain(), the glue (joinRoom) does the I/O. Bytes cross through the module's scratch
// buffer in, and as copies out.
//
//   const core = await createRoomCore({ self: peerId, doc });
//   core.peerJoined(id, now()); pump();
//   pump(): for (const out of core.drain()) { ... }  then arm one timer at core.pollTimeout()
//
// Outputs ({ kind, peer, ... }):
//   transmit {bytes, lane}       send bytes to peer (lane 0 control, 1 document, 2 actions)
//   connect {polite}             open a connection to peer (perfect-negotiation role)
//   disconnect {reason}          close the connection to peer
//   peerUp / peerDown {reason}   room membership
//   synced {synced}              peer === '' : the room; else that peer's sync reply is in
//   docChanged {flags}           a remote update was applied: call core.emitDocChange(out)
//   action {id, name, metadata, bytes}
//   actionProgress {id, name, metadata, got, total, outgoing}   peer: recipient / sender
//   actionAbort {id}             an outgoing action to peer stopped (peer gone)
//   presence {present, state}    typing {typing}    rtt {ms}
//   protocolError {code, message}
import { loadModule } from '../load-module.js';

const SEND_CODES = new Set(['ok', 'busy', 'too_large', 'bad_name', 'bad_metadata', 'bad_target', 'closed']);

function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('roomsync: expected a Uint8Array or an ArrayBuffer');
}

function randomSeed() {
  const words = new Uint32Array(2);
  globalThis.crypto.getRandomValues(words);
  return words[0] * 2 ** 21 + (words[1] >>> 11);  // 53 bits, exact as a JS number
}

/**
 * @param {{ self: string, doc: import('../index.js').Doc, seed?: number, now?: number,
 *           maxDirectPeers?: number, [tuning: string]: unknown }} options
 */
export async function createRoomCore(options) {
  return new RoomCore(await loadModule(), options);
}

export class RoomCore {
  constructor(mod, { self, doc, seed = randomSeed(), now = 0, ...tuning }) {
    if (typeof self !== 'string' || self.length === 0) throw new TypeError('roomsync: self must be a peer id');
    if (!doc || typeof doc._h !== 'number' || doc._h === 0) throw new TypeError('roomsync: doc must be a live Doc');
    this._mod = mod;
    // Inputs get a buffer of their own: rs_scratch() reallocates the Doc's scratch buffer, whose
    // pointer js/index.js keeps between calls (using it here freed that memory under the Doc).
    this._buf = 0;
    this._bufCap = 0;
    this.doc = doc;
    this.self = self;
    // _live() runs text edits the doc still queues (js/index.js): the core reads the doc directly.
    this._h = new mod.RoomHandle({ ...tuning, self, seed, now, docPtr: doc._live(), clientId: doc.clientId });
  }

  // Copies bytes into wasm memory and calls fn(ptr, len).
  _withBytes(data, fn) {
    const bytes = toBytes(data);
    if (bytes.length > this._bufCap || this._buf === 0) {
      const cap = Math.max(bytes.length, 2 * this._bufCap, 64 * 1024);
      const buf = this._mod._malloc(cap) >>> 0; // pointers past 2 GiB come back negative
      if (buf === 0) throw new RangeError('roomsync: out of memory');
      if (this._buf) this._mod._free(this._buf);
      this._buf = buf;
      this._bufCap = cap;
    }
    const ptr = this._buf;
    this._mod.HEAPU8.set(bytes, ptr);  // read HEAPU8 after the call: memory may have grown
    return fn(ptr, bytes.length);
  }

  peerJoined(peer, now) { this._h.peerJoined(peer, now); }
  peerLeft(peer, now) { this._h.peerLeft(peer, now); }
  /** Signaling listed everyone present at join (alone in the room means synced). */
  peersListed(now) { this._h.peersListed(now); }
  channelOpen(peer, now) { this._h.channelOpen(peer, now); }
  channelClosed(peer, now) { this._h.channelClosed(peer, now); }
  /** Report dc.bufferedAmount after sending a batch to peer and on 'bufferedamountlow'. */
  channelBuffered(peer, bytes, now) { this._h.channelBuffered(peer, bytes, now); }
  framesLost(peer, now) { this._h.framesLost(peer, now); }
  handleFrame(peer, data, now) { if (this.doc._h !== 0) this.doc._live(); this._withBytes(data, (p, n) => this._h.handleFrame(peer, p, n, now)); }
  /** An update the local document produced (doc.on('update') with an origin other than the room). */
  localUpdate(update, now) { return this._withBytes(update, (p, n) => this._h.localUpdate(p, n, now)); }
  /**
   * Queues an action (bytes) for everyone or for `to`. Returns { code, id, recipients }; code
   * 'busy' means the per-peer send budget is full: retry after actionProgress events.
   */
  sendAction(name, payload, { to = [], metadata = '' } = {}, now) {
    const r = this._withBytes(payload, (p, n) => this._h.sendAction(name, p, n, to, metadata, now));
    if (!SEND_CODES.has(r.code)) throw new Error(`roomsync: unexpected send result ${r.code}`);
    return r;
  }
  setPresence(state, now) { return this._withBytes(state, (p, n) => this._h.setPresence(p, n, now)); }
  setTyping(typing, now) { this._h.setTyping(!!typing, now); }
  leave(now) { this._h.leave(now); }
  handleTimeout(now) { this._h.handleTimeout(now); }
  /** The time (same clock as `now`) at which handleTimeout is due, or null. */
  pollTimeout() {
    const t = this._h.pollTimeout();
    return t < 0 ? null : t;
  }
  /** Every pending output, in order. */
  drain() { return this._h.drain(); }
  get synced() { return this._h.synced(); }
  peerSynced(peer) { return this._h.peerSynced(peer); }
  /** Peers in the room (from signaling), sorted. */
  members() { return this._h.members(); }
  /** Peers with an open channel, sorted. */
  openPeers() { return this._h.openPeers(); }
  /** A peer's presence state (bytes) or null. */
  presenceOf(peer) { return this._h.presenceOf(peer); }
  stats() { return this._h.stats(); }

  /**
   * For a docChanged output: lets the JS Doc emit its observers and 'update' listeners for the
   * change the core applied, with `origin` (the room). Call it while handling that output,
   * before anything else edits the document.
   */
  emitDocChange(out, origin) {
    const doc = this.doc;
    if (doc._h === 0) return;
    if (typeof doc._remoteApplied === 'function') doc._remoteApplied(out.flags, origin);
    else if (doc._listening && doc._txDepth === 0) doc._dispatch(out.flags, origin, false);
  }

  destroy() {
    if (this._h) {
      this._h.delete();
      this._h = null;
    }
    if (this._buf) {
      this._mod._free(this._buf);
      this._buf = 0;
      this._bufCap = 0;
    }
  }
}
