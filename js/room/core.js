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

// rs_room's ops and the numbers rs_room_new reads after `self`, in order (wasm/room_bindings.cpp).
const OP = {
  peerJoined: 0, peerLeft: 1, peersListed: 2, channelOpen: 3, channelClosed: 4, framesLost: 5,
  channelBuffered: 6, handleFrame: 7, localUpdate: 8, sendAction: 9, setPresence: 10, setTyping: 11,
  leave: 12, handleTimeout: 13, pollTimeout: 14, synced: 15, peerSynced: 16, members: 17,
  openPeers: 18, presenceOf: 19, drain: 20, stats: 21, free: 22,
};
const CONFIG_KEYS = ['seed', 'maxDirectPeers', 'heartbeatMs', 'presenceTtlMs', 'pingEveryMs', 'peerTimeoutMs',
  'connectTimeoutMs', 'syncTimeoutMs', 'antiEntropyMs', 'typingTimeoutMs', 'chunkBytes', 'maxFrameBytes',
  'maxMessageBytes', 'maxInflightBytes', 'maxOutboundBytesPerPeer', 'maxPresenceBytes'];
// OutKind (cpp/room/room_core.h) and SendCode, by number.
const KINDS = [, 'transmit', 'connect', 'disconnect', 'peerUp', 'peerDown', 'synced', 'docChanged', 'action',
  'actionProgress', 'actionAbort', 'presence', 'typing', 'rtt', 'protocolError'];
const SEND_CODES = ['ok', 'busy', 'too_large', 'bad_name', 'bad_metadata', 'bad_target', 'closed'];
const STATS_KEYS = ['framesIn', 'framesOut', 'bytesIn', 'bytesOut', 'garbage', 'violations', 'duplicates', 'relayed',
  'openChannels', 'peers'];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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

  // A structured result (the address rs_room returned): its values, with read helpers.
  _result(ptr) {
    const f = this._mod.HEAPF64, u8 = this._mod.HEAPU8;
    let i = (ptr >>> 3) + 1;
    const end = i + f[(ptr >>> 3)];
    return {
      more: () => i < end,
      num: () => f[i++],
      flag: () => f[i++] !== 0,
      str: () => { const p = f[i++], n = f[i++]; return decoder.decode(u8.subarray(p, p + n)); },
      bytes: () => { const p = f[i++], n = f[i++]; return u8.slice(p, p + n); },
    };
  }

  peerJoined(peer, now) { this._op(OP.peerJoined, [peer], now); }
  peerLeft(peer, now) { this._op(OP.peerLeft, [peer], now); }
  /** Signaling listed everyone present at join (alone in the room means synced). */
  peersListed(now) { this._op(OP.peersListed, [], now); }
  channelOpen(peer, now) { this._op(OP.channelOpen, [peer], now); }
  channelClosed(peer, now) { this._op(OP.channelClosed, [peer], now); }
  /** Report dc.bufferedAmount after sending a batch to peer and on 'bufferedamountlow'. */
  channelBuffered(peer, bytes, now) { this._op(OP.channelBuffered, [peer], now, bytes); }
  framesLost(peer, now) { this._op(OP.framesLost, [peer], now); }
  handleFrame(peer, data, now) {
    if (this.doc._h !== 0) this.doc._live();
    this._op(OP.handleFrame, [peer, toBytes(data)], now);
  }
  /** An update the local document produced (doc.on('update') with an origin other than the room). */
  localUpdate(update, now) { return this._op(OP.localUpdate, [toBytes(update)], now) !== 0; }
  /**
   * Queues an action (bytes) for everyone or for `to`. Returns { code, id, recipients }; code
   * 'busy' means the per-peer send budget is full: retry after actionProgress events.
   */
  sendAction(name, payload, { to = [], metadata = '' } = {}, now) {
    const fields = [name, metadata, toBytes(payload), ...(Array.isArray(to) ? to : [])];
    const r = this._result(this._op(OP.sendAction, fields, now));
    return { code: SEND_CODES[r.num()], id: r.num(), recipients: r.num() };
  }
  setPresence(state, now) { return this._op(OP.setPresence, [toBytes(state)], now) !== 0; }
  setTyping(typing, now) { this._op(OP.setTyping, [], now, typing ? 1 : 0); }
  leave(now) { this._op(OP.leave, [], now); }
  handleTimeout(now) { this._op(OP.handleTimeout, [], now); }
  /** The time (same clock as `now`) at which handleTimeout is due, or null. */
  pollTimeout() {
    const t = this._op(OP.pollTimeout, []);
    return t < 0 ? null : t;
  }
  /** Every pending output, in order. */
  drain() {
    const r = this._result(this._op(OP.drain, []));
    const outs = [];
    while (r.more()) {
      const kind = KINDS[r.num()];
      const o = { kind, peer: r.str() };
      switch (kind) {
        case 'transmit': o.lane = r.num(); o.bytes = r.bytes(); break;
        case 'connect': o.polite = r.flag(); break;
        case 'disconnect': case 'peerDown': o.reason = r.str(); break;
        case 'synced': o.synced = r.flag(); break;
        case 'docChanged': o.flags = r.num(); break;
        case 'action': o.id = r.num(); o.name = r.str(); o.metadata = r.str(); o.bytes = r.bytes(); break;
        case 'actionProgress':
          o.id = r.num(); o.name = r.str(); o.metadata = r.str(); o.got = r.num(); o.total = r.num(); o.outgoing = r.flag();
          break;
        case 'actionAbort': o.id = r.num(); break;
        case 'presence': o.present = r.flag(); o.state = r.bytes(); break;
        case 'typing': o.typing = r.flag(); break;
        case 'rtt': o.ms = r.num(); break;
        case 'protocolError': o.code = r.str(); o.message = r.str(); break;
      }
      outs.push(o);
    }
    return outs;
  }
  get synced() { return this._op(OP.synced, []) !== 0; }
  peerSynced(peer) { return this._op(OP.peerSynced, [peer]) !== 0; }
  /** Peers in the room (from signaling), sorted. */
  members() { return this._ids(OP.members); }
  /** Peers with an open channel, sorted. */
  openPeers() { return this._ids(OP.openPeers); }
  _ids(op) {
    const r = this._result(this._op(op, []));
    const ids = [];
    while (r.more()) ids.push(r.str());
    return ids;
  }
  /** A peer's presence state (bytes) or null. */
  presenceOf(peer) {
    const r = this._result(this._op(OP.presenceOf, [peer]));
    return r.more() ? r.bytes() : null;
  }
  stats() {
    const r = this._result(this._op(OP.stats, []));
    const out = {};
    for (const key of STATS_KEYS) out[key] = r.num();
    return out;
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
      this._call(this._h, OP.free, 0, 0, 0, 0);
      this._h = 0;
    }
    if (this._buf) {
      this._mod._free(this._buf);
      this._buf = 0;
      this._bufCap = 0;
    }
  }
}
