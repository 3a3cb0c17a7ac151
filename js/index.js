// roomsync public API: CRDT documents backed by the C++ core compiled to WebAssembly.
//
//   const doc = await createDoc();
//   const text = doc.getText('body');
//   text.insert(0, 'hello');
//   doc.on('update', (bytes, origin) => peer.send(bytes));
//
// This file is I/O and ergonomics only; every CRDT decision is made by the core. Hot paths
// (text edits and reads) call raw wasm exports with integers only: text crosses as UTF-16 code
// units through a scratch buffer in wasm memory (see wasm/bindings.cpp).
import { loadModule } from './load-module.js';

// Root types, as in cpp/crdt/doc.h (RootType).
const TEXT = 1;
const MAP = 2;
const REGISTER = 3;
const COUNTER = 4;
const LIST = 5;
const TYPE_NAMES = { [TEXT]: 'Text', [MAP]: 'Map', [REGISTER]: 'Register', [COUNTER]: 'Counter', [LIST]: 'List' };

// Transaction result flags and event stream tags (wasm/bindings.cpp).
const HAS_UPDATE = 2;
const HAS_EVENTS = 4;
const EV_TEXT = 1;
const EV_MAP = 2;
const EV_COUNTER = 3;
const EV_LIST = 4;
const OP_RETAIN = 0;
const OP_INSERT = 1;

const MAX_CLIENT_ID = 2 ** 53 - 1;
const ERR_RANGE = 2; // Status::kRange: a text position or range the document refused
const ERR_CLIENT_ID_COLLISION = 3; // Status::kClientIdCollision
const ERR_OUT_OF_MEMORY = 4; // Status::kOutOfMemory (wasm/memory_guard.h)

// ---- the module, loaded once ------------------------------------------------------------
let M = null; // Emscripten module
let X = null; // raw wasm exports
let heapU8 = null;
let heapU16 = null;
let heapU32 = null;
let scratchPtr = 0;
let scratchBytes = 0;
let utf16Decoder = null;

async function init() {
  if (M) return;
  const mod = await loadModule();
  if (M) return;
  M = mod;
  X = rawExports(mod);
  heapU8 = mod.HEAPU8;
  heapU16 = mod.HEAPU16;
  heapU32 = mod.HEAPU32;
  utf16Decoder = typeof TextDecoder === 'function' ? new TextDecoder('utf-16le') : null;
}

const EXPORTS = [
  'rs_scratch', 'rs_text_insert', 'rs_text_delete', 'rs_text_length', 'rs_text_content', 'rs_text_out',
  'rs_encode_state', 'rs_state_vector', 'rs_encode_state_since', 'rs_bytes_out', 'rs_bytes_out_len',
  'rs_apply_update', 'rs_begin', 'rs_commit', 'rs_take_last_result', 'rs_set_observed',
  'rs_set_capture_updates', 'rs_events', 'rs_events_len', 'rs_event_text',
  'rs_map_set', 'rs_map_delete', 'rs_map_get', 'rs_map_has', 'rs_register_set', 'rs_register_get',
  'rs_counter_add', 'rs_counter_value',
  'rs_list_insert', 'rs_list_delete', 'rs_list_length', 'rs_list_get', 'rs_list_content',
  'rs_sticky_index', 'rs_sticky_client', 'rs_sticky_clock', 'rs_resolve_sticky',
  'rs_undo',
  'rs_memory_refused', 'rs_text_runs', 'rs_doc_memory_bytes', 'rs_memory_set_limit', 'rs_memory_info', // memory (issue 8)
  'rs_release_out',
  'rs_queue_buffer', 'rs_queue_open', 'rs_text_plain_length', 'rs_run_queue', // command queue (issue 8)
];

// The wasm functions themselves (no JS wrapper in between), by their C names. The build keeps
// export names unminified (see CMakeLists.txt); should a build minify them anyway, fall back to
// Emscripten's Module._name wrappers.
function rawExports(mod) {
  const out = {};
  for (const name of EXPORTS) {
    const fn = mod.asm[name];
    out[name] = typeof fn === 'function' ? fn : (...args) => mod[`_${name}`](...args);
  }
  return out;
}

// Views over wasm memory. Growing the memory detaches the old buffer (length becomes 0); the
// glue then publishes fresh views on the module.
function u8() {
  if (heapU8.length === 0) heapU8 = M.HEAPU8;
  return heapU8;
}
function u16() {
  if (heapU16.length === 0) heapU16 = M.HEAPU16;
  return heapU16;
}
function u32() {
  if (heapU32.length === 0) heapU32 = M.HEAPU32;
  return heapU32;
}

// Calls every listener, even after one threw (a committed change reaches everyone); one added
// or removed meanwhile takes effect from the next event. Returns `errors` with what the
// listeners threw appended (null while nothing threw).
function callAll(listeners, a, b, errors) {
  if (listeners.length === 1) {
    try {
      listeners[0](a, b);
    } catch (err) {
      errors = errors === null ? [err] : (errors.push(err), errors);
    }
    return errors;
  }
  for (const cb of listeners.slice()) {
    try {
      cb(a, b);
    } catch (err) {
      errors = errors === null ? [err] : (errors.push(err), errors);
    }
  }
  return errors;
}

/**
 * Thrown after a change was applied and emitted to every observer and 'update' listener, when
 * at least one of them threw. The change is NOT undone: the document holds it and every
 * listener saw it. `cause` is the first error, `errors` all of them in call order.
 */
