// roomsync/codemirror: binds a CodeMirror 6 editor to a roomsync Text, the way y-codemirror.next
// binds one to a Y.Text.
//
//   import { roomsyncCollab } from 'roomsync/codemirror';
//   const text = room.doc.getText('body');
//   const undoManager = createUndoManager(text, { trackedOrigins: [] });
//   new EditorView({ state: EditorState.create({ doc: text.toString(),
//     extensions: [basicSetup, roomsyncCollab(text, { room, undoManager, user: { name, color } })] }) });
//
// - Editor -> Text: each CodeMirror transaction's changes become Text inserts and deletes at
//   their positions, in one doc.transact() whose origin is the binding.
// - Text -> editor: every other change's delta (peers, undo, other code) becomes one CodeMirror
//   transaction of the same changes, annotated so that it is not sent back.
// - Cursors: the selection goes into room presence as sticky anchors (`cursor: { anchor, head }`);
//   other peers' cursors are resolved again after every change and drawn in their colour.
// - Undo: Mod-z / Mod-Shift-z / Mod-y run the given UndoManager, which tracks the binding's origin:
//   they revert this user's edits only.
//
// This file imports nothing from roomsync itself (it works on the objects it is given), so a
// page keeps one roomsync module instance however it loads this file.
import { Annotation, EditorState, Prec, StateEffect, StateField } from '@codemirror/state';
import { Decoration, EditorView, ViewPlugin, WidgetType, keymap } from '@codemirror/view';

/** Marks the CodeMirror transactions the binding makes from roomsync changes. */
export const roomsyncRemote = Annotation.define();

const setCursors = StateEffect.define();

/**
 * The synchronisation itself, without a view: `dispatch(spec)` applies a transaction spec to the
 * editor, `update(transactions)` must see every editor transaction. roomsyncCollab() wires it to
 * an EditorView; tests and headless uses wire it to an EditorState.
 */
export class RoomsyncBinding {
  constructor(text, { dispatch, room = null, undoManager = null, user = null, publish = null } = {}) {
    if (text === null || typeof text !== 'object' || typeof text.observe !== 'function' || typeof text.stickyIndex !== 'function') {
      throw new TypeError('roomsync/codemirror: the first argument must be a roomsync Text (doc.getText(name))');
    }
    if (typeof dispatch !== 'function') throw new TypeError('roomsync/codemirror: dispatch must be a function');
    this.text = text;
    this.doc = text.doc;
    this.room = room;
    this.undoManager = undoManager;
    this.user = user;
    this._dispatch = dispatch;
    this._publishFields = publish;
    this._selection = null; // the last selection published, as { anchor, head } indexes
    this._publishTimer = null;
    // peerId -> { key, moves }: a cursor's label shows for a moment after each move (moves counts them).
    this._cursorMoves = new Map();
    if (undoManager) undoManager.trackedOrigins.add(this);

    this._onText = ({ delta, origin }) => {
      if (origin === this) return;
      const changes = [];
      let pos = 0; // positions in the editor's document before this change, as CodeMirror wants
      for (const op of delta) {
        if (op.retain !== undefined) pos += op.retain;
        else if (op.delete !== undefined) {
          changes.push({ from: pos, to: pos + op.delete });
          pos += op.delete;
        } else changes.push({ from: pos, insert: op.insert });
      }
      this._dispatch({ changes, annotations: roomsyncRemote.of(true), effects: setCursors.of(this._cursors()) });
    };
    text.observe(this._onText);

    if (room) {
      this._offPresence = room.presence.onChange((peerId) => {
        if (peerId !== room.peerId) this._dispatch({ effects: setCursors.of(this._cursors()) });
      });
      if (user) this.publishCursor();
    }
  }

  /** Applies the editor's own transactions to the Text (one roomsync transaction each). */
  update(transactions, state) {
    for (const tr of transactions) {
      if (!tr.docChanged || tr.annotation(roomsyncRemote)) continue;
      const text = this.text;
      this.doc.transact(() => {
        // fromB is where the change starts in the document as changed so far: apply in order.
        tr.changes.iterChanges((fromA, toA, fromB, _toB, inserted) => {
          if (toA > fromA) text.delete(fromB, toA - fromA);
          if (inserted.length > 0) text.insert(fromB, inserted.toString());
        });
      }, this);
    }
    if (state && this.room) {
      const { anchor, head } = state.selection.main;
      const old = this._selection;
      if (old === null || old.anchor !== anchor || old.head !== head || transactions.some((tr) => tr.docChanged)) {
        this._selection = { anchor, head };
        this._schedulePublish();
      }
    }
  }

