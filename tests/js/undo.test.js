// createUndoManager (js/undo.js) on the real WebAssembly build: which changes are tracked,
// how they merge into steps (with a fake clock: no timing decides a test), events, redo.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createDoc, createUndoManager, ListenerError, UndoManager } from '../../js/index.js';

// A clock the test moves by hand.
function fakeClock(start = 1000) {
  const clock = () => clock.now;
  clock.now = start;
  return clock;
}

// Forwards every update that did not come from the network to the other documents.
function connect(...docs) {
  for (const from of docs) {
    from.on('update', (update, origin) => {
      if (origin === 'net') return;
      for (const to of docs) if (to !== from) to.applyUpdate(update, 'net');
    });
  }
}

describe('undo manager: steps and merging', () => {
  test('changes within captureTimeout merge into one step; later ones start a new step', async () => {
    const doc = await createDoc();
    const clock = fakeClock();
    const um = createUndoManager(doc, { clock });
    const text = doc.getText('t');
    for (const ch of 'abc') { text.insert(text.length, ch); clock.now += 100; }
    clock.now = 1200 + 500; // 'c' came at 1200: exactly the timeout later is not "within"
    for (const ch of 'de') { text.insert(text.length, ch); clock.now += 499; }
    assert.equal(text.toString(), 'abcde');
    assert.equal(um.undo(), true);
    assert.equal(text.toString(), 'abc');
    assert.equal(um.undo(), true);
    assert.equal(text.toString(), '');
    assert.equal(um.canUndo, false);
    assert.equal(um.undo(), false);
    doc.destroy();
  });

  test('stopCapturing() ends a step; captureTimeout 0 never merges', async () => {
    const doc = await createDoc();
    const text = doc.getText('t');
    const um = createUndoManager(text, { clock: () => 0 }); // one instant: all would merge
    text.insert(0, 'a');
    text.insert(1, 'b');
    um.stopCapturing();
    text.insert(2, 'c');
    um.undo();
    assert.equal(text.toString(), 'ab');
    um.destroy();

    const um0 = createUndoManager(text, { captureTimeout: 0, clock: () => 0 });
    text.insert(2, 'x');
    text.insert(3, 'y');
    um0.undo();
    assert.equal(text.toString(), 'abx');
    doc.destroy();
  });

  test('undo, redo, and a new change clears redo', async () => {
    const doc = await createDoc();
    const um = createUndoManager(doc, { captureTimeout: 0 });
    const map = doc.getMap('m');
    const reg = doc.getRegister('r');
    const ctr = doc.getCounter('c');
    map.set('k', 1);
    map.set('k', { deep: [2] });
    reg.set('title');
    ctr.increment(5);
    assert.deepEqual([um.canUndo, um.canRedo], [true, false]);
    um.undo();
    um.undo();
    assert.equal(ctr.value, 0);
    assert.equal(reg.get(), undefined);
    um.undo();
    assert.deepEqual(map.toJSON(), { k: 1 });
    assert.equal(um.canRedo, true);
    um.redo();
    assert.deepEqual(map.get('k'), { deep: [2] });
    map.set('other', true); // a new tracked change
    assert.equal(um.canRedo, false);
    assert.equal(um.redo(), false);
    um.undo();
    um.undo();
    um.undo();
    assert.deepEqual(map.toJSON(), {});
    doc.destroy();
  });

  test('lists: push, delete, undo, redo', async () => {
    const doc = await createDoc();
    const list = doc.getList('l');
    const um = createUndoManager(list, { captureTimeout: 0 });
    list.push('a', { b: 1 });
    list.delete(0);
    assert.deepEqual(list.toArray(), [{ b: 1 }]);
    um.undo();
    assert.deepEqual(list.toArray(), ['a', { b: 1 }]);
    um.undo();
    assert.deepEqual(list.toArray(), []);
    um.redo();
    um.redo();
    assert.deepEqual(list.toArray(), [{ b: 1 }]);
    doc.destroy();
  });

  test('a transaction is one step, whatever the clock says', async () => {
    const doc = await createDoc();
    const um = createUndoManager(doc, { captureTimeout: 0 });
    const text = doc.getText('t');
    text.insert(0, 'keep ');
    doc.transact(() => {
      text.insert(5, 'one');
      text.insert(8, ' two');
      doc.getCounter('n').increment(2);
    });
    um.undo();
    assert.equal(text.toString(), 'keep ');
    assert.equal(doc.getCounter('n').value, 0);
    doc.destroy();
  });
});