export class ListenerError extends AggregateError {
  constructor(errors) {
    const first = errors[0];
    const what = errors.length === 1 ? 'a listener' : `${errors.length} listeners`;
    super(errors, `roomsync: ${what} threw (the change was applied and emitted to every listener): ` +
      `${first instanceof Error ? first.message : String(first)}`, { cause: first });
    this.name = 'ListenerError';
  }
}

// Returns a pointer to at least `bytes` bytes of scratch space in wasm memory.
function scratch(bytes) {
  if (bytes > scratchBytes) {
    const size = Math.max(bytes, scratchBytes * 2, 1024);
    const ptr = X.rs_scratch(size) >>> 0; // pointers past 2 GiB come back negative
    if (ptr === 0) throw oomError(size); // the old buffer stays
    scratchPtr = ptr;
    scratchBytes = size;
  }
  return scratchPtr;
}

// ---- the command queue (issue 8) -----------------------------------------------------------
// Text edits of a document nobody listens to (no observer, 'update' listener, undo manager or
// room) are not sent to WebAssembly one call each: they are written into a buffer in wasm
// memory and run in one call (rs_run_queue, layout in wasm/bindings.cpp) as soon as anything
// else touches that document, or another document queues. The call per keystroke was half the
// cost of typing. Every edit is still checked here, synchronously, exactly as the core would:
// against the text's length with the queued edits, on a text that never held a surrogate (else
// positions need the core's pair checks and the edit goes direct), within the clocks and memory
// the core granted the batch. Anything unusual goes the direct way, whose errors are the core's.
const QUEUE_WORDS = 16384;
let queuePtr = -1; // -1: not allocated yet; 0: none could be
let queueDoc = null; // the document whose edits are queued (at most one)
let queueUsed = 0; // words
let queueClocks = 0; // clocks the queued edits may still take

// Queues insert(pos, str) (str !== null) or delete(pos, len) on `text`; false: edit directly.
function queueEdit(text, pos, str, len) {
  if ((pos >>> 0) !== pos || (str === null ? (len >>> 0) !== len : typeof str !== 'string')) return false;
  const doc = text.doc;
  if (doc._h === 0 || (queueDoc !== doc && !openQueue(doc))) return false;
  if (text._qEpoch !== doc._epoch) {
    text._qLen = X.rs_text_plain_length(doc._h, text._handle);
    text._qEpoch = doc._epoch;
  }
  const n = str === null ? len : str.length;
  if (text._qLen < 0 || (str === null ? pos + len : pos) > text._qLen) return false;
  const words = str === null ? 3 : 3 + ((n + 1) >> 1);
  if (queueUsed + words > QUEUE_WORDS || n > queueClocks) {
    if (words > QUEUE_WORDS) return false;
    runQueue();
    if (!openQueue(doc) || n > queueClocks) return false;
  }
  if (n === 0) return true; // an empty edit in range changes nothing
  const at = (queuePtr >>> 2) + queueUsed;
  if (str !== null) {
    const heap16 = u16();
    const base = 2 * (at + 3);
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      const c = str.charCodeAt(i);
      pairs |= (c & 0xf800) === 0xd800 ? 1 : 0;
      heap16[base + i] = c;
    }
    if (pairs !== 0) return false; // not counted: the words written are simply reused
  }
  const heap32 = u32();
  heap32[at] = text._handle * 2 + (str === null ? 1 : 0);
  heap32[at + 1] = pos;
  heap32[at + 2] = n;
  queueUsed += words;
  queueClocks -= n;
  text._qLen += str === null ? -n : n;
  return true;
}

// Makes `doc` the queue's document (running another's queued edits first); false when the core
// grants no batch (memory or clocks running out): then every edit goes direct, checked alone.
function openQueue(doc) {
  if (queueDoc !== null) runQueue();
  if (queuePtr === -1) queuePtr = X.rs_queue_buffer(4 * QUEUE_WORDS) >>> 0;
  if (queuePtr === 0) return false;
  queueClocks = X.rs_queue_open(doc._h, QUEUE_WORDS);
  if (queueClocks === 0) return false;
  queueDoc = doc;
  return true;
}

// Runs the queued edits and closes the queue (what the grant allowed may have changed).
function runQueue() {
  const doc = queueDoc;
  const used = queueUsed;
  queueDoc = null;
  queueUsed = 0;
  if (used !== 0 && doc._h !== 0 && X.rs_run_queue(doc._h, queuePtr, used) !== 0) doc._fail();
}

// ---- memory (issue 8) ---------------------------------------------------------------------

/**
 * Thrown when a call would need more WebAssembly memory than may be used (the module's 4 GiB
 * ceiling, or a lower limit set with setMemoryLimit). Nothing was changed: the document is as
 * before the call, and every other document keeps working. `code === 'out_of_memory'`.
 */
export class OutOfMemoryError extends Error {
  constructor(message) {
    super(`roomsync: ${message}`);
    this.name = 'OutOfMemoryError';
    this.code = 'out_of_memory';
  }
}

// The error for a call refused that may need `need` bytes.
function oomError(need) {
  const mb = (b) => Math.round(b / 2 ** 20);
  return new OutOfMemoryError(`out of memory: this call may need ${mb(need)} MB, ${mb(X.rs_memory_info(2))} MB of the ` +
    `${mb(X.rs_memory_info(0))} MB memory limit are in use (destroy() documents no longer needed, or raise ` +
    'the limit with setMemoryLimit()); nothing was changed');
}

// Results bigger than this are freed in wasm memory once copied out (rs_release_out): else
// every document would keep its last text, state or update there.
const KEEP_RESULT_BYTES = 4096;
function copied(h, bytes, result) {
  if (bytes > KEEP_RESULT_BYTES) X.rs_release_out(h);
  return result;
}