  /** Other peers' cursors resolved in the Text now: [{ peerId, name, color, anchor, head }]. */
  remoteCursors() {
    return this._cursors().map(({ moves, ...cursor }) => cursor);
  }

  // remoteCursors() with `moves` (how often the peer moved it so far) for the carets' labels.
  _cursors() {
    const room = this.room;
    if (!room) return [];
    const cursors = [];
    const moves = new Map(); // rebuilt each time: peers that left are forgotten
    for (const [peerId, state] of Object.entries(room.presence.getAll())) {
      const cursor = state && state.cursor;
      if (!cursor || typeof cursor !== 'object') continue;
      let anchor, head;
      try {
        anchor = this.text.resolveSticky(cursor.anchor);
        head = this.text.resolveSticky(cursor.head);
      } catch {
        continue; // another root's anchor, or a malformed one: not a cursor of this text
      }
      if (anchor === null || head === null) continue; // its characters have not arrived yet
      const name = typeof state.name === 'string' && state.name !== '' ? state.name : `peer ${peerId.slice(0, 4)}`;
      const color = typeof state.color === 'string' && /^#[0-9a-f]{6}$/i.test(state.color) ? state.color : colorOf(peerId);
      // A move is a new published cursor (the peer moved or typed), not an index shifted by
      // someone else's edit and not a presence heartbeat repeating the same anchors.
      const key = JSON.stringify(cursor);
      const seen = this._cursorMoves.get(peerId);
      const moved = seen === undefined || seen.key !== key ? { key, moves: (seen?.moves ?? 0) + 1 } : seen;
      moves.set(peerId, moved);
      cursors.push({ peerId, name, color, anchor, head, moves: moved.moves });
    }
    this._cursorMoves = moves;
    return cursors;
  }

  _schedulePublish() {
    // Coalesce a burst of keystrokes into one presence update.
    if (this._publishTimer === null) this._publishTimer = setTimeout(() => this.publishCursor(), 40);
  }

  /** Puts this user's selection (and `user`) into room presence now (update() does it soon after each change). */
  publishCursor() {
    clearTimeout(this._publishTimer);
    this._publishTimer = null;
    const room = this.room;
    if (room.left) return;
    const fields = { ...this.user };
    const sel = this._selection;
    if (sel !== null && sel.anchor <= this.text.length && sel.head <= this.text.length) {
      try {
        fields.cursor = { anchor: this.text.stickyIndex(sel.anchor), head: this.text.stickyIndex(sel.head) };
      } catch {
        return; // inside a surrogate pair for a moment: the next selection publishes
      }
    }
    // presence.set() replaces this peer's state: keep the fields others put there.
    if (this._publishFields) this._publishFields(fields);
    else room.presence.set({ ...room.presence.get(room.peerId), ...fields });
  }

  /** Stops syncing (the editor and the Text keep their contents). */
  destroy() {
    this.text.unobserve(this._onText);
    if (this._offPresence) this._offPresence();
    clearTimeout(this._publishTimer);
    if (this.undoManager) this.undoManager.trackedOrigins.delete(this);
  }
}

/** A colour of its own for each peer id (for peers that publish none). */
export function colorOf(peerId) {
  let h = 0;
  for (const ch of String(peerId)) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  const palette = ['#e5484d', '#f76b15', '#d6a100', '#30a46c', '#12a594', '#0090ff', '#6e56cf', '#d6409f'];
  return palette[h % palette.length];
}

// A remote caret: a coloured bar with a dot on top, and the peer's name above it for a moment
// after each move (then it fades, so it does not hide the line above; hovering the dot shows it).
// A new move is a new widget (eq), so its label shows and fades again.
class CaretWidget extends WidgetType {
  constructor(peerId, name, color, moves) {
    super();
    this.peerId = peerId;
    this.name = name;
    this.color = color;
    this.moves = moves;
  }
  eq(other) { return other.peerId === this.peerId && other.name === this.name && other.color === this.color && other.moves === this.moves; }
  toDOM() {
    const caret = document.createElement('span');
    caret.className = 'cm-rs-caret';
    caret.dataset.peer = this.peerId;
    caret.style.borderColor = this.color;
    const dot = document.createElement('span');
    dot.className = 'cm-rs-dot';
    dot.style.backgroundColor = this.color;
    const label = document.createElement('span');
    label.className = 'cm-rs-label';
    label.style.backgroundColor = this.color;
    label.textContent = this.name; // text, never HTML
    caret.append('\u2060', dot, label);
    return caret;
  }
  ignoreEvent() { return true; }
}

