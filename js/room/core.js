// Thin JS wrapper over the C++ room core (cpp/room/room_core.h, bound in wasm/room_bindings.cpp).
// No protocol logic lives here: inputs go in with the current time, outputs come back as one
// array per drain(), the glue (joinRoom) does the I/O. Strings and bytes cross through an input
// buffer of this core's in wasm memory, and come out as copies.
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

// rs_room's ops (enum Op in wasm/room_bindings.cpp).
const PEER_JOINED = 0, PEER_LEFT = 1, PEERS_LISTED = 2, CHANNEL_OPEN = 3, CHANNEL_CLOSED = 4, FRAMES_LOST = 5,
  CHANNEL_BUFFERED = 6, HANDLE_FRAME = 7, LOCAL_UPDATE = 8, SEND_ACTION = 9, SET_PRESENCE = 10, SET_TYPING = 11,
  LEAVE = 12, HANDLE_TIMEOUT = 13, POLL_TIMEOUT = 14, SYNCED = 15, PEER_SYNCED = 16, MEMBERS = 17, OPEN_PEERS = 18,
  PRESENCE_OF = 19, DRAIN = 20, STATS = 21, FREE = 22;
// The numbers rs_room_new reads after `self`, in order (wasm/room_bindings.cpp, config()).
const CONFIG_KEYS = ['seed', 'maxDirectPeers', 'heartbeatMs', 'presenceTtlMs', 'pingEveryMs', 'peerTimeoutMs',
  'connectTimeoutMs', 'syncTimeoutMs', 'antiEntropyMs', 'typingTimeoutMs', 'chunkBytes', 'maxFrameBytes',
  'maxMessageBytes', 'maxInflightBytes', 'maxOutboundBytesPerPeer', 'maxPresenceBytes'];
// Each OutKind (cpp/room/room_core.h), by number: its name, then the fields drain() writes after
// `peer` (wasm/room_bindings.cpp), each with its type: n number, f flag, s string, b bytes.
const KINDS = [, 'transmit lane:n bytes:b', 'connect polite:f', 'disconnect reason:s', 'peerUp', 'peerDown reason:s',
  'synced synced:f', 'docChanged flags:n', 'action id:n name:s metadata:s bytes:b',
  'actionProgress id:n name:s metadata:s got:n total:n outgoing:f', 'actionAbort id:n', 'presence present:f state:b',
  'typing typing:f', 'rtt ms:n', 'protocolError code:s message:s'].map((spec) => spec.split(' ').map((f) => f.split(':')));
const SEND_CODES = ['ok', 'busy', 'too_large', 'bad_name', 'bad_metadata', 'bad_target', 'closed'];
const STATS_KEYS = ['framesIn', 'framesOut', 'bytesIn', 'bytesOut', 'garbage', 'violations', 'duplicates', 'relayed',
  'openChannels', 'peers'];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// The result being read (RoomCore._result): wasm memory as doubles and bytes, the next value, the end.