// Throws OutOfMemoryError unless a call on `h` (0: no document) with `inputBytes` of input,
// expanding at most `factor` times, fits within the memory limit (wasm/memory_guard.h).
function memoryGuard(h, inputBytes, factor) {
  const need = X.rs_memory_refused(h, inputBytes, factor);
  if (need !== 0) throw oomError(need);
}

/**
 * Sets the most WebAssembly memory roomsync may use, in bytes (shared by every document of
 * the page or process). A call that could pass it throws OutOfMemoryError and changes nothing.
 * No argument, 0 or more than the default restores the default (the 4 GiB ceiling less a
 * headroom). Resolves to the limit now in force.
 */
export async function setMemoryLimit(bytes = 0) {
  await init();
  if (typeof bytes !== 'number' || !(bytes >= 0)) throw new RangeError(`roomsync: memory limit must be a number of bytes, got ${bytes}`);
  return X.rs_memory_set_limit(bytes);
}

/** WebAssembly memory of the module: { wasmBytes, usedBytes, limitBytes, maxBytes }. */
export async function memoryUsage() {
  await init();
  return {
    wasmBytes: M.HEAPU8.buffer.byteLength, usedBytes: X.rs_memory_info(2),
    limitBytes: X.rs_memory_info(0), maxBytes: X.rs_memory_info(1),
  };
}

// Writes a JS string's UTF-16 code units into scratch space; returns the pointer.
function writeString(str) {
  const n = str.length;
  const ptr = scratch(n * 2);
  const heap = u16();
  const base = ptr >>> 1;
  for (let i = 0; i < n; i++) heap[base + i] = str.charCodeAt(i);
  return ptr;
}

// Writes two strings one after the other into scratch space; returns the pointer of each.
let secondPtr = 0;
function writeStrings(a, b) {
  const na = a.length;
  const nb = b.length;
  const ptr = scratch(2 * (na + nb));
  const heap = u16();
  const base = ptr >>> 1;
  for (let i = 0; i < na; i++) heap[base + i] = a.charCodeAt(i);
  for (let i = 0; i < nb; i++) heap[base + na + i] = b.charCodeAt(i);
  secondPtr = ptr + 2 * na;
  return ptr;
}

// A JSON text the last call left at rs_text_out (length from the call; -1: none).
function readJson(h, len) {
  return len < 0 ? undefined : JSON.parse(readString(X.rs_text_out(h) >>> 0, len));
}

function writeBytes(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('roomsync: expected a Uint8Array');
  const ptr = scratch(bytes.length);
  u8().set(bytes, ptr);
  return ptr;
}

// Reads `len` UTF-16 code units at `ptr`. Short strings: String.fromCharCode on the view;
// longer ones: TextDecoder, unless it had to replace a lone surrogate (then the exact slow path).
// Measured in Node 20: TextDecoder wins from ~32 code units on (4x at 4 KB, 3x at 1 M).
// (Writing goes the other way with a charCodeAt loop: a TextEncoder.encodeInto + UTF-8 path
// was measured too and gained under 10% on long strings, the core's insert dominating.)
const DECODER_MIN = 32;
const CHUNK = 8192;
function readString(ptr, len) {
  if (len === 0) return '';
  const start = ptr >>> 1;
  const heap = u16();
  if (len <= 4) { // typing: skip the subarray
    let s = String.fromCharCode(heap[start]);
    for (let i = 1; i < len; i++) s += String.fromCharCode(heap[start + i]);
    return s;
  }
  if (len < DECODER_MIN || utf16Decoder === null) {
    if (len <= CHUNK) return String.fromCharCode.apply(null, heap.subarray(start, start + len));
    return readChunks(heap, start, len);
  }
  if (len <= DECODE_MAX) return decode(ptr, len);
  // Node's TextDecoder refuses 2^27 code units and more: decode such text in pieces, each
  // ending before a high surrogate so that no pair is cut in two.
  let out = '';
  for (let i = 0; i < len;) {
    let n = Math.min(DECODE_MAX, len - i);
    if (i + n < len && (heap[start + i + n - 1] & 0xFC00) === 0xD800) n--;
    out += decode(ptr + 2 * i, n);
    i += n;
  }
  return out;
}
let DECODE_MAX = 1 << 24; // code units per TextDecoder call (tests lower it: _testing)
function decode(ptr, len) {
  const s = utf16Decoder.decode(u8().subarray(ptr, ptr + 2 * len));
  if (s.indexOf('\uFFFD') === -1) return s;
  return readChunks(u16(), ptr >>> 1, len);
}
function readChunks(heap, start, len) {
  let out = '';
  for (let i = 0; i < len; i += CHUNK) {
    out += String.fromCharCode.apply(null, heap.subarray(start + i, start + Math.min(len, i + CHUNK)));
  }
  return out;
}

function checkIndex(value, what) {
  if ((value >>> 0) !== value) {
    throw new RangeError(`roomsync: ${what} must be an integer between 0 and 2^32-1, got ${value}`);
  }
}

function checkString(value, what) {
  if (typeof value !== 'string') throw new TypeError(`roomsync: ${what} must be a string`);
}

// Keys and root names cross as UTF-8, which cannot carry a lone surrogate: refuse one rather
// than let it turn into another character.
const LONE_SURROGATE = /\p{Surrogate}/u;
function checkName(value, what) {
  checkString(value, what);
  if (LONE_SURROGATE.test(value)) throw new TypeError(`roomsync: ${what} contains a lone surrogate`);
}