function cursorDecorations(cursors, docLength) {
  const ranges = [];
  for (const { peerId, name, color, anchor, head, moves } of cursors) {
    if (anchor > docLength || head > docLength) continue;
    const from = Math.min(anchor, head), to = Math.max(anchor, head);
    if (from < to) {
      ranges.push(Decoration.mark({ class: 'cm-rs-selection', attributes: { style: `background-color: ${color}33`, 'data-peer': peerId } }).range(from, to));
    }
    ranges.push(Decoration.widget({ widget: new CaretWidget(peerId, name, color, moves), side: head === from && from < to ? -1 : 1 }).range(head));
  }
  return Decoration.set(ranges, true);
}

const cursorField = StateField.define({
  create: () => Decoration.none,
  update(deco, tr) {
    // Map through every change; replaced by freshly resolved cursors when the binding has them.
    deco = deco.map(tr.changes);
    for (const e of tr.effects) if (e.is(setCursors)) deco = cursorDecorations(e.value, tr.state.doc.length);
    return deco;
  },
  provide: (field) => EditorView.decorations.from(field),
});

const cursorTheme = EditorView.baseTheme({
  '.cm-rs-caret': { position: 'relative', borderLeft: '2px solid', marginLeft: '-1px', marginRight: '-1px', pointerEvents: 'none' },
  '.cm-rs-dot': {
    position: 'absolute', top: '-3px', left: '-4px', width: '6px', height: '6px', borderRadius: '50%',
    pointerEvents: 'auto', zIndex: '10',
  },
  '.cm-rs-label': {
    position: 'absolute', top: '-1.35em', left: '-2px', padding: '0 4px', borderRadius: '3px 3px 3px 0',
    color: 'white', fontSize: '11px', lineHeight: '1.35em', fontFamily: 'system-ui, sans-serif',
    fontWeight: '600', whiteSpace: 'nowrap', userSelect: 'none', zIndex: '10',
    animation: 'cm-rs-fade 0.4s ease-in 2.5s forwards',
  },
  '.cm-rs-dot:hover + .cm-rs-label': { animation: 'none', opacity: '1' },
  '@keyframes cm-rs-fade': { to: { opacity: '0', visibility: 'hidden' } },
});

/**
 * The CodeMirror extension that keeps the editor and `text` in sync (create the editor's state
 * with `doc: text.toString()`; otherwise the editor takes the text's content when it starts).
 * Options: `room` (a roomsync Room: cursors through its presence), `user` ({ name, color }, added
 * to this peer's presence), `undoManager` (a roomsync UndoManager; the binding adds itself to its
 * trackedOrigins and binds Mod-z, Mod-Shift-z and Mod-y to it), `publish` (fields => void: how to
 * add `{ cursor, ...user }` to this peer's presence when the app manages presence itself; default:
 * merged into room.presence's current state). For a room that is left and joined again, swap the
 * extension in a Compartment.
 */
export function roomsyncCollab(text, { room = null, undoManager = null, user = null, publish = null } = {}) {
  const plugin = ViewPlugin.define((view) => {
    const binding = new RoomsyncBinding(text, { dispatch: (spec) => view.dispatch(spec), room, undoManager, user, publish });
    if (view.state.doc.toString() !== text.toString()) {
      // A view cannot be updated while it is being built: take the text's content right after.
      queueMicrotask(() => view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: text.toString() },
        annotations: roomsyncRemote.of(true),
      }));
    }
    if (room) {
      binding.update([], view.state); // publishes the current selection (a rejoined room too)
      queueMicrotask(() => view.dispatch({ effects: setCursors.of(binding._cursors()) }));
    }
    return {
      update: (u) => binding.update(u.transactions, u.state),
      destroy: () => binding.destroy(),
    };
  });
  const extensions = [
    // Only '\n' splits lines, so a '\r' from a peer stays one character in both documents.
    EditorState.lineSeparator.of('\n'),
    plugin,
    cursorField,
    cursorTheme,
  ];
  if (undoManager) extensions.push(Prec.high(keymap.of(undoKeymap(undoManager))));
  return extensions;
}

/** Mod-z, Mod-Shift-z and Mod-y bound to a roomsync UndoManager. */
export function undoKeymap(undoManager) {
  const undo = () => { undoManager.undo(); return true; };
  const redo = () => { undoManager.redo(); return true; };
  return [
    { key: 'Mod-z', run: undo, preventDefault: true },
    { key: 'Mod-Shift-z', run: redo, preventDefault: true },
    { key: 'Mod-y', run: redo, preventDefault: true },
  ];
}
