// roomsync/codemirror (js/codemirror.js) without a DOM: RoomsyncBinding between @codemirror/state
// EditorStates and roomsync Texts on the real WebAssembly build. Deltas both ways (seeded random
// edits converge, nothing echoes back), undo of this user's edits only, remote cursors that keep
// their character while others type.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { EditorState } from '@codemirror/state';
import { createDoc, createUndoManager } from '../../js/index.js';
import { RoomsyncBinding, roomsyncCollab, roomsyncRemote } from '../../js/codemirror.js';
import { rng } from './helpers/rng.js';
import { typeCheck } from './helpers/tsc.js';
import { fileURLToPath } from 'node:url';

// An editor without a view: a state that the binding and the "user" dispatch to.
function headlessEditor(text, options = {}) {
  const editor = { transactions: 0 };
  editor.state = EditorState.create({ doc: text.toString(), extensions: [EditorState.lineSeparator.of('\n')] });
  editor.dispatch = (spec) => {
    const tr = editor.state.update(spec);
    editor.state = tr.state;
    if (tr.docChanged && !tr.annotation(roomsyncRemote)) editor.transactions++;
    editor.binding.update([tr], editor.state);
  };
  editor.binding = new RoomsyncBinding(text, { ...options, dispatch: editor.dispatch });
  return editor;
}

// Two documents whose updates wait in queues until flush(): concurrent edits.
function queuedPair(a, b) {
  const toB = [], toA = [];
  a.on('update', (u, origin) => { if (origin !== 'net') toB.push(u); });
  b.on('update', (u, origin) => { if (origin !== 'net') toA.push(u); });
  return {
    flush() {
      for (const u of toB.splice(0)) b.applyUpdate(u, 'net');
      for (const u of toA.splice(0)) a.applyUpdate(u, 'net');
    },
  };
}