// `existing`: bit (1 << type) for every type the document has a root `name` of.
function typeClash(name, existing, wanted) {
  const types = [TEXT, MAP, REGISTER, COUNTER, LIST].filter((t) => existing & (1 << t)).map((t) => TYPE_NAMES[t]);
  return new Error(`roomsync: root "${name}" is a ${types.join(' and a ')}, not a ${TYPE_NAMES[wanted]} ` +
    '(one name, one type)');
}

function toJsonText(value) {
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError('roomsync: value must be JSON-serializable');
  return json;
}

function randomClientId() {
  const words = new Uint32Array(2);
  globalThis.crypto.getRandomValues(words);
  // 21 high bits + 32 low bits = a uniform 53-bit integer; 0 is avoided.
  return (words[0] & 0x1fffff) * 2 ** 32 + words[1] || 1;
}

// ---- sticky positions (anchors: see StickyIndex in index.d.ts) ---------------------------
// The anchor is a plain JSON-safe object: { t: root type, r: root name, c: the element's
// client id, k: its clock, a: 0 (stays before the element) or -1 (stays after it) }; without
// c and k it is the end (a: 0) or the start (a: -1) of the root. The core does the rest.
const STICKY_TYPES = { text: TEXT, list: LIST }; // sequence roots by the name anchors carry

function makeSticky(root, index, assoc) {
  const doc = root.doc;
  const h = doc._live();
  checkIndex(index, 'index');
  if (typeof assoc !== 'number' || Number.isNaN(assoc)) throw new TypeError('roomsync: assoc must be a number');
  const a = assoc < 0 ? -1 : 0;
  const t = Object.keys(STICKY_TYPES).find((name) => STICKY_TYPES[name] === root._type);
  const kind = X.rs_sticky_index(h, root._handle, index, a);
  if (kind < 0) doc._fail();
  if (kind === 0) return { t, r: root.name, a };
  return { t, r: root.name, c: X.rs_sticky_client(h), k: X.rs_sticky_clock(h), a };
}

function resolveSticky(root, anchor) {
  const doc = root.doc;
  const h = doc._live();
  if (typeof anchor !== 'object' || anchor === null) throw new TypeError('roomsync: a sticky index must be an object');
  const { t, r, c, k, a } = anchor;
  const type = typeof t === 'string' && Object.hasOwn(STICKY_TYPES, t) ? STICKY_TYPES[t] : 0;
  if (type === 0) throw new TypeError(`roomsync: sticky index root type must be one of ${Object.keys(STICKY_TYPES).join(', ')}`);
  checkName(r, 'sticky index root name');
  if (typeof a !== 'number') throw new TypeError('roomsync: sticky index assoc (a) must be a number');
  if (a !== 0 && a !== -1) throw new RangeError(`roomsync: sticky index assoc (a) must be 0 or -1, got ${a}`);
  const element = c !== undefined && c !== null;
  if (element !== (k !== undefined && k !== null)) {
    throw new TypeError('roomsync: a sticky index has both a client (c) and a clock (k), or neither');
  }
  if (element) {
    if (typeof c !== 'number' || typeof k !== 'number') throw new TypeError('roomsync: sticky index c and k must be numbers');
    if (!Number.isInteger(c) || c < 0 || c > MAX_CLIENT_ID) {
      throw new RangeError(`roomsync: sticky index client id must be an integer between 0 and 2^53-1, got ${c}`);
    }
    checkIndex(k, 'sticky index clock');
  }
  const ptr = writeString(r);
  const index = X.rs_resolve_sticky(h, root._handle, type, ptr, r.length, element ? 1 : 0,
    element ? c : 0, element ? k : 0, a);
  if (index === -2) doc._fail();
  return index === -1 ? null : index;
}

// Free the wasm side of documents the app dropped without calling destroy().
const finalizer = typeof FinalizationRegistry === 'function'
  ? new FinalizationRegistry((handle) => handle.delete())
  : null;

// ---- Doc ---------------------------------------------------------------------------------

/**
 * Creates a document. Loads and instantiates the WebAssembly module on first use.
 * @param {{ clientId?: number, state?: Uint8Array }} [options]
 */
export async function createDoc(options = {}) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`roomsync: createDoc takes an options object ({ clientId, state }), got ${options === null ? 'null' : typeof options}`);
  }
  await init();
  const doc = new Doc(options.clientId);
  if (options.state !== undefined) {
    try {
      doc.applyUpdate(options.state);
    } catch (err) {
      doc.destroy();
      throw err;
    }
  }
  return doc;
}

export class Doc {
  /** Use createDoc(); the constructor needs the module to be loaded already. */
  constructor(clientId) {
    if (M === null) throw new Error('roomsync: the module is not loaded; use `await createDoc()`');
    if (clientId === undefined) clientId = randomClientId();
    if (!Number.isInteger(clientId) || clientId < 0 || clientId > MAX_CLIENT_ID) {
      throw new RangeError(`roomsync: clientId must be an integer between 0 and 2^53-1, got ${clientId}`);
    }
    memoryGuard(0, 0, 0);
    this._handle = new M.DocHandle(clientId);
    this._h = this._handle.ptr(); // raw pointer for the hot-path exports; 0 once destroyed
    this.clientId = clientId;
    this._roots = new Map(); // type digit + name -> root object
    this._byHandle = []; // root handle -> root object
    this._updateListeners = [];
    this._observedRoots = 0;
    this._listening = false; // any observer or update listener: collect transaction results
    this._txDepth = 0;
    this._emitting = false; // inside _dispatch: transactions committed meanwhile wait in _queue
    this._queue = [];
    this._undoManagers = []; // js/undo.js: each sees every local transaction
    this._epoch = 0; // bumped by every call but queued edits: text lengths cached for the queue expire
    if (finalizer) finalizer.register(this, this._handle, this);
  }

