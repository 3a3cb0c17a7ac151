// Type declarations for roomsync's document API (js/index.js).

/** Whatever the app passes as `origin` to transact()/applyUpdate(); null for plain local edits. */
export type Origin = unknown;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** One Quill/Yjs-style delta operation, in UTF-16 code units. */
export type DeltaOp = { retain: number } | { insert: string } | { delete: number };

export interface Transaction {
  origin: Origin;
  /** true for local edits and transact(), false for applyUpdate() */
  local: boolean;
}

export interface RootEvent<T> {
  target: T;
  origin: Origin;
  transaction: Transaction;
}
export interface TextEvent extends RootEvent<Text> {
  delta: DeltaOp[];
}
export interface MapEvent extends RootEvent<RMap> {
  keysChanged: Set<string>;
}
export type RegisterEvent = RootEvent<Register>;
export type CounterEvent = RootEvent<Counter>;
/** One Yjs-style delta operation on a list: counts of elements; inserts carry the values. */
export type ListDeltaOp<T = unknown> = { retain: number } | { insert: T[] } | { delete: number };
export interface ListEvent<T = unknown> extends RootEvent<List<T>> {
  delta: ListDeltaOp<T>[];
}

export interface CreateDocOptions {
  /**
   * Integer in [0, 2^53-1]; random by default (recommended). Every replica needs its own: never
   * persist one and reuse it (two tabs would share it); persist the state instead. A state
   * holding ops of this id is refused (`code: 'client_id_collision'`).
   */
  clientId?: number;
  /** An update (e.g. from encodeState()) to load. */
  state?: Uint8Array;
}

/**
 * Thrown by the call that made or applied a change (an edit, transact(), applyUpdate()) when an
 * observer or 'update' listener threw. The change WAS applied and emitted to every observer and
 * listener, each of which ran even after an earlier one threw; nothing is undone. `cause` is
 * the first error, `errors` every error in call order. (A refused update is a plain Error.)
 */
export class ListenerError extends Error {  // an AggregateError at run time
  readonly name: 'ListenerError';
  readonly cause: unknown;
  readonly errors: unknown[];
}

/**
 * Thrown when a call would need more WebAssembly memory than may be used (the module's 4 GiB
 * ceiling, or a lower limit set with setMemoryLimit). Nothing was changed: the document is as
 * before the call, and every other document keeps working.
 */
export class OutOfMemoryError extends Error {
  readonly name: 'OutOfMemoryError';
  readonly code: 'out_of_memory';
}

/**
 * Sets the most WebAssembly memory roomsync may use, in bytes (one module, shared by every
 * document of the page or process). No argument, 0, or more than the default restores the
 * default (the 4 GiB ceiling less a headroom). Resolves to the limit now in force.
 */
export function setMemoryLimit(bytes?: number): Promise<number>;

export interface MemoryUsage {
  /** Size of the module's WebAssembly memory (it grows, and never shrinks). */
  wasmBytes: number;
  /** Bytes allocated in it now. */
  usedBytes: number;
  /** The limit in force (setMemoryLimit). */
  limitBytes: number;
  /** The module's hard ceiling (4 GiB less one page). */
  maxBytes: number;
}
export function memoryUsage(): Promise<MemoryUsage>;

/** Creates a document; loads the WebAssembly module on first use (then cached). */
export function createDoc(options?: CreateDocOptions): Promise<Doc>;

/** Loads (once) and returns the underlying Emscripten module. Mostly for tests and tools. */
export function loadModule(): Promise<unknown>;

export class Doc {
  /** Use createDoc(); this constructor only works once the module has been loaded. */
  constructor(clientId?: number);
  readonly clientId: number;

  /**
   * Roots are created on first use; the same object every time. One name, one type: asking
   * for a type this document has no root of under a name that another type already uses
   * throws. But when two replicas gave one name two types concurrently, the document holds
   * both roots, and each is readable (and writable) under its own type.
   */
  getText(name: string): Text;
  getMap(name: string): RMap;
  getRegister(name: string): Register;
  getCounter(name: string): Counter;
  /** `T` describes the values the app keeps in this list; it is not checked at run time. */
  getList<T = unknown>(name: string): List<T>;

  /**
   * Runs fn as one transaction; observers and 'update' listeners fire once at the end,
   * synchronously, with `origin`. Nested calls join the outer transaction. Changes made before
   * fn throws stay and are emitted; fn's error is rethrown (then a listener's error is dropped).
   * Throws a ListenerError after the commit when a listener threw.
   */
  transact<T>(fn: (doc: Doc) => T, origin?: Origin): T;

  /**
   * Every committed transaction's update, after the observers of that transaction. A listener
   * that throws does not stop the others; see ListenerError. Edits made by an observer or
   * listener form transactions of their own, emitted (observers, then updates) after the one
   * being emitted finishes: updates always arrive in causal order, ready to log and replay.
   */
  on(event: 'update', listener: (update: Uint8Array, origin: Origin) => void): void;
  off(event: 'update', listener: (update: Uint8Array, origin: Origin) => void): void;