let res, resU8, resAt, resEnd;
// Reads the next value of the result as type t (see KINDS); undefined at the end.
function read(t = 'n') {
  if (resAt >= resEnd) return undefined;
  const v = res[resAt++];
  if (t === 'n') return v;
  if (t === 'f') return v !== 0;
  const n = res[resAt++];
  return t === 's' ? decoder.decode(resU8.subarray(v, v + n)) : resU8.slice(v, v + n);
}

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
    // The wasm functions themselves, as js/index.js calls the document's (rawExports there).
    this._new = mod.asm.rs_room_new || mod._rs_room_new;
    this._call = mod.asm.rs_room || mod._rs_room;
    this._capture = mod.asm.rs_set_capture_updates || mod._rs_set_capture_updates;
    // The room's own doc 'update' listener (joinRoom sets it), which skips the updates this core
    // applies: see handleFrame.
    this.roomListener = null;
    // Inputs get a buffer of their own: rs_scratch() reallocates the Doc's scratch buffer, whose
    // pointer js/index.js keeps between calls (using it here freed that memory under the Doc).
    this._buf = 0;
    this._bufCap = 0;
    this.doc = doc;
    this.self = self;
    const numbers = new Float64Array(CONFIG_KEYS.length);
    for (const [i, key] of CONFIG_KEYS.entries()) {
      const v = key === 'seed' ? seed : tuning[key];
      numbers[i] = typeof v === 'number' ? v : NaN; // NaN: the core's default
    }
    // _live() runs text edits the doc still queues (js/index.js): the core reads the doc directly.
    const docPtr = doc._live();
    const len = this._put([self, new Uint8Array(numbers.buffer)]);
    this._h = this._new(docPtr, doc.clientId, now, this._buf, len) >>> 0;
  }

  // Writes the fields (strings as UTF-8, bytes as they are), each after its length (u32), into
  // the input buffer in wasm memory; returns the byte count.
  _put(fields) {
    let need = 0;
    for (const f of fields) {
      if (typeof f !== 'string' && !(f instanceof Uint8Array)) throw new TypeError('roomsync: expected a string');
      need += 4 + (typeof f === 'string' ? 3 * f.length : f.length);
    }
    if (need > this._bufCap || this._buf === 0) {
      const cap = Math.max(need, 2 * this._bufCap, 64 * 1024);
      const buf = this._mod._malloc(cap) >>> 0; // pointers past 2 GiB come back negative
      if (buf === 0) throw new RangeError('roomsync: out of memory');
      if (this._buf) this._mod._free(this._buf);
      this._buf = buf;
      this._bufCap = cap;
    }
    const heap = this._mod.HEAPU8;  // read after malloc: memory may have grown
    let at = this._buf;
    for (const f of fields) {
      let n = f.length;
      if (typeof f === 'string') n = encoder.encodeInto(f, heap.subarray(at + 4, at + 4 + 3 * n)).written;
      else heap.set(f, at + 4);
      heap[at] = n; heap[at + 1] = n >>> 8; heap[at + 2] = n >>> 16; heap[at + 3] = n >>> 24;
      at += 4 + n;
    }
    return at - this._buf;
  }

  // rs_room(op) with the fields as input and x as its number.
  _op(op, fields, now = 0, x = 0) {
    if (this._h === 0) throw new Error('roomsync: the room core was destroyed');
    const len = fields.length === 0 ? 0 : this._put(fields);
    return this._call(this._h, op, this._buf, len, now, x);
  }

  // A structured result: rs_room returned the address of [n, n values]; read() reads them in
  // order (see READ), until it returns undefined.
  _result(op, fields, now) {
    const at = this._op(op, fields, now) / 8;
    res = this._mod.HEAPF64;
    resU8 = this._mod.HEAPU8;
    resAt = at + 1;
    resEnd = resAt + res[at];
  }

  peerJoined(peer, now) { this._op(PEER_JOINED, [peer], now); }
  peerLeft(peer, now) { this._op(PEER_LEFT, [peer], now); }
  /** Signaling listed everyone present at join (alone in the room means synced). */
  peersListed(now) { this._op(PEERS_LISTED, [], now); }
  channelOpen(peer, now) { this._op(CHANNEL_OPEN, [peer], now); }
  channelClosed(peer, now) { this._op(CHANNEL_CLOSED, [peer], now); }
  /** Report dc.bufferedAmount after sending a batch to peer and on 'bufferedamountlow'. */
  channelBuffered(peer, bytes, now) { this._op(CHANNEL_BUFFERED, [peer], now, bytes); }
  framesLost(peer, now) { this._op(FRAMES_LOST, [peer], now); }
  handleFrame(peer, data, now) {
    const doc = this.doc;
    const h = doc._h !== 0 ? doc._live() : 0;
    // When the room's listener is the document's only 'update' listener, nobody reads the
    // update of what this frame applies: the core then skips encoding it (for a late joiner,
    // the whole snapshot a second time).
    const quiet = h !== 0 && doc._updateListeners.length === 1 && doc._updateListeners[0] === this.roomListener;
    if (quiet) this._capture(h, 0);
    try {
      this._op(HANDLE_FRAME, [peer, toBytes(data)], now);
    } finally {
      if (quiet) this._capture(h, 1);
    }
  }
  /** An update the local document produced (doc.on('update') with an origin other than the room). */
  localUpdate(update, now) { return this._op(LOCAL_UPDATE, [toBytes(update)], now) !== 0; }
  /**
   * Queues an action (bytes) for everyone or for `to`. Returns { code, id, recipients }; code
   * 'busy' means the per-peer send budget is full: retry after actionProgress events.
   */
  sendAction(name, payload, { to = [], metadata = '' } = {}, now) {
    this._result(SEND_ACTION, [name, metadata, toBytes(payload), ...(Array.isArray(to) ? to : [])], now);
    return { code: SEND_CODES[read()], id: read(), recipients: read() };
  }
  setPresence(state, now) { return this._op(SET_PRESENCE, [toBytes(state)], now) !== 0; }
  setTyping(typing, now) { this._op(SET_TYPING, [], now, typing ? 1 : 0); }
  leave(now) { this._op(LEAVE, [], now); }
  handleTimeout(now) { this._op(HANDLE_TIMEOUT, [], now); }
  /** The time (same clock as `now`) at which handleTimeout is due, or null. */
  pollTimeout() {
    const t = this._op(POLL_TIMEOUT, []);
    return t < 0 ? null : t;
  }
  /** Every pending output, in order. */
  drain() {
    this._result(DRAIN, []);
    const outs = [];
    for (let k; (k = read()) !== undefined;) {
      const [[kind], ...fields] = KINDS[k];
      const o = { kind, peer: read('s') };
      for (const [name, t] of fields) o[name] = read(t);
      outs.push(o);
    }
    return outs;
  }
  get synced() { return this._op(SYNCED, []) !== 0; }
  peerSynced(peer) { return this._op(PEER_SYNCED, [peer]) !== 0; }
  /** Peers in the room (from signaling), sorted. */
  members() { return this._ids(MEMBERS); }
  /** Peers with an open channel, sorted. */
  openPeers() { return this._ids(OPEN_PEERS); }
  _ids(op) {
    this._result(op, []);
    const ids = [];
    for (let id; (id = read('s')) !== undefined;) ids.push(id);
    return ids;
  }
  /** A peer's presence state (bytes) or null. */
  presenceOf(peer) {
    this._result(PRESENCE_OF, [peer]);
    return read('b') ?? null;
  }
  stats() {
    this._result(STATS, []);
    return Object.fromEntries(STATS_KEYS.map((key) => [key, read()]));
  }

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
      this._call(this._h, FREE, 0, 0, 0, 0);
      this._h = 0;
    }
    if (this._buf) {
      this._mod._free(this._buf);
      this._buf = 0;
      this._bufCap = 0;
    }
  }
}