  _live() {
    if (this._h === 0) throw new Error('roomsync: this document has been destroyed');
    if (queueDoc === this) runQueue();
    this._epoch++;
    return this._h;
  }

  // Throws the core's last error. Status codes as in cpp/crdt/doc.h (Status::Code).
  _fail() {
    const code = this._handle.errorCode();
    if (code === ERR_OUT_OF_MEMORY) throw oomError(Number(this._handle.error())); // the message is the bytes needed
    const err = code === ERR_RANGE ? new RangeError(this._handle.error()) : new Error(this._handle.error());
    if (code === ERR_CLIENT_ID_COLLISION) err.code = 'client_id_collision';
    throw err;
  }

  /**
   * Whether `clientId` is this document's own or appears in anything it has received: a
   * replica joining under such an id would collide with one that exists.
   */
  knowsClient(clientId) {
    this._live();
    if (!Number.isInteger(clientId) || clientId < 0 || clientId > MAX_CLIENT_ID) return false;
    return this._handle.knowsClient(clientId);
  }

  _root(type, name, Class) {
    this._live();
    checkName(name, 'root name');
    const key = type + name; // the type is one digit: keys never collide
    let root = this._roots.get(key);
    if (root === undefined) {
      // The core keys roots by type and name. This replica never gives one name a second
      // type; but when two replicas did so concurrently, the document holds both, and each
      // stays readable here under its own type.
      const types = this._handle.rootTypes(name);
      const other = types & ~(1 << type);
      if ((types & (1 << type)) === 0 && other !== 0) throw typeClash(name, other, type);
      const handle = this._handle.root(type, name);
      if (handle < 0) this._fail();
      root = new Class(this, handle, name);
      this._roots.set(key, root);
      this._byHandle[handle] = root;
    }
    return root;
  }

  /** @returns {Text} */
  getText(name) { return this._root(TEXT, name, Text); }
  /** @returns {RMap} */
  getMap(name) { return this._root(MAP, name, RMap); }
  /** @returns {Register} */
  getRegister(name) { return this._root(REGISTER, name, Register); }
  /** @returns {Counter} */
  getCounter(name) { return this._root(COUNTER, name, Counter); }
  /** @returns {List} */
  getList(name) { return this._root(LIST, name, List); }

  /**
   * Runs fn as one transaction: observers and 'update' listeners fire once, at the end, with
   * `origin`. A transact inside another joins the outer one. Changes made before fn throws stay.
   */
  transact(fn, origin = null) {
    const h = this._live();
    if (this._txDepth > 0) return fn(this);
    this._txDepth = 1;
    X.rs_begin(h);
    let threw = true;
    try {
      const result = fn(this);
      threw = false;
      return result;
    } finally {
      this._txDepth = 0;
      if (this._h !== 0) {
        if (queueDoc === this) runQueue();
        const flags = X.rs_commit(h);
        if (this._listening) {
          if (!threw) this._dispatch(flags, origin, true);
          else {
            // fn's own error is the one the caller gets; listeners still see the change.
            try { this._dispatch(flags, origin, true); } catch { /* a ListenerError */ }
          }
        }
      }
    }
  }

  // After a local edit: outside transact() the core committed it on its own; fetch the result
  // only when someone listens.
  _afterEdit(h, origin, local) {
    if (this._txDepth === 0 && this._listening) this._dispatch(X.rs_take_last_result(h), origin, local);
  }

  // The room core (js/room/core.js) applied a remote update to this document: emit it like
  // applyUpdate() does, with the room as origin. `flags` is that transaction's result.
  _remoteApplied(flags, origin) {
    if (this._h !== 0 && this._listening) this._dispatch(flags, origin, false);
  }

  _dispatch(flags, origin, local) {
    const h = this._h;
    // Copy everything out of wasm memory first: listeners may edit the document.
    const events = (flags & HAS_EVENTS) ? this._decodeEvents(h) : null;
    // Undo managers record a local transaction now, before anything else can commit.
    const stack = local && this._undoManagers.length !== 0 ? this._captureUndo(origin) : null;
    let update = null;
    // The update's address and length lie at the handle's own address (DocHandle::update_at).
    const updateLen = (flags & HAS_UPDATE) !== 0 ? u32()[(h >>> 2) + 1] : 0;
    if (updateLen !== 0 && this._updateListeners.length > 0) {
      const ptr = u32()[h >>> 2];
      update = u8().slice(ptr, ptr + updateLen);
    }
    // Small results stay in wasm memory for the next transaction (no call to free them).
    if (updateLen > KEEP_RESULT_BYTES || (events !== null && updateLen + 4 * X.rs_events_len(h) > KEEP_RESULT_BYTES)) X.rs_release_out(h);
    if (this._emitting) {
      // A listener edited the document: its transaction is emitted after the one being
      // emitted, so every listener sees updates in causal order.
      this._queue.push({ events, update, origin, local, stack });
      return;
    }
    this._emitting = true;
    let errors = null;
    try {
      errors = this._emit(events, update, origin, local, errors, stack);
      while (this._queue.length > 0) {
        const next = this._queue.shift();
        errors = this._emit(next.events, next.update, next.origin, next.local, errors, next.stack);
      }
    } finally {
      this._emitting = false;
    }
    if (errors !== null) throw new ListenerError(errors);
  }

