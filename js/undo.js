// Undo and redo of this replica's own changes (createUndoManager).
//
// Thin on purpose: the C++ core (cpp/crdt/undo.cpp) records what local transactions changed,
// keeps the undo and redo stacks and makes the inverse edits. This file only decides which
// transactions are tracked (by origin), when a change merges into the previous step (the
// clock), and emits the stack events.
import { Doc, ListenerError } from './index.js';

// rs_undo operations (wasm/bindings.cpp) and UndoManager::capture result bits (cpp/crdt/undo.h).
const CAPTURE = 1;
const APPLY = 2;
const SIZE = 3;
const CLEAR = 4;
const FREE = 5;
const MERGED = 2;
const REDO_CLEARED = 4;

const EVENTS = ['stack-item-added', 'stack-item-updated', 'stack-item-popped', 'stack-cleared'];

/**
 * Creates an undo manager for a document (every root, also roots created later) or for some of
 * its roots. See UndoManager.
 * @param {Doc | object | object[]} target a document, a root, or an array of roots of one document
 * @param {{ trackedOrigins?: Iterable<unknown>, captureTimeout?: number, clock?: () => number }} [options]
 */
export function createUndoManager(target, options) {
  return new UndoManager(target, options);
}

export class UndoManager {
  constructor(target, { trackedOrigins = [null], captureTimeout = 500, clock = Date.now } = {}) {
    let doc = target;
    let handles = null; // null: the whole document
    if (!(target instanceof Doc)) {
      const roots = Array.isArray(target) ? target : [target];
      doc = roots.length !== 0 && roots[0] !== null && typeof roots[0] === 'object' ? roots[0].doc : undefined;
      if (!(doc instanceof Doc) || !roots.every((r) => r !== null && typeof r === 'object' && r.doc === doc &&
          typeof r._handle === 'number')) {
        throw new TypeError('roomsync: createUndoManager needs a document, a root, or a non-empty array of roots of one document');
      }
      handles = roots.map((r) => r._handle);
    }
    doc._live();
    if (typeof captureTimeout !== 'number' || !(captureTimeout >= 0)) {
      throw new RangeError(`roomsync: captureTimeout must be a number >= 0 (ms), got ${captureTimeout}`);
    }
    if (typeof clock !== 'function') throw new TypeError('roomsync: clock must be a function returning ms');
    if (trackedOrigins === null || typeof trackedOrigins[Symbol.iterator] !== 'function') {
      throw new TypeError('roomsync: trackedOrigins must be iterable (an array or a Set)');
    }
    /** The document whose changes this manager undoes. */
    this.doc = doc;
    /** Origins whose local transactions are tracked (a class here tracks its instances). */
    this.trackedOrigins = new Set(trackedOrigins);
    /** Changes less than this many ms apart merge into one step. */
    this.captureTimeout = captureTimeout;
    this._clock = clock;
    this._lastChange = -Infinity;
    this._pending = null; // stack events of the running undo()/redo()
    this._listeners = new Map(EVENTS.map((name) => [name, []]));
    this._slot = doc._undoNew(handles);
    doc._addUndoManager(this);
  }

  /** Whether undo() has a step to revert. */
  get canUndo() { return this._size(false) > 0; }
  /** Whether redo() has a step to reapply. */
  get canRedo() { return this._size(true) > 0; }

  /**
   * Reverts the last step of tracked changes, as a new local transaction whose origin is this
   * manager (other replicas get it as an ordinary update). Returns whether the document
   * changed: a step that peers have replaced entirely is dropped and the one before it tried.
   */
  undo() { return this._apply(false); }

  /** Reapplies the last undone step. A new tracked change clears what redo() can reapply. */
  redo() { return this._apply(true); }

  /** The next tracked change starts a new step, however soon it comes. */
  stopCapturing() { this._lastChange = -Infinity; }