// 1 to 3 non-overlapping changes (inserts, deletes, replacements) in one transaction.
function randomChanges(random, length) {
  const cuts = Array.from({ length: 2 * (1 + Math.floor(random() * 3)) }, () => Math.floor(random() * (length + 1))).sort((x, y) => x - y);
  const alphabet = 'abcdefgh \n\r';
  const changes = [];
  for (let i = 0; i < cuts.length; i += 2) {
    const del = random() < 0.5;
    const insert = random() < 0.7 ? Array.from({ length: 1 + Math.floor(random() * 4) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('') : '';
    changes.push({ from: cuts[i], to: del ? cuts[i + 1] : cuts[i], insert });
  }
  return changes;
}

// Fake rooms sharing presence synchronously (the part of a roomsync Room the binding uses).
function fakeRooms(...peerIds) {
  const states = new Map();
  const listeners = [];
  return peerIds.map((peerId) => ({
    peerId,
    left: false,
    presence: {
      get: (id) => states.get(id),
      getAll: () => Object.fromEntries([...states].filter(([id]) => id !== peerId)),
      set(state) {
        states.set(peerId, JSON.parse(JSON.stringify(state)));
        for (const l of listeners) if (l.peerId !== peerId) l.cb(peerId, states.get(peerId));
      },
      onChange(cb) {
        const entry = { peerId, cb };
        listeners.push(entry);
        return () => listeners.splice(listeners.indexOf(entry), 1);
      },
    },
  }));
}

describe('codemirror binding: deltas both ways', () => {
  for (const seed of [1, 2, 3]) {
    test(`seed ${seed}: random edits in two editors on two synced documents converge, without echoes`, async () => {
      const random = rng(seed);
      const docA = await createDoc(), docB = await createDoc();
      const net = queuedPair(docA, docB);
      const a = headlessEditor(docA.getText('body')), b = headlessEditor(docB.getText('body'));
      // Every update the documents emit from the binding: exactly one per user transaction.
      const sent = { a: 0, b: 0 };
      docA.on('update', (u, origin) => { if (origin === a.binding) sent.a++; });
      docB.on('update', (u, origin) => { if (origin === b.binding) sent.b++; });
      for (let step = 0; step < 300; step++) {
        const editor = random() < 0.5 ? a : b;
        editor.dispatch({ changes: randomChanges(random, editor.state.doc.length) });
        // The editor and its own text agree after every transaction, local or remote.
        assert.equal(editor.state.doc.toString(), editor.binding.text.toString());
        if (random() < 0.3) {
          net.flush();
          assert.equal(a.state.doc.toString(), docA.getText('body').toString(), `step ${step}`);
          assert.equal(b.state.doc.toString(), docB.getText('body').toString(), `step ${step}`);
        }
      }
      net.flush();
      assert.equal(docA.getText('body').toString(), docB.getText('body').toString());
      assert.equal(a.state.doc.toString(), docA.getText('body').toString());
      assert.equal(b.state.doc.toString(), docB.getText('body').toString());
      assert.ok(a.transactions > 50 && b.transactions > 50);
      assert.deepEqual(sent, { a: a.transactions, b: b.transactions });
    });
  }

  test('a remote change reaches the editor as the same small changes, not a rewrite', async () => {
    const docA = await createDoc(), docB = await createDoc();
    const net = queuedPair(docA, docB);
    docA.getText('t').insert(0, 'hello world');
    net.flush();
    const b = headlessEditor(docB.getText('t'));
    const seen = [];
    const dispatch = b.binding._dispatch;
    b.binding._dispatch = (spec) => { seen.push(spec.changes); dispatch(spec); };
    docA.transact(() => { docA.getText('t').insert(5, ','); docA.getText('t').delete(7, 5); });
    net.flush();
    assert.deepEqual(seen, [[{ from: 5, insert: ',' }, { from: 6, to: 11 }]]);
    assert.equal(b.state.doc.toString(), 'hello, ');
  });
});

describe('codemirror binding: undo', () => {
  test("undo reverts only this user's edits, redo brings them back", async () => {
    const docA = await createDoc(), docB = await createDoc();
    const net = queuedPair(docA, docB);
    const clock = () => clock.now;
    clock.now = 0;
    const undoA = createUndoManager(docA.getText('t'), { trackedOrigins: [], clock });
    const a = headlessEditor(docA.getText('t'), { undoManager: undoA });
    const b = headlessEditor(docB.getText('t'));
    a.dispatch({ changes: { from: 0, insert: 'Hello' } });
    net.flush();
    b.dispatch({ changes: { from: 5, insert: ' world' } });
    b.dispatch({ changes: { from: 0, insert: '> ' } });
    net.flush();
    assert.equal(a.state.doc.toString(), '> Hello world');
    assert.equal(undoA.canUndo, true);
    assert.ok(undoA.undo());
    net.flush();
    assert.equal(a.state.doc.toString(), '>  world');
    assert.equal(b.state.doc.toString(), '>  world');
    assert.equal(undoA.canUndo, false); // B's edits were never on A's stack
    assert.ok(undoA.redo());
    net.flush();
    assert.equal(b.state.doc.toString(), '> Hello world');
    a.binding.destroy();
    assert.equal(undoA.trackedOrigins.size, 0);
  });

  test('roomsyncCollab returns an extension an EditorState accepts, with the undo keymap', async () => {
    const doc = await createDoc();
    const text = doc.getText('t');
    const undoManager = createUndoManager(text, { trackedOrigins: [] });
    const state = EditorState.create({ doc: '', extensions: roomsyncCollab(text, { undoManager }) });
    assert.equal(state.lineBreak, '\n');
    assert.throws(() => roomsyncCollab(text, {}) && new RoomsyncBinding('nope', { dispatch() {} }), TypeError);
  });
});

describe('codemirror binding: remote cursors', () => {
  test('a peer\'s selection resolves on the other side and keeps its characters while others type', async () => {
    const docA = await createDoc(), docB = await createDoc();
    const net = queuedPair(docA, docB);
    const [roomA, roomB] = fakeRooms('peer-a', 'peer-b');
    const a = headlessEditor(docA.getText('t'), { room: roomA, user: { name: 'Ada', color: '#0090ff' } });
    const b = headlessEditor(docB.getText('t'), { room: roomB, user: { name: 'Bo', color: '#e5484d' } });
    a.dispatch({ changes: { from: 0, insert: 'hello world' } });
    net.flush();
    a.dispatch({ selection: { anchor: 6, head: 11 } }); // Ada selects "world"
    a.binding.publishCursor();
    assert.deepEqual(b.binding.remoteCursors(), [{ peerId: 'peer-a', name: 'Ada', color: '#0090ff', anchor: 6, head: 11 }]);
    b.dispatch({ changes: { from: 0, insert: '>>> ' } }); // Bo types before it
    b.dispatch({ changes: { from: 4, to: 5 } });
    const [cursor] = b.binding.remoteCursors();
    assert.equal(b.state.doc.sliceString(cursor.anchor, cursor.head), 'world');
    net.flush();
    const [onA] = a.binding.remoteCursors(); // Bo's caret, published with his edits
    b.binding.publishCursor();
    assert.equal(a.binding.remoteCursors()[0].name, 'Bo');
    assert.equal(a.binding.remoteCursors()[0].head, b.state.selection.main.head);
    assert.ok(onA === undefined || onA.name === 'Bo');
    a.binding.destroy();
    b.binding.destroy();
  });

  test('a caret counts as moved (its label shows again) only when its peer publishes a new cursor', async () => {
    const docA = await createDoc(), docB = await createDoc();
    const net = queuedPair(docA, docB);
    const [roomA, roomB] = fakeRooms('peer-a', 'peer-b');
    const a = headlessEditor(docA.getText('t'), { room: roomA, user: { name: 'Ada' } });
    const b = headlessEditor(docB.getText('t'), { room: roomB, user: { name: 'Bo' } });
    a.dispatch({ changes: { from: 0, insert: 'hello world' }, selection: { anchor: 3 } });
    a.binding.publishCursor();
    net.flush();
    const moves = () => b.binding._cursors()[0].moves;
    const first = moves();
    assert.equal(moves(), first); // asked again: the same cursor
    a.binding.publishCursor(); // a heartbeat repeating the same anchors
    assert.equal(moves(), first);
    b.dispatch({ changes: { from: 0, insert: '>> ' } }); // Bo's edit shifts Ada's caret's index
    assert.equal(b.binding._cursors()[0].head, 6);
    assert.equal(moves(), first);
    a.dispatch({ selection: { anchor: 5 } }); // Ada moves
    a.binding.publishCursor();
    assert.equal(moves(), first + 1);
    assert.deepEqual(Object.keys(b.binding.remoteCursors()[0]), ['peerId', 'name', 'color', 'anchor', 'head']);
    a.binding.destroy();
    b.binding.destroy();
  });

  test('cursors of characters not received yet, or of another text, are not shown', async () => {
    const docA = await createDoc(), docB = await createDoc();
    const [roomA, roomB] = fakeRooms('peer-a', 'peer-b');
    const a = headlessEditor(docA.getText('t'), { room: roomA });
    const b = headlessEditor(docB.getText('other'), { room: roomB });
    a.dispatch({ changes: { from: 0, insert: 'abc' }, selection: { anchor: 2 } });
    a.binding.publishCursor();
    assert.deepEqual(b.binding.remoteCursors(), []); // another root's anchors
    const c = headlessEditor(docB.getText('t'), { room: roomB });
    assert.deepEqual(c.binding.remoteCursors(), []); // docB has not received "abc" yet
    docB.applyUpdate(docA.encodeState());
    assert.equal(c.binding.remoteCursors()[0].head, 2);
    assert.match(c.binding.remoteCursors()[0].name, /^peer peer/);
  });
});

describe('codemirror binding: types', () => {
  test('strict tsc passes on tests/types/codemirror.ts (roomsync/codemirror with CodeMirror\'s types)', { timeout: 120_000 }, async () => {
    const { code, output } = await typeCheck(fileURLToPath(new URL('../types/tsconfig.codemirror.json', import.meta.url)));
    assert.equal(output, '');
    assert.equal(code, 0);
  });
});