  // One transaction to its observers, then to the 'update' listeners, then to the undo
  // managers' stack listeners (`stack`: [listeners, event] pairs); returns the errors.
  _emit(events, update, origin, local, errors, stack) {
    if (events !== null) {
      const transaction = { origin, local };
      for (const event of events) {
        event.origin = origin;
        event.transaction = transaction;
        errors = callAll(event.target._observers, event, undefined, errors);
      }
    }
    if (update !== null) errors = callAll(this._updateListeners, update, origin, errors);
    if (stack !== null) for (const [listeners, event] of stack) errors = callAll(listeners, event, undefined, errors);
    return errors;
  }

  // Decodes the event stream written by wasm/bindings.cpp (DocHandle::keep): the core sends at
  // most one event per root and transaction, text deltas composed already.
  _decodeEvents(h) {
    const count = X.rs_events_len(h);
    const words = u32();
    let i = X.rs_events(h) >>> 2;
    const end = i + count;
    let textPos = X.rs_event_text(h) >>> 0;
    const out = [];
    while (i < end) {
      const tag = words[i++];
      const root = this._byHandle[words[i++]]; // undefined: a root JS never handed out
      const n = tag === EV_COUNTER ? 0 : words[i++];
      if (tag === EV_TEXT) {
        const delta = new Array(n);
        for (let k = 0; k < n; k++) {
          const kind = words[i++];
          const len = words[i++];
          if (kind === OP_RETAIN) delta[k] = { retain: len };
          else if (kind === OP_INSERT) {
            delta[k] = { insert: readString(textPos, len) };
            textPos += 2 * len;
          } else delta[k] = { delete: len };
        }
        if (root !== undefined) out.push({ target: root, delta, origin: null, transaction: null });
      } else if (tag === EV_MAP) {
        const keys = root !== undefined && root._type === MAP ? new Set() : null;
        for (let k = 0; k < n; k++) {
          const len = words[i++];
          if (keys !== null) keys.add(readString(textPos, len));
          textPos += 2 * len;
        }
        if (keys !== null) out.push({ target: root, keysChanged: keys, origin: null, transaction: null });
        else if (root !== undefined) out.push({ target: root, origin: null, transaction: null });
      } else if (tag === EV_LIST) {
        const delta = new Array(n);
        for (let k = 0; k < n; k++) {
          const kind = words[i++];
          const len = words[i++];
          if (kind === OP_RETAIN) delta[k] = { retain: len };
          else if (kind === OP_INSERT) {
            const jsonLen = words[i++]; // the values as one JSON array text
            delta[k] = { insert: JSON.parse(readString(textPos, jsonLen)) };
            textPos += 2 * jsonLen;
          } else delta[k] = { delete: len };
        }
        if (root !== undefined) out.push({ target: root, delta, origin: null, transaction: null });
      } else if (tag === EV_COUNTER) {
        if (root !== undefined) out.push({ target: root, origin: null, transaction: null });
      } else {
        throw new Error(`roomsync: unknown event tag ${tag}`);
      }
    }
    return out;
  }

  _setObserved(root, observed) {
    X.rs_set_observed(this._live(), root._handle, observed ? 1 : 0);
    this._observedRoots += observed ? 1 : -1;
    this._listening = this._observedRoots > 0 || this._updateListeners.length > 0 || this._undoManagers.length > 0;
    this._epoch++;
  }

  /** doc.on('update', (update: Uint8Array, origin) => …) */
  on(name, cb) {
    const h = this._live();
    if (name !== 'update') throw new Error(`roomsync: unknown event "${name}" (documents emit 'update')`);
    if (typeof cb !== 'function') throw new TypeError('roomsync: listener must be a function');
    if (this._updateListeners.length === 0) X.rs_set_capture_updates(h, 1);
    this._updateListeners.push(cb);
    this._listening = true;
    this._epoch++;
  }

  off(name, cb) {
    if (name !== 'update' || this._h === 0) return;
    const i = this._updateListeners.indexOf(cb);
    if (i === -1) return;
    this._updateListeners.splice(i, 1);
    if (this._updateListeners.length === 0) X.rs_set_capture_updates(this._h, 0);
    this._listening = this._observedRoots > 0 || this._updateListeners.length > 0 || this._undoManagers.length > 0;
    this._epoch++;
  }

  /** The whole document as an update, loadable into an empty document. */
  encodeState() {
    const h = this._live();
    memoryGuard(h, 0, 0);
    const len = X.rs_encode_state(h);
    const ptr = X.rs_bytes_out(h) >>> 0;
    return copied(h, len, u8().slice(ptr, ptr + len));
  }

  /** This document's version vector (client -> next clock), encoded. */
  stateVector() {
    const h = this._live();
    memoryGuard(h, 0, 0);
    const len = X.rs_state_vector(h);
    const ptr = X.rs_bytes_out(h) >>> 0;
    return u8().slice(ptr, ptr + len);
  }

  /** Exactly the operations a peer whose state vector is `sv` lacks. */
  encodeStateSince(sv) {
    const h = this._live();
    const ptr = writeBytes(sv);
    if (X.rs_encode_state_since(h, ptr, sv.length) !== 0) this._fail();
    const out = X.rs_bytes_out(h) >>> 0;
    const len = X.rs_bytes_out_len(h);
    return copied(h, len, u8().slice(out, out + len));
  }

  /** Integrates an update from a peer. Throws on malformed bytes; the document is then unchanged. */
  applyUpdate(update, origin = null) {
    const h = this._live();
    const ptr = writeBytes(update);
    if (X.rs_apply_update(h, ptr, update.length) !== 0) this._fail();
    this._afterEdit(h, origin, false);
  }