  /** The whole document as an update, loadable into an empty document. */
  encodeState(): Uint8Array;
  /** The version vector (client -> next clock), encoded. */
  stateVector(): Uint8Array;
  /** Exactly the operations a replica with state vector `stateVector` lacks. */
  encodeStateSince(stateVector: Uint8Array): Uint8Array;
  /**
   * Integrates an update (idempotent, any order). Throws an Error with the core's message on
   * malformed bytes, leaving the document unchanged. An update carrying ops of this document's
   * own client id that it did not make is refused the same way, with
   * `code === 'client_id_collision'` (two replicas share one client id). A ListenerError
   * instead means the update was applied and a listener threw.
   */
  applyUpdate(update: Uint8Array, origin?: Origin): void;
  /**
   * Whether `clientId` is this document's own or appears in what it has received (integrated
   * or pending ops): a replica joining under such an id would collide.
   */
  knowsClient(clientId: number): boolean;
  /** Operations received but held back until their causal parents arrive. */
  readonly pendingOps: number;

  /** Frees the WebAssembly memory of this document; any later call throws. */
  destroy(): void;
}

declare abstract class Root<E> {
  readonly doc: Doc;
  readonly name: string;
  observe(listener: (event: E) => void): void;
  unobserve(listener: (event: E) => void): void;
}

/**
 * A sticky position (Yjs: relative position): a place in a Text or List tied to a character
 * (element) instead of a number, so that it keeps its place while anyone edits around it
 * (remote cursors, selections, comments, "the item I was looking at"). A plain JSON-safe
 * object: put it in presence or storage as it is.
 * - `t`, `r`: the root's type and name; resolving it in another root throws.
 * - `c`, `k`: the element's author (client id) and clock. Absent for the start (`a: -1`) or
 *   the end (`a: 0`) of the root.
 * - `a`: 0 keeps the place just before the element (what is inserted at the anchor ends up
 *   before it: the anchor moves on with its element), -1 just after it (what is inserted at
 *   the anchor ends up after it).
 * resolveSticky() checks every field: TypeError for wrong types, RangeError for out-of-range numbers.
 */
export interface StickyIndex {
  t: 'text' | 'list';
  r: string;
  c?: number;
  k?: number;
  a: 0 | -1;
}

/**
 * Collaborative text; positions and lengths are UTF-16 code units, like JS strings.
 *
 * Position rules: an edit happens exactly as asked, or throws a RangeError and changes nothing.
 * `insert(pos, s)` needs 0 <= pos <= length; `delete(pos, n)` needs pos + n <= length; and no
 * position (an insert's, either end of a deleted range) may fall between the two halves of a
 * surrogate pair (e.g. `delete(2, 1)` on 'a👋b' throws; `delete(1, 2)` deletes the emoji).
 * Empty edits change nothing but are checked the same way. So the delta an observer gets for a
 * local edit is exactly that edit: an editor binding can mirror its own edits.
 */
export class Text extends Root<TextEvent> {
  private constructor();
  insert(pos: number, text: string): void;
  delete(pos: number, length: number): void;
  readonly length: number;
  toString(): string;
  toJSON(): string;
  /**
   * An anchor at `index` (0..length; RangeError past the end or inside a surrogate pair).
   * `assoc >= 0` (default) ties it to the character at `index` (at `length`: the end of the
   * text), `assoc < 0` to the character before it (at 0: the start).
   */
  stickyIndex(index: number, assoc?: number): StickyIndex;
  /**
   * The anchor's current index: where its character is now (just after it for `a: -1`), or
   * where the character was once deleted. null while this replica has not received that
   * character (yet). Throws for an anchor of another root or a malformed one.
   */
  resolveSticky(anchor: StickyIndex): number | null;
}

/**
 * Last-writer-wins map of JSON values. Values are what JSON.stringify accepts (strings holding
 * lone surrogates included); keys are strings without lone surrogates (they cross as UTF-8;
 * TypeError otherwise).
 */
export class RMap extends Root<MapEvent> {
  private constructor();
  set<V extends JsonValue>(key: string, value: V): V;
  get(key: string): JsonValue | undefined;
  delete(key: string): void;
  has(key: string): boolean;
  /** Keys in sorted order. */
  keys(): string[];
  entries(): [string, JsonValue][];
  readonly size: number;
  toJSON(): { [key: string]: JsonValue };
}
export { RMap as Map };

/** A single last-writer-wins JSON value. */
export class Register extends Root<RegisterEvent> {
  private constructor();
  set<V extends JsonValue>(value: V): V;
  get(): JsonValue | undefined;
  toJSON(): JsonValue;
}

/**
 * An integer counter every replica can change (PN-counter). Steps are safe integers
 * (|n| <= 2^53 - 1, else RangeError). The engine keeps the exact sum of all steps (128-bit: it
 * never wraps or saturates, so every replica agrees whatever the order of merges).
 */