  /** Empties the undo and/or the redo stack; emits 'stack-cleared'. */
  clear(undoStack = true, redoStack = true) {
    this._live();
    this.doc._undo(CLEAR, this._slot, undoStack ? 1 : 0, redoStack ? 1 : 0);
    emitNow([[this._listeners.get('stack-cleared'), { undoStackCleared: undoStack, redoStackCleared: redoStack }]]);
  }

  /**
   * um.on(name, cb): 'stack-item-added' ({ type: 'undo' | 'redo', origin }: a new step),
   * 'stack-item-updated' (a change merged into the top undo step), 'stack-item-popped'
   * ({ type, origin }: undo() or redo() took a step), 'stack-cleared' ({ undoStackCleared,
   * redoStackCleared }). Emitted after the transaction's observers and 'update' listeners.
   */
  on(name, cb) {
    const list = this._listeners.get(name);
    if (list === undefined) throw new Error(`roomsync: unknown undo manager event "${name}" (${EVENTS.join(', ')})`);
    if (typeof cb !== 'function') throw new TypeError('roomsync: listener must be a function');
    list.push(cb);
  }

  off(name, cb) {
    const list = this._listeners.get(name);
    const i = list === undefined ? -1 : list.indexOf(cb);
    if (i !== -1) list.splice(i, 1);
  }

  /** Stops tracking and frees the stacks. Also done by doc.destroy(). */
  destroy() {
    if (this._slot < 0) return;
    if (this.doc._h !== 0) this.doc._undo(FREE, this._slot);
    this.doc._removeUndoManager(this);
    this._slot = -1;
  }

  _live() {
    this.doc._live();
    if (this._slot < 0) throw new Error('roomsync: this undo manager has been destroyed');
  }

  _size(redo) {
    return this._slot < 0 || this.doc._h === 0 ? 0 : this.doc._undo(SIZE, this._slot, redo ? 1 : 0);
  }

  _apply(redo) {
    this._live();
    const doc = this.doc;
    if (doc._txDepth > 0) throw new Error('roomsync: undo() and redo() cannot run inside transact()');
    let changed = false;
    doc.transact(() => {
      const before = this._size(redo);
      const result = doc._undo(APPLY, this._slot, redo ? 1 : 0);
      if (result < 0) doc._fail();
      changed = result === 1;
      const events = [];
      if (this._size(redo) < before) {
        events.push([this._listeners.get('stack-item-popped'), { type: redo ? 'redo' : 'undo', origin: this }]);
      }
      if (changed) events.push([this._listeners.get('stack-item-added'), { type: redo ? 'undo' : 'redo', origin: this }]);
      this._pending = events;
    }, this);
    this.stopCapturing();
    return changed;
  }

  // Called by the document after every local transaction: records it when its origin is
  // tracked. Returns the stack events to emit, or null.
  _afterTransaction(origin) {
    if (origin === this) { // our own undo()/redo(): the core recorded it already
      const events = this._pending;
      this._pending = null;
      return events;
    }
    if (!this._tracks(origin)) return null;
    const now = this._clock();
    const result = this.doc._undo(CAPTURE, this._slot, now - this._lastChange < this.captureTimeout ? 1 : 0);
    if (result === 0) return null; // nothing in scope
    this._lastChange = now;
    const events = [];
    if (result & REDO_CLEARED) {
      events.push([this._listeners.get('stack-cleared'), { undoStackCleared: false, redoStackCleared: true }]);
    }
    const name = result & MERGED ? 'stack-item-updated' : 'stack-item-added';
    events.push([this._listeners.get(name), { type: 'undo', origin }]);
    return events;
  }

  _tracks(origin) {
    const tracked = this.trackedOrigins;
    return tracked.has(origin) || (origin !== null && typeof origin === 'object' && tracked.has(origin.constructor));
  }
}

// Calls every listener of every event, then throws one ListenerError if any threw.
function emitNow(events) {
  const errors = [];
  for (const [listeners, event] of events) {
    for (const cb of listeners.slice()) {
      try {
        cb(event);
      } catch (err) {
        errors.push(err);
      }
    }
  }
  if (errors.length !== 0) throw new ListenerError(errors);
}