  /** Operations received whose causal parents have not arrived yet. */
  get pendingOps() {
    this._live();
    return this._handle.pendingOps();
  }

  // ---- undo managers (js/undo.js) ----
  _addUndoManager(um) {
    this._undoManagers.push(um);
    this._listening = true;
    this._epoch++;
  }

  _removeUndoManager(um) {
    const i = this._undoManagers.indexOf(um);
    if (i !== -1) this._undoManagers.splice(i, 1);
    this._listening = this._observedRoots > 0 || this._updateListeners.length > 0 || this._undoManagers.length > 0;
    this._epoch++;
  }

  // The core's undo managers (wasm/bindings.cpp rs_undo): `op` and arguments as documented there.
  _undo(op, slot, a = 0, b = 0) {
    return X.rs_undo(this._live(), op, slot, a, b);
  }

  // A new undo manager over the roots with these handles (null: the whole document); its slot.
  _undoNew(handles) {
    if (handles === null) return this._undo(0, 0, 0, -1);
    const ptr = scratch(4 * handles.length);
    u32().set(handles, ptr >>> 2);
    return this._undo(0, 0, ptr, handles.length);
  }

  // Lets every undo manager record the local transaction that committed last; returns the
  // stack events to emit with it, or null.
  _captureUndo(origin) {
    let out = null;
    for (const um of this._undoManagers) {
      const events = um._afterTransaction(origin);
      if (events !== null) out = out === null ? events : out.concat(events);
    }
    return out;
  }

  /** Frees the document's wasm memory. Any later call throws. */
  destroy() {
    if (this._h === 0) return;
    for (const um of this._undoManagers.slice()) um.destroy();
    if (queueDoc === this) { queueDoc = null; queueUsed = 0; } // its edits die with it
    this._h = 0;
    if (finalizer) finalizer.unregister(this);
    this._handle.delete();
    this._handle = null;
    this._updateListeners = [];
  }
}

// ---- roots ---------------------------------------------------------------------------------

class Root {
  constructor(doc, handle, name, type) {
    this.doc = doc;
    this.name = name;
    this._handle = handle;
    this._type = type;
    this._observers = [];
  }

  /** Calls cb(event) after every transaction that changed this root. */
  observe(cb) {
    if (typeof cb !== 'function') throw new TypeError('roomsync: observer must be a function');
    if (this._observers.length === 0) this.doc._setObserved(this, true);
    this._observers.push(cb);
  }

  unobserve(cb) {
    const i = this._observers.indexOf(cb);
    if (i === -1) return;
    this._observers.splice(i, 1);
    if (this._observers.length === 0 && this.doc._h !== 0) this.doc._setObserved(this, false);
  }
}

/**
 * Collaborative text. Positions and lengths are UTF-16 code units, like JS strings. An edit
 * happens exactly as asked or throws a RangeError and changes nothing: positions out of range
 * or between the two halves of a surrogate pair are refused (see index.d.ts).
 */
export class Text extends Root {
  constructor(doc, handle, name) {
    super(doc, handle, name, TEXT);
    this._qLen = 0; // length with the queued edits, valid while _qEpoch === doc._epoch
    this._qEpoch = -1;
  }

  insert(pos, str) {
    if (!this.doc._listening && queueEdit(this, pos, str, 0)) return;
    const doc = this.doc;
    const h = doc._live();
    checkIndex(pos, 'position');
    checkString(str, 'inserted text');
    // take: the call also returns the transaction's result flags (shifted by one) when someone
    // listens and no transact() is open; empty: no transaction.
    const take = doc._listening && doc._txDepth === 0 && str.length !== 0 ? 1 : 0;
    const r = X.rs_text_insert(h, this._handle, pos, writeString(str), str.length, take);
    if ((r & 1) !== 0) doc._fail();
    if (take !== 0) doc._dispatch(r >> 1, null, true);
  }

  delete(pos, len) {
    if (!this.doc._listening && queueEdit(this, pos, null, len)) return;
    const doc = this.doc;
    const h = doc._live();
    checkIndex(pos, 'position');
    checkIndex(len, 'length');
    const take = doc._listening && doc._txDepth === 0 && len !== 0 ? 1 : 0; // as in insert()
    const r = X.rs_text_delete(h, this._handle, pos, len, take);
    if ((r & 1) !== 0) doc._fail();
    if (take !== 0) doc._dispatch(r >> 1, null, true);
  }

  get length() {
    if (this._qEpoch === this.doc._epoch && queueDoc === this.doc) return this._qLen; // queued edits counted
    return X.rs_text_length(this.doc._live(), this._handle);
  }

  toString() {
    const h = this.doc._live();
    memoryGuard(h, 0, 0);
    const len = X.rs_text_content(h, this._handle);
    return copied(h, 2 * len, readString(X.rs_text_out(h) >>> 0, len));
  }

  toJSON() { return this.toString(); }

  /** An anchor at `index` that keeps its place as the text changes (see index.d.ts). */
  stickyIndex(index, assoc = 0) { return makeSticky(this, index, assoc); }

  /** The anchor's current index, or null while this replica lacks its character. */
  resolveSticky(anchor) { return resolveSticky(this, anchor); }
}

/** Last-writer-wins map from string keys to JSON values. */
export class RMap extends Root {
  constructor(doc, handle, name) { super(doc, handle, name, MAP); }

  set(key, value) {
    const doc = this.doc;
    const h = doc._live();
    checkName(key, 'key');
    const json = toJsonText(value);
    const ptr = writeStrings(key, json);
    if (X.rs_map_set(h, this._handle, ptr, key.length, secondPtr, json.length) !== 0) doc._fail();
    doc._afterEdit(h, null, true);
    return value;
  }