describe('undo manager: what is tracked', () => {
  test('default: local changes with origin null; not other origins, not remote updates', async () => {
    const [a, b] = [await createDoc(), await createDoc()];
    connect(a, b);
    const um = createUndoManager(a, { captureTimeout: 0 });
    const text = a.getText('t');
    text.insert(0, 'mine ');
    a.transact(() => text.insert(5, 'bot '), 'bot');
    b.getText('t').insert(0, 'peer ');
    assert.equal(text.toString(), 'peer mine bot ');
    um.undo();
    assert.equal(text.toString(), 'peer bot ');
    assert.equal(um.canUndo, false);
    assert.equal(b.getText('t').toString(), 'peer bot ');
    a.destroy();
    b.destroy();
  });

  test('trackedOrigins: values and classes; the set can change later', async () => {
    class Editor {}
    const editor = new Editor();
    const doc = await createDoc();
    const text = doc.getText('t');
    const um = createUndoManager(doc, { trackedOrigins: [Editor, 'ui'], captureTimeout: 0 });
    text.insert(0, 'untracked ');
    doc.transact(() => text.insert(text.length, 'E '), editor);
    doc.transact(() => text.insert(text.length, 'U '), 'ui');
    doc.transact(() => text.insert(text.length, 'X '), 'other');
    um.trackedOrigins.add('other');
    doc.transact(() => text.insert(text.length, 'Y '), 'other');
    um.undo();
    um.undo();
    um.undo();
    assert.equal(text.toString(), 'untracked X ');
    assert.equal(um.canUndo, false);
    doc.destroy();
  });

  test('a manager over some roots ignores the others', async () => {
    const doc = await createDoc();
    const text = doc.getText('t');
    const map = doc.getMap('m');
    const um = createUndoManager([text], { captureTimeout: 0 });
    map.set('k', 1);
    assert.equal(um.canUndo, false);
    text.insert(0, 'x');
    um.undo();
    assert.equal(text.toString(), '');
    assert.equal(map.get('k'), 1);
    doc.destroy();
  });

  test('undoing an insert a peer typed inside deletes only our text, everywhere', async () => {
    const [a, b] = [await createDoc(), await createDoc()];
    connect(a, b);
    const um = createUndoManager(a);
    a.getText('t').insert(0, 'hello');
    b.getText('t').insert(2, '[peer]');
    assert.equal(um.undo(), true);
    assert.equal(a.getText('t').toString(), '[peer]');
    assert.equal(b.getText('t').toString(), '[peer]');
    um.redo();
    assert.equal(b.getText('t').toString(), a.getText('t').toString());
    assert.equal(a.getText('t').length, 11);
    a.destroy();
    b.destroy();
  });
});

describe('undo manager: events and errors', () => {
  test('stack events, in order, after observers and update listeners', async () => {
    const doc = await createDoc();
    const clock = fakeClock();
    const um = createUndoManager(doc, { clock });
    const text = doc.getText('t');
    const log = [];
    text.observe(() => log.push('observer'));
    doc.on('update', (_u, origin) => log.push(origin === um ? 'update(um)' : 'update'));
    for (const name of ['stack-item-added', 'stack-item-updated', 'stack-item-popped']) {
      um.on(name, (e) => log.push(`${name} ${e.type}${e.origin === um ? ' (um)' : ''}`));
    }
    um.on('stack-cleared', (e) => log.push(`stack-cleared ${e.undoStackCleared} ${e.redoStackCleared}`));
    text.insert(0, 'a');
    text.insert(1, 'b');
    assert.deepEqual(log.splice(0), ['observer', 'update', 'stack-item-added undo',
      'observer', 'update', 'stack-item-updated undo']);
    um.undo();
    assert.deepEqual(log.splice(0), ['observer', 'update(um)', 'stack-item-popped undo (um)', 'stack-item-added redo (um)']);
    text.insert(0, 'c');
    assert.deepEqual(log.splice(0), ['observer', 'update', 'stack-cleared false true', 'stack-item-added undo']);
    um.clear();
    assert.deepEqual(log.splice(0), ['stack-cleared true true']);
    assert.equal(um.canUndo, false);
    assert.equal(um.undo(), false);
    assert.deepEqual(log.splice(0), []);
    doc.destroy();
  });

  test('a throwing stack listener: every listener runs, then a ListenerError; the change stays', async () => {
    const doc = await createDoc();
    const um = createUndoManager(doc);
    let ran = 0;
    um.on('stack-item-added', () => { throw new Error('boom'); });
    um.on('stack-item-added', () => ran++);
    assert.throws(() => doc.getText('t').insert(0, 'x'), ListenerError);
    assert.equal(ran, 1);
    assert.equal(um.canUndo, true);
    um.off('stack-item-added', um._listeners.get('stack-item-added')[0]);
    um.undo();
    assert.equal(doc.getText('t').toString(), '');
    doc.destroy();
  });

  test('bad arguments and misuse throw clear errors', async () => {
    const doc = await createDoc();
    const other = await createDoc();
    assert.throws(() => createUndoManager([]), TypeError);
    assert.throws(() => createUndoManager({}), TypeError);
    assert.throws(() => createUndoManager([doc.getText('a'), other.getText('b')]), TypeError);
    assert.throws(() => createUndoManager(doc, { captureTimeout: -1 }), RangeError);
    assert.throws(() => createUndoManager(doc, { trackedOrigins: 5 }), TypeError);
    const um = createUndoManager(doc);
    assert.ok(um instanceof UndoManager);
    assert.throws(() => um.on('nope', () => {}), /unknown undo manager event/);
    doc.getText('a').insert(0, 'x');
    assert.throws(() => doc.transact(() => um.undo()), /cannot run inside transact/);
    assert.equal(doc.getText('a').toString(), 'x');
    um.destroy();
    assert.equal(um.canUndo, false);
    assert.throws(() => um.undo(), /destroyed/);
    doc.getText('a').insert(0, 'y'); // no longer tracked, nothing breaks
    const um2 = createUndoManager(doc);
    doc.destroy(); // destroys its managers too
    assert.equal(um2.canUndo, false);
    assert.throws(() => um2.undo(), /destroyed/);
    other.destroy();
  });
});