export class Counter extends Root<CounterEvent> {
  private constructor();
  increment(n?: number): void;
  decrement(n?: number): void;
  /**
   * The sum as a number: exact while |sum| <= Number.MAX_SAFE_INTEGER (2^53 - 1); beyond that
   * the nearest double (so it never wraps to another sign).
   */
  readonly value: number;
  toJSON(): number;
}
/**
 * An ordered list of JSON values, on the same sequence CRDT as Text: values inserted
 * concurrently at one place never interleave. Indexes count elements. An edit happens exactly
 * as asked or throws and changes nothing: a RangeError for an index out of range
 * (`insert(i, …)` needs 0 <= i <= length, `delete(i, n)` needs i + n <= length), a TypeError for
 * a value JSON.stringify cannot hold (undefined, a function, a cycle). Values are stored as
 * JSON: reads return copies, as JSON.parse(JSON.stringify(value)).
 */
export class List<T = unknown> extends Root<ListEvent<T>> {
  private constructor();
  insert(index: number, ...values: T[]): void;
  push(...values: T[]): void;
  delete(index: number, count?: number): void;
  /** The value at `index`, or undefined past the end. */
  get(index: number): T | undefined;
  readonly length: number;
  toArray(): T[];
  [Symbol.iterator](): IterableIterator<T>;
  toJSON(): T[];
  /**
   * An anchor at `index` (0..length; RangeError past the end), as Text.stickyIndex: `assoc >= 0`
   * (default) ties it to the element at `index` (at `length`: the end), `assoc < 0` to the one
   * before it (at 0: the start).
   */
  stickyIndex(index: number, assoc?: number): StickyIndex;
  /** The anchor's current index (see Text.resolveSticky); null while this replica lacks its element. */
  resolveSticky(anchor: StickyIndex): number | null;
}
// ---- undo and redo (js/undo.js) ----

export interface UndoManagerOptions {
  /**
   * Origins of the local transactions to track (default `[null]`: edits made outside
   * transact() or with transact(fn) / transact(fn, null)). A class in the set tracks every
   * instance of it. Remote updates (applyUpdate, rooms) are never tracked.
   */
  trackedOrigins?: Iterable<unknown>;
  /** Tracked changes less than this many ms apart merge into one step (default 500; 0: never). */
  captureTimeout?: number;
  /** The time source, in ms (default Date.now); the engine itself never reads a clock. */
  clock?: () => number;
}

/** 'stack-item-added' / 'stack-item-updated' / 'stack-item-popped': which stack, and why. */
export interface UndoStackEvent {
  type: 'undo' | 'redo';
  /** The tracked transaction's origin, or the UndoManager for its own undo() and redo(). */
  origin: Origin;
}
export interface UndoStackClearedEvent {
  undoStackCleared: boolean;
  redoStackCleared: boolean;
}

/**
 * Undoes this replica's own (tracked) changes; see createUndoManager. Undo and redo are
 * ordinary local transactions with the manager as origin: observers and 'update' listeners
 * get them like any change, and other replicas apply them as ordinary updates.
 */
export class UndoManager {
  private constructor();
  readonly doc: Doc;
  /** Mutable: add or delete origins at any time. */
  readonly trackedOrigins: Set<unknown>;
  captureTimeout: number;
  readonly canUndo: boolean;
  readonly canRedo: boolean;
  /**
   * Reverts the last step; returns whether the document changed (a step that peers replaced
   * entirely is dropped and the one before it tried). Throws inside transact().
   */
  undo(): boolean;
  /** Reapplies the last undone step; returns whether the document changed. */
  redo(): boolean;
  /** The next tracked change starts a new step, however soon it comes. */
  stopCapturing(): void;
  clear(undoStack?: boolean, redoStack?: boolean): void;
  /** Stack events fire after the transaction's observers and 'update' listeners. */
  on(event: 'stack-item-added' | 'stack-item-updated' | 'stack-item-popped', listener: (event: UndoStackEvent) => void): void;
  on(event: 'stack-cleared', listener: (event: UndoStackClearedEvent) => void): void;
  off(event: 'stack-item-added' | 'stack-item-updated' | 'stack-item-popped', listener: (event: UndoStackEvent) => void): void;
  off(event: 'stack-cleared', listener: (event: UndoStackClearedEvent) => void): void;
  /** Stops tracking and frees the stacks (doc.destroy() does it too). */
  destroy(): void;
}

/**
 * An undo manager for the whole document (every root, also ones created later) or for the
 * given roots of one document. Undo reverts only tracked changes of this replica: undoing an
 * insert deletes only the characters (list values) this replica inserted, not what peers
 * inserted among them;
 * undoing a delete brings the text back at its place, between the same neighbours; a map key
 * or register gets its previous value back (or loses the key), unless a later write replaced
 * the undone value; a counter gets the opposite step.
 */
export function createUndoManager(
  target: Doc | Root<unknown> | Root<unknown>[],
  options?: UndoManagerOptions,
): UndoManager;

export * from './room/room.js';