  get(key) {
    const h = this.doc._live();
    checkName(key, 'key');
    return readJson(h, X.rs_map_get(h, this._handle, writeString(key), key.length));
  }

  delete(key) {
    const doc = this.doc;
    const h = doc._live();
    checkName(key, 'key');
    if (X.rs_map_delete(h, this._handle, writeString(key), key.length) !== 0) doc._fail();
    doc._afterEdit(h, null, true);
  }

  has(key) {
    const h = this.doc._live();
    checkName(key, 'key');
    return X.rs_map_has(h, this._handle, writeString(key), key.length) === 1;
  }

  /** Keys in sorted order. */
  keys() {
    memoryGuard(this.doc._live(), 0, 0);
    return JSON.parse(this.doc._handle.mapKeys(this._handle));
  }

  get size() { return this.keys().length; }

  entries() { return Object.entries(this.toJSON()); }

  toJSON() {
    memoryGuard(this.doc._live(), 0, 0);
    return JSON.parse(this.doc._handle.mapJson(this._handle));
  }
}

/** A single last-writer-wins JSON value. */
export class Register extends Root {
  constructor(doc, handle, name) { super(doc, handle, name, REGISTER); }

  set(value) {
    const doc = this.doc;
    const h = doc._live();
    const json = toJsonText(value);
    if (X.rs_register_set(h, this._handle, writeString(json), json.length) !== 0) doc._fail();
    doc._afterEdit(h, null, true);
    return value;
  }

  get() {
    const h = this.doc._live();
    return readJson(h, X.rs_register_get(h, this._handle));
  }

  toJSON() { return this.get() ?? null; }
}

/** A counter that every replica can increment and decrement (PN-counter). */
export class Counter extends Root {
  constructor(doc, handle, name) { super(doc, handle, name, COUNTER); }

  increment(n = 1) { this._add(n); }
  decrement(n = 1) { this._add(-n); }

  _add(n) {
    const doc = this.doc;
    const h = doc._live();
    if (!Number.isSafeInteger(n)) throw new RangeError(`roomsync: counter steps must be safe integers, got ${n}`);
    if (n === 0) return;
    if (X.rs_counter_add(h, this._handle, n) !== 0) doc._fail();
    doc._afterEdit(h, null, true);
  }

  get value() {
    return X.rs_counter_value(this.doc._live(), this._handle);
  }

  toJSON() { return this.value; }
}

/**
 * An ordered list of JSON values on the same sequence CRDT as Text: concurrent inserts at one
 * place never interleave. Indexes count elements; an edit happens exactly as asked or throws
 * (RangeError for an index out of range, TypeError for a value JSON cannot hold) and changes
 * nothing. Values are stored as JSON: get() returns a copy, as JSON.parse(JSON.stringify(v)).
 */
export class List extends Root {
  constructor(doc, handle, name) { super(doc, handle, name, LIST); }

  insert(index, ...values) {
    const doc = this.doc;
    const h = doc._live();
    checkIndex(index, 'index');
    const json = values.map(toJsonText).join('\n'); // JSON.stringify never writes a raw \n
    if (X.rs_list_insert(h, this._handle, index, writeString(json), json.length, values.length) !== 0) doc._fail();
    if (doc._listening && values.length !== 0) doc._afterEdit(h, null, true); // empty: no transaction
  }

  push(...values) { this.insert(this.length, ...values); }

  delete(index, count = 1) {
    const doc = this.doc;
    const h = doc._live();
    checkIndex(index, 'index');
    checkIndex(count, 'count');
    if (X.rs_list_delete(h, this._handle, index, count) !== 0) doc._fail();
    if (doc._listening && count !== 0) doc._afterEdit(h, null, true); // empty: no transaction
  }

  /** The value at `index`, or undefined past the end. */
  get(index) {
    const h = this.doc._live();
    checkIndex(index, 'index');
    return readJson(h, X.rs_list_get(h, this._handle, index));
  }

  get length() {
    return X.rs_list_length(this.doc._live(), this._handle);
  }

  toArray() {
    const h = this.doc._live();
    return readJson(h, X.rs_list_content(h, this._handle));
  }

  [Symbol.iterator]() { return this.toArray()[Symbol.iterator](); }

  toJSON() { return this.toArray(); }

  /** An anchor at `index` that keeps its place as the list changes (see index.d.ts). */
  stickyIndex(index, assoc = 0) { return makeSticky(this, index, assoc); }

  /** The anchor's current index, or null while this replica lacks its element. */
  resolveSticky(anchor) { return resolveSticky(this, anchor); }
}

export { RMap as Map, loadModule };
export { joinRoom, RoomError } from './room/room.js';
export { createUndoManager, UndoManager } from './undo.js';

/** Not part of the API: lets tests reach code paths that need huge inputs otherwise. */
export const _testing = {
  /** Runs the document's queued text edits now (benchmarks time them with the edits). */
  runQueued(doc) {
    doc._live();
  },
  /** Sets the most code units one TextDecoder call decodes (default 2^24); returns the old. */
  setDecodeMax(n) {
    const old = DECODE_MAX;
    DECODE_MAX = n;
    return old;
  },
  /** Runs in a text's tree and the bytes its document holds (memory per run, issue 8). */
  textStats(text) {
    const h = text.doc._live();
    return { runs: X.rs_text_runs(h, text._handle), docBytes: X.rs_doc_memory_bytes(h) };
  },
};
